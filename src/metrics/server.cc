// Design note: cpp-httplib's server (Debian libcpp-httplib) with one pre-routing handler that
// answers every request itself, so the 404/405 rules of metrics.md §3 live in one function
// instead of in httplib's per-method tables. Choices that matter:
// - the listening socket gets SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a
//   second daemon bind the same port silently and share the scrapes;
// - a two-thread pool (scrapes are rare) and a 1 s keep-alive timeout, so stop() returns within
//   about a second even when a client keeps its connection open;
// - /metrics only calls Metrics::serialize(), which reads atomics; nothing here waits for FUSE,
//   the network or the disk.
// httplib is the split (compiled) build, so this file is compiled with the same
// CPPHTTPLIB_*_SUPPORT definitions as the library (see CMakeLists.txt) to keep the ABI.

#include "alluxio_fuse/metrics/server.h"

#include <fcntl.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <exception>
#include <system_error>
#include <thread>

#include "alluxio_fuse/common/errno_text.h"
#include "alluxio_fuse/common/thread_name.h"

namespace alluxio_fuse::metrics {

using common::Code;
using common::Result;
using common::Status;

namespace {

constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// A JSON string body for the 503 reason; control characters become spaces so the reply stays
// on one line.
std::string json_reason(std::string_view reason) {
  std::string out = "{\"reason\":\"";
  for (char c : reason) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += ' ';
    } else {
      out += c;
    }
  }
  out += "\"}\n";
  return out;
}

std::string format_address(const std::string& host, uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

Result<ListenAddress> parse_listen_address(std::string_view listen) {
  auto bad = [&](std::string_view why) {
    return Status(Code::kInvalid,
                  "metrics.listen '" + std::string(listen) + "': " + std::string(why));
  };
  auto colon = listen.rfind(':');
  if (colon == std::string_view::npos) return bad("expected host:port");
  std::string_view host = listen.substr(0, colon);
  std::string_view port_text = listen.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad("unbalanced '[' in IPv6 host");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad("IPv6 hosts must be written in brackets, e.g. [::1]:49999");
  }
  if (host.empty()) return bad("empty host");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return bad("port must be a number from 0 to 65535");
  }
  return ListenAddress{std::string(host), static_cast<uint16_t>(port)};
}

class Server::Impl {
 public:
  Impl(Metrics& metrics, HealthCheck health) : metrics_(metrics), health_(std::move(health)) {}

  ~Impl() { stop(); }

  Status start(const ListenAddress& addr) {
    host_ = addr.host;
    svr_.new_task_queue = [] { return new httplib::ThreadPool(2); };
    svr_.set_keep_alive_timeout(1);
    svr_.set_keep_alive_max_count(100);
    svr_.set_read_timeout(2, 0);
    svr_.set_write_timeout(5, 0);
    svr_.set_payload_max_length(size_t{64} * 1024);
    svr_.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
      // Not inherited by fusermount3 or other helpers the daemon may spawn.
      fcntl(sock, F_SETFD, FD_CLOEXEC);
    });
    svr_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      handle(req, res);
      return httplib::Server::HandlerResponse::Handled;
    });

    errno = 0;
    int port = -1;
    if (addr.port == 0) {
      port = svr_.bind_to_any_port(addr.host);
    } else if (svr_.bind_to_port(addr.host, addr.port)) {
      port = addr.port;
    }
    int err = errno;
    if (port <= 0) {
      std::string why = err != 0 ? common::errno_text(err) : "address unusable";
      return Status(Code::kUnavailable, "metrics.listen " + format_address(addr.host, addr.port) +
                                            ": cannot listen: " + why);
    }
    port_ = static_cast<uint16_t>(port);

    thread_ = common::named_thread("af-metrics", [this] {
      svr_.listen_after_bind();
      exited_.store(true);
    });
    // httplib's stop() is a no-op until the accept loop has marked itself running, so wait
    // for that before handing the server out; otherwise an early stop() could hang the join.
    while (!svr_.is_running() && !exited_.load()) std::this_thread::yield();
    spdlog::info("metrics: serving /metrics and /healthz on http://{}", address());
    return Status::Ok();
  }

  void stop() {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    if (!thread_.joinable()) return;
    svr_.stop();
    thread_.join();
  }

  uint16_t port() const { return port_; }
  std::string address() const { return format_address(host_, port_); }

 private:
  void handle(const httplib::Request& req, httplib::Response& res) {
    bool known_path = req.path == "/metrics" || req.path == "/healthz";
    if (!known_path) {
      res.status = 404;
      res.set_content("not found\n", "text/plain");
      return;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      res.status = 405;
      res.set_header("Allow", "GET, HEAD");
      res.set_content("method not allowed\n", "text/plain");
      return;
    }
    if (req.path == "/metrics") {
      res.status = 200;
      res.set_content(metrics_.serialize(), kMetricsContentType);
      return;
    }
    Health h;
    try {
      h = health_ ? health_() : Health{};
    } catch (...) {
      h = Health{false, "health check failed"};
    }
    if (h.healthy) {
      res.status = 200;
      res.set_content("ok", "text/plain");
    } else {
      res.status = 503;
      res.set_content(json_reason(h.reason), "application/json");
    }
  }

  Metrics& metrics_;
  HealthCheck health_;
  httplib::Server svr_;
  std::string host_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> exited_{false};
  std::mutex stop_mutex_;
};

Result<std::unique_ptr<Server>> Server::start(Metrics& metrics, std::string_view listen,
                                              HealthCheck health) {
  auto addr = parse_listen_address(listen);
  if (!addr.ok()) return addr.status();
  auto impl = std::make_unique<Impl>(metrics, std::move(health));
  try {
    AF_RETURN_IF_ERROR(impl->start(*addr));
  } catch (const std::exception& e) {
    // std::thread creation is the only thrower here.
    return Status(Code::kIo, "metrics.listen " + std::string(listen) + ": " + e.what());
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

uint16_t Server::port() const { return impl_->port(); }
std::string Server::address() const { return impl_->address(); }
void Server::stop() { impl_->stop(); }

Status Server::write_address_file(const std::string& path) const {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  std::string line = address() + "\n";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    return Status(Code::kIo, "write " + tmp + ": " + common::errno_text(errno));
  }
  bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(tmp.c_str());
    return Status(Code::kIo, "write " + path + ": " + common::errno_text(err));
  }
  return Status::Ok();
}

}  // namespace alluxio_fuse::metrics
