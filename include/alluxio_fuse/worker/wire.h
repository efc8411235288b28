#pragma once
// The wire format of the Alluxio worker REST API v1 (spec/worker-rest.md): URL building (§2, §3),
// strict parsing and validation of JSON replies (§5), and the one mapping from a reply class to
// a core error code (§4.2). Pure functions, kept apart from WorkerClient so tests and fuzzers can
// drive them without a network.
// Thread-safety: pure functions.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/http/client.h"
#include "alluxio_fuse/store/store.h"

namespace alluxio_fuse::worker {

inline constexpr int kDefaultWorkerPort = 28080;
inline constexpr size_t kMaxJsonReply = 1 << 20;               // info, node, load, ufsInfo
inline constexpr size_t kMaxListingReply = size_t{256} << 20;  // /v1/files
inline constexpr size_t kMaxListingEntries = 1'000'000;

// routing.worker_api (worker-rest.md §4.4).
enum class WorkerApi { kEnterprise, kOss, kAuto };

struct WorkerAddress {
  std::string host;
  int port = kDefaultWorkerPort;
  bool operator==(const WorkerAddress&) const = default;
};

// ---- URLs (worker-rest.md §2, §3). Query values go through http::encode_query_value. ----
std::string path_id(std::string_view key);        // lowercase hex SHA-256 of the key
std::string base_url(const WorkerAddress& addr);  // "http://host:port" (IPv6 hosts bracketed)
std::string info_url(const WorkerAddress& addr, std::string_view key);
std::string files_url(const WorkerAddress& addr, std::string_view key);
// Full page when `partial` is empty, else ?offset=&length=; `with_ufs_path` false for oss.
std::string page_url(const WorkerAddress& addr, std::string_view key, uint64_t page_index,
                     std::optional<std::pair<uint64_t, uint64_t>> partial, bool with_ufs_path);
std::string range_url(const WorkerAddress& addr, std::string_view key, uint64_t offset,
                      uint64_t length);
std::string chunk_url(const WorkerAddress& addr, std::string_view key, uint64_t chunk_size);
std::string mkdir_url(const WorkerAddress& addr, std::string_view key);
std::string touch_url(const WorkerAddress& addr, std::string_view key);
// All six RM options in the order of §3.11; only `recursive` varies.
std::string rm_url(const WorkerAddress& addr, std::string_view key, bool recursive);
std::string mv_url(const WorkerAddress& addr, std::string_view src, std::string_view dst);
std::string node_url(const WorkerAddress& addr, std::string_view key);
// op is "submit", "progress" (adds &verbose=true|false) or "stop".
std::string load_url(const WorkerAddress& addr, std::string_view key, std::string_view op,
                     bool verbose = false);
std::string ufs_info_url(const WorkerAddress& addr);

// ---- File-info JSON (worker-rest.md §5). ----

// A directory listing after validation: invalid entries and duplicates are dropped and counted.
struct Listing {
  std::vector<store::FileInfo> entries;
  size_t rejected = 0;
};

// `mHumanReadableFileSize`: "%dB" is exact; "<decimal><KB|MB|GB|TB|PB>" is ×1024ⁿ rounded down
// and approximate. nullopt when the text matches neither form.
struct HumanSize {
  uint64_t bytes = 0;
  bool exact = false;
};
std::optional<HumanSize> parse_human_size(std::string_view text);

// Body of /v1/info for `key`: element [0]; empty array → kNotFound; anything malformed →
// kBadResponse. The returned name is the key's last component.
common::Result<store::FileInfo> parse_info(std::string_view body, std::string_view key);
// Body of /v1/files. A malformed document or more than 1,000,000 entries → kBadResponse.
common::Result<Listing> parse_listing(std::string_view body);

// The last path component of a key ("" for a bucket or file:/// root).
std::string key_name(std::string_view key);

// Rewrites a JSON text so that unpaired UTF-16 surrogate escapes and invalid raw UTF-8 inside
// strings become "\u0000" (nlohmann would otherwise reject the whole document, while §5.2 wants
// only the entry dropped; NUL makes the name invalid). Fails when nesting exceeds 64 levels.
common::Result<std::string> sanitize_json(std::string_view text);

// ---- Other replies. ----

// /v1/node (§3.7): {"Host","HttpServerPort"} or the 2025-08 array shape. A missing port is
// `default_port`; empty or missing Host → kBadResponse.
common::Result<WorkerAddress> parse_node(std::string_view body, int default_port);

enum class LoadState { kRunning, kVerifying, kStopped, kSucceeded, kFailed, kUnknown };
std::string_view to_string(LoadState state);
struct LoadProgress {
  LoadState state = LoadState::kUnknown;
  std::string raw_state;  // as the worker sent it
  std::string message;
  std::vector<std::pair<std::string, std::string>> properties;  // respProperties
};
// §3.14: a missing jobState → kBadResponse; a state containing FAILED → kFailed.
common::Result<LoadProgress> parse_load_progress(std::string_view body);
// submit/stop: {"success":bool,...}; success false → kIo with the message. submit returns jobId.
common::Result<std::string> parse_load_ack(std::string_view body);

// One mount of /v1/ufsInfo. The credentials are secrets: never log or print them.
struct UfsMount {
  std::string ufs_uri;       // trailing '/' stripped
  std::string alluxio_path;  // trailing '/' stripped
  std::string endpoint;
  std::string access_key;
  std::string secret_key;
};
common::Result<std::vector<UfsMount>> parse_ufs_info(std::string_view body);

// ---- Reply → core code (worker-rest.md §4.2), the one place this mapping lives. ----
// `op` is the metric method ("rm" turns 409/400 into kNotEmpty, §3.11); `enterprise` makes a
// no_reply kBadResponse instead of kMiss (§4.4). The message names op and key and carries the
// JSON `message` or the first 200 body bytes with control characters escaped.
common::Status map_reply(const http::Response& response, bool enterprise, std::string_view op,
                         std::string_view key);
// The error text of a reply body (JSON `message`, else the first 200 bytes escaped).
std::string error_text(std::string_view body);

}  // namespace alluxio_fuse::worker
