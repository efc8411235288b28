#pragma once
// HTTP/1.1 client used for Alluxio workers, etcd's JSON gateway and S3. libcurl stays inside
// src/http (linked PRIVATE), so no other module sees it.
//
// Every call has a connect timeout and a total deadline (or a stall timeout for streams);
// connections are kept alive and reused (a bounded pool per host); replies are size-limited.
// Thread-safety: Client::perform may be called from many threads at once.
// Ownership: the Client owns its connection pools; a CallObserver is injected, non-owning, and
// must outlive the Client.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace alluxio_fuse::http {

// The reply classes of worker-rest.md §4.1 (also the `state` label of metrics.md §1).
enum class State { kOk, kNotFound, kHttp4xx, kHttp5xx, kRefused, kTimeout, kNoReply, kBadResponse };
std::string_view to_string(State state);

// Called once per attempt (metrics.md §1): `method` is the request's metric label.
class CallObserver {
 public:
  virtual ~CallObserver() = default;
  virtual void observe(std::string_view method, State state, double latency_ms) = 0;
};

struct Request {
  std::string method = "GET";  // HTTP verb
  std::string url;             // absolute http(s):// URL, query already encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // request body for small POST/PUT
  // Streamed upload from a local file instead of `body` (pread from offset 0, `upload_size`
  // bytes); `chunked` sends Transfer-Encoding: chunked.
  int upload_fd = -1;
  uint64_t upload_size = 0;
  bool chunked = false;

  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds total_timeout{10000};  // 0 = none (then stall_timeout must be set)
  std::chrono::milliseconds stall_timeout{0};      // abort below 64 KiB of progress per period
  // The reply body goes to `out` (capacity `out_cap`) when set, else into Response::body.
  char* out = nullptr;
  size_t out_cap = 0;
  size_t max_body = 1 << 20;  // larger body (or over out_cap) → kBadResponse
  // Metric label (closed set, metrics.md §1), e.g. "get_page", "etcd_range", "ufs_get".
  std::string_view metric_method = "other";
};

struct Response {
  State state = State::kBadResponse;  // classified from transport outcome and status
  long status = 0;                    // HTTP status; 0 when no status line arrived
  std::string body;                   // when Request::out was not set
  size_t body_bytes = 0;              // bytes delivered (into `out` or `body`)
  std::vector<std::pair<std::string, std::string>> headers;  // lowercase names
  std::string error;  // transport error text for logs (no credentials)
  double latency_ms = 0;

  bool ok() const { return state == State::kOk; }
  // First header value with this lowercase name, or "".
  std::string header(std::string_view name) const;
};

struct ClientOptions {
  size_t max_connections_per_host = 32;
  std::string user_agent = "alluxio-fuse";
  std::string ca_file;  // empty: system default
  bool verify_tls = true;
};

class Client {
 public:
  virtual ~Client() = default;
  // Performs one attempt (plus libcurl's single retry of a stale reused connection) and
  // classifies it. Never throws.
  virtual Response perform(const Request& request) = 0;
  // Aborts calls in flight and makes later calls fail fast (kTimeout) — used on unmount.
  virtual void cancel_all() = 0;
};

std::unique_ptr<Client> make_curl_client(const ClientOptions& options, CallObserver* observer);

// Query-string encoding of worker-rest.md §2: percent-encode (uppercase hex) every byte that is
// not unreserved (A-Z a-z 0-9 - . _ ~) and not '/' or ':'.
std::string encode_query_value(std::string_view value);

}  // namespace alluxio_fuse::http
