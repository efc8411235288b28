#pragma once
// The S3 under-store (`s3://bucket/prefix`, also `s3a://`): the store contract over the S3 REST
// API through the shared http::Client, signed with SigV4 (ufs/s3_signer.h) or sent unsigned
// for anonymous access. Directories are key prefixes: a directory exists when a `dir/` marker
// object or any key below it exists (semantics.md §2.2); mkdir writes the marker. Rename is
// copy then delete (a directory: every object copied first, sources deleted only after all
// copies succeeded). Files above the multipart threshold (64 MiB) are uploaded in parts of
// max(16 MiB, ceil(size / 10000)), aborted on failure. Replies become store codes in one place
// (ufs/s3_errors.h); 5xx, SlowDown, throttling and timeouts are retried with bounded backoff.
//
// A key and its file both named `x` and a prefix `x/` can coexist in S3; the store shows the
// file (stat and list agree), and the subtree stays reachable only outside the mount.
//
// Thread-safety: every method may be called concurrently; the store holds only immutable
// options. Ownership: the http::Client is injected, non-owning, and must outlive the store.
// Credentials are held for signing only; they never appear in a log line or a Status message.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/config/config.h"
#include "alluxio_fuse/http/client.h"
#include "alluxio_fuse/store/store.h"
#include "alluxio_fuse/ufs/s3_signer.h"
#include "alluxio_fuse/ufs/s3_xml.h"

namespace alluxio_fuse::ufs {

inline constexpr uint64_t kS3MultipartThreshold = 64ull << 20;  // semantics.md §3.3
inline constexpr uint64_t kS3MinPartSize = 16ull << 20;
inline constexpr uint64_t kS3MaxParts = 10000;
inline constexpr uint64_t kS3MaxCopySize = 5ull << 30;  // CopyObject's single-request limit

// A parsed root URI.
struct S3Location {
  std::string scheme;  // "s3" or "s3a"
  std::string bucket;
  std::string prefix;  // object-key prefix of the root, without slashes at either end; may be ""
};

// kInvalid unless `root` is a normalised s3:// or s3a:// URI with a plausible bucket name and
// no userinfo, port, query or fragment.
common::Result<S3Location> parse_s3_root(std::string_view root);

struct S3Options {
  std::string root;      // normalised s3:// or s3a:// URI served by the store
  std::string endpoint;  // "http(s)://host[:port]"; empty → https://s3.<region>.amazonaws.com
  std::string region = "us-east-1";
  bool path_style = false;  // else virtual-hosted (bucket.host); dotted buckets use path style
  std::optional<SigV4Credentials> credentials;  // nullopt: anonymous, unsigned requests

  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds metadata_timeout{10000};  // HEAD, list, delete, small PUTs
  std::chrono::milliseconds data_timeout{30000};      // ranged GETs
  std::chrono::milliseconds stall_timeout{30000};     // streamed uploads and part uploads
  uint32_t retries = 2;                               // extra attempts after the first
  std::chrono::milliseconds backoff_initial{100};     // x2 per attempt, +-20 % jitter
  std::chrono::milliseconds backoff_max{2000};

  uint64_t multipart_threshold = kS3MultipartThreshold;  // sizes above it go multipart
  uint64_t min_part_size = kS3MinPartSize;
  uint64_t max_parts = kS3MaxParts;
  uint64_t max_copy_size = kS3MaxCopySize;  // larger objects are copied with UploadPartCopy
  // Longest key component sent; longer names fail with kNameTooLong before any request.
  // (s3rver stores a key component as a file name plus a suffix, so its tests lower it.)
  size_t max_component_bytes = 255;

  // x-amz-date source; tests pin it.
  std::function<std::chrono::system_clock::time_point()> wall_clock;
  // Backoff wait; tests record it instead of sleeping.
  std::function<void(std::chrono::milliseconds)> sleep;
};

class S3Store final : public store::Store {
 public:
  // `options.root` must parse (parse_s3_root); use make_s3_store for config-driven set-up.
  S3Store(S3Options options, S3Location location, http::Client& client);

  common::Result<store::FileInfo> stat(const std::string& key) override;
  common::Result<std::vector<store::FileInfo>> list(const std::string& key) override;
  common::Result<store::ReadReply> read(const store::ReadRequest& request, char* buf) override;
  common::Status write_file(const std::string& key, int fd, uint64_t size) override;
  common::Status mkdir(const std::string& key) override;
  common::Status remove(const std::string& key, bool directory) override;
  common::Status rename(const std::string& src, const std::string& dst) override;

