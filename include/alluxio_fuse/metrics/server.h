#pragma once
// Server: the scrape endpoint of metrics.md §3 on `metrics.listen`.
//
//   GET /metrics  Prometheus text format 0.0.4 from Metrics::serialize()
//   GET /healthz  200 "ok" when the health check passes, else 503 {"reason":"..."} (one line)
//   other paths 404; other methods 405 (HEAD is answered like GET, without a body)
//
// Thread-safety: start/stop/accessors may be called from any thread; requests are served on
// a small private thread pool. Ownership: the Metrics and the health check are borrowed and
// must outlive the Server; the destructor stops it. The health check is called on a server
// thread for each /healthz and must only read memory (atomics), never wait for I/O.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/metrics/metrics.h"

namespace alluxio_fuse::metrics {

struct Health {
  bool healthy = true;
  std::string reason;  // one line, e.g. "not mounted" or "no workers"; shown when unhealthy
};
using HealthCheck = std::function<Health()>;

// "host:port" split; IPv6 hosts in brackets ("[::1]:49999"). Port 0 means ephemeral.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};
// Errors (kInvalid) name `metrics.listen`.
common::Result<ListenAddress> parse_listen_address(std::string_view listen);

class Server {
 public:
  // Binds `listen` and starts serving. A bind failure is an error naming `metrics.listen`
  // (the daemon exits 1 on it). The bound address is logged at INFO.
  static common::Result<std::unique_ptr<Server>> start(Metrics& metrics, std::string_view listen,
                                                       HealthCheck health);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port (the real one when `listen` asked for port 0).
  uint16_t port() const;
  // "host:port" as bound, e.g. "127.0.0.1:43117" or "[::1]:49999".
  std::string address() const;
  // Writes address() plus a newline to `path` atomically (temp file + rename), for
  // <log dir>/metrics.addr. Errors are kIo and name the path.
  common::Status write_address_file(const std::string& path) const;

  // Stops accepting, finishes requests in flight and joins the server threads (within about a
  // second even when clients keep connections open). Idempotent.
  void stop();

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace alluxio_fuse::metrics
