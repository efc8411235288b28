#pragma once
// WorkerClient: typed calls to one Alluxio worker's REST API v1 (spec/worker-rest.md) over an
// injected http::Client. Each call names the worker address and the key; routing, failover and
// UFS fallback belong to the caller (the worker store / router). Replies are validated strictly
// (wire.h) and every failure is a common::Status mapped in worker::map_reply.
//
// Open-source tolerance (§4.4): in `oss` mode, or in `auto` mode after 3 consecutive no_reply
// answers from one worker to enterprise-only endpoints with no HTTP status in between, page reads
// omit ufsFullPath and enterprise-only calls fail with kUnsupported without contacting the worker
// (for 10 minutes in auto mode).
//
// Thread-safety: all methods may be called concurrently. Ownership: the http::Client and the
// Clock are non-owning and must outlive the WorkerClient.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "alluxio_fuse/common/clock.h"
#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/http/client.h"
#include "alluxio_fuse/store/store.h"
#include "alluxio_fuse/worker/wire.h"

namespace alluxio_fuse::worker {

struct WorkerClientOptions {
  size_t page_size = 1048576;  // alluxio.worker.page.store.page.size
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds metadata_timeout{10000};
  std::chrono::milliseconds data_timeout{30000};
  std::chrono::milliseconds stall_timeout{30000};
  uint64_t upload_chunk_size = 1048576;  // write.upload_chunk_size
  WorkerApi api = WorkerApi::kAuto;
  bool tls = false;  // routing.tls: every URL is https:// (the http client verifies the peer)
};

class WorkerClient {
 public:
  WorkerClient(http::Client& client, WorkerClientOptions options,
               const common::Clock& clock = common::SystemClock::instance());

  // GET /v1/info (§3.1). kNotFound on 404 or an empty array; kMiss on an oss no_reply (the
  // caller runs the parent check).
  common::Result<store::FileInfo> info(const WorkerAddress& addr, const std::string& key);
  // GET /v1/files (§3.2).
  common::Result<Listing> list(const WorkerAddress& addr, const std::string& key);

  // GET /v1/file/{id}/page/{i} (§3.3) into `buf` (capacity >= length); returns the body length.
  // A full page when offset == 0 && length == page size, else a partial request. With
  // `known_size` the body must be exactly the length the size implies (page-cache.md §1):
  // longer → kBadResponse, shorter → kIo (the file changed, or the page size is wrong).
  common::Result<size_t> read_page(const WorkerAddress& addr, const std::string& key,
                                   uint64_t page_index, uint64_t offset, size_t length, char* buf,
                                   std::optional<uint64_t> known_size = std::nullopt);
  // GET /v1/range/{id} (§3.5, enterprise), with the same length checks.
  common::Result<size_t> read_range(const WorkerAddress& addr, const std::string& key,
                                    uint64_t offset, size_t length, char* buf,
                                    std::optional<uint64_t> known_size = std::nullopt);

  // POST /v1/chunk/{id} (§3.6): the whole file, chunked, from the first `size` bytes of `fd`.
  // An empty upload answered with 400 is committed with /v1/touch instead.
  common::Status upload(const WorkerAddress& addr, const std::string& key, int fd, uint64_t size);

  common::Status mkdir(const WorkerAddress& addr, const std::string& key);  // §3.9
  common::Status touch(const WorkerAddress& addr, const std::string& key);  // §3.10
  // §3.11; kNotEmpty for 409/400 (non-empty directory).
  common::Status rm(const WorkerAddress& addr, const std::string& key, bool recursive);
  common::Status mv(const WorkerAddress& addr, const std::string& src,
                    const std::string& dst);  // §3.12

  // GET /v1/node (§3.7) sent to `addr`; a reply without a port uses addr.port.
  common::Result<WorkerAddress> node(const WorkerAddress& addr, const std::string& key);

  // GET /v1/load (§3.14). Replies are always 200: the body decides.
  common::Result<std::string> load_submit(const WorkerAddress& addr, const std::string& key);
  common::Result<LoadProgress> load_progress(const WorkerAddress& addr, const std::string& key,
                                             bool verbose = false);
  common::Status load_stop(const WorkerAddress& addr, const std::string& key);

  // GET /v1/ufsInfo (§3.15). The result holds credentials: never log it.
  common::Result<std::vector<UfsMount>> ufs_info(const WorkerAddress& addr);

  // True when calls to `addr` are made as to an open-source worker (configured or detected).
  bool treats_as_oss(const WorkerAddress& addr) const;

 private:
  struct PeerState {
    int no_reply_streak = 0;
    common::TimePoint oss_until{};
  };

  http::Request make_request(std::string method, std::string url, std::string_view metric,
                             std::chrono::milliseconds total, size_t max_body) const;
  // Performs the call and feeds auto-mode detection; `enterprise_only` marks §3.5–3.13.
  http::Response call(const WorkerAddress& addr, const http::Request& request,
                      bool enterprise_only);
  // Status for a finished call (no_reply is kBadResponse only in enterprise mode).
  common::Status check(const http::Response& response, std::string_view op,
                       std::string_view key) const;
  // kUnsupported when `addr` is treated as oss (enterprise-only endpoints are not sent).
  common::Status require_enterprise(const WorkerAddress& addr, std::string_view op) const;
  common::Status post_empty(const WorkerAddress& addr, std::string url, std::string_view op,
                            std::string_view key);
  common::Result<std::string> get_json(const WorkerAddress& addr, std::string url,
                                       std::string_view op, std::string_view key, size_t limit,
                                       bool enterprise_only);
  common::Result<size_t> read_into(const WorkerAddress& addr, const std::string& url,
                                   std::string_view op, const std::string& key, uint64_t start,
                                   size_t length, char* buf, std::optional<uint64_t> known_size,
                                   bool enterprise_only);

  http::Client& client_;
  const WorkerClientOptions options_;
  const common::Clock& clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, PeerState> peers_;  // GUARDED_BY(mu_); auto mode only
};

}  // namespace alluxio_fuse::worker