  const S3Options& options() const { return options_; }

  // One S3 request, signed and retried. Public for the store's own helpers and for tests.
  struct Call {
    std::string method = "GET";
    std::string object_key;                                    // "" addresses the bucket
    std::vector<std::pair<std::string, std::string>> query;    // raw names and values
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers; all signed
    std::string body;
    int upload_fd = -1;  // streamed body from offset 0 (UNSIGNED-PAYLOAD)
    uint64_t upload_size = 0;
    char* out = nullptr;
    size_t out_cap = 0;
    size_t max_body = 8u << 20;
    std::string_view metric = "other";  // ufs_head, ufs_get, ...
    // kMetadata/kData: those total deadlines; kStream: no total deadline, the stall timeout
    // only (uploads); kLong: server-side copies and completes, which S3 may hold for minutes.
    enum class Deadline { kMetadata, kData, kStream, kLong } deadline = Deadline::kMetadata;
  };
  struct CallResult {
    http::Response response;
    common::Status status;  // OK, or the classified failure of the last attempt
    int attempts = 0;
  };
  // `what` names the operation and key for messages ("stat s3://b/k").
  CallResult perform(const Call& call, const std::string& what);

 private:
  // The object key of a store key, after validating every component.
  common::Result<std::string> object_key(const std::string& key) const;
  std::string directory_prefix(const std::string& object_key) const;
  // The request path (URI-encoded, as sent and signed) and the Host header value.
  std::string path_for(const std::string& object_key) const;
  std::string host_for() const;

  // One ListObjectsV2 page.
  common::Result<ListPage> list_page(const std::string& prefix, bool delimiter,
                                     const std::string& token, int max_keys,
                                     const std::string& what);
  // Whether any object sits below `prefix` ("a/b/"), the marker included.
  common::Result<bool> prefix_exists(const std::string& prefix, const std::string& what);
  // HEAD of an object; kNotFound when absent.
  common::Result<store::FileInfo> head(const std::string& object_key, const std::string& what);
  common::Result<store::FileInfo> stat_object(const std::string& object_key, std::string name,
                                              const std::string& what);
  common::Status check_parent_dir(const std::string& key, const std::string& what);

  common::Status put_single(const std::string& object_key, int fd, uint64_t size,
                            const std::string& what);
  common::Status put_multipart(const std::string& object_key, int fd, uint64_t size,
                               const std::string& what);
  common::Status copy_object(const std::string& src_object, const std::string& dst_object,
                             uint64_t size, const std::string& what);
  common::Status copy_multipart(const std::string& src_object, const std::string& dst_object,
                                uint64_t size, const std::string& what);
  common::Result<std::string> initiate_multipart(const std::string& object_key,
                                                 const std::string& what);
  common::Status complete_multipart(const std::string& object_key, const std::string& upload_id,
                                    const std::vector<std::string>& etags, uint64_t size,
                                    const std::string& what);
  void abort_multipart(const std::string& object_key, const std::string& upload_id,
                       const std::string& what);
  common::Status delete_object(const std::string& object_key, const std::string& what);
  common::Status delete_objects(const std::vector<std::string>& object_keys,
                                const std::string& what);
  uint64_t part_size_for(uint64_t size) const;

  // One "access denied" log line per minute per store (every FUSE op would repeat it).
  void log_denied(const std::string& what, const std::string& detail);

  S3Options options_;
  S3Location location_;
  http::Client& client_;
  std::atomic<int64_t> last_denied_log_ns_{0};
};

// S3Options from the configuration: root, target_options (endpoint, region, addressing style,
// credentials or anon) and the routing timeouts/retries/backoff. kPermission when there are no
// credentials and `anon` is false (config.md §2.2: anonymous access is never implied); kInvalid
// for a root that is not s3/s3a or a malformed endpoint URL.
common::Result<S3Options> s3_options_from_config(const config::Config& config);

// Client options for the http::Client an S3 store uses: TLS verification and CA bundle from
// target_options.client_kwargs.verify, connections from routing.max_connections_per_worker.
http::ClientOptions s3_client_options(const config::Config& config);

// The S3 store for `config.ufs_root` (s3:// or s3a://) over `client` (which must outlive it).
common::Result<std::unique_ptr<store::Store>> make_s3_store(const config::Config& config,
                                                            http::Client& client);

}  // namespace alluxio_fuse::ufs
