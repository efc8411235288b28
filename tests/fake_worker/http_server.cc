// Design: blocking sockets, one detached thread per connection (the benchmarks open at most a
// few dozen connections per worker, so threads are simpler than an event loop and never the
// bottleneck). Every blocking wait polls the connection together with a shared "stop pipe"
// that becomes readable once at shutdown, so idle keep-alives, latency sleeps and injected hangs
// all end promptly on SIGTERM. stop() additionally shuts down every connection socket, which
// unblocks a send() stuck on a client that stopped reading.
#include "http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "alluxio_fuse/common/iov.h"

namespace alluxio_fuse::fake_worker {
namespace {

constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kReadChunk = 256 * 1024;
constexpr size_t kFileChunk = 1 << 20;

std::string_view reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Payload Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

// Sends every byte of the iovecs; false when the peer is gone.
bool send_iov(int fd, struct iovec* iov, int n) {
  while (n > 0) {
    struct msghdr msg {};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n);
    ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    common::consume_iov(iov, n, static_cast<size_t>(w));
  }
  return true;
}

bool send_all(int fd, std::string_view a, std::string_view b = {}) {
  struct iovec iov[2];
  iov[0] = {const_cast<char*>(a.data()), a.size()};
  iov[1] = {const_cast<char*>(b.data()), b.size()};
  return send_iov(fd, iov, b.empty() ? 1 : 2);
}

}  // namespace

void HttpResponse::set_body(std::string text) {
  body_length = text.size();
  body_offset = 0;
  body = std::make_shared<const std::string>(std::move(text));
}

void HttpResponse::set_json(int code, std::string text) {
  status = code;
  content_type = "application/json";
  set_body(std::move(text));
}

HttpServer::HttpServer(Handler handler) : handler_(std::move(handler)) {
  if (pipe2(stop_pipe_, O_CLOEXEC) != 0) stop_pipe_[0] = stop_pipe_[1] = -1;
}

HttpServer::~HttpServer() {
  stop();
  if (listen_fd_ >= 0) close(listen_fd_);
  if (stop_pipe_[0] >= 0) close(stop_pipe_[0]);
  if (stop_pipe_[1] >= 0) close(stop_pipe_[1]);
}

std::string HttpServer::listen(const std::string& bind_addr, int port) {
  if (stop_pipe_[0] < 0) return "pipe failed";
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return std::string("socket: ") + std::strerror(errno);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, bind_addr.c_str(), &addr.sin_addr) != 1) {
    return "bad --bind address (IPv4 literal expected): " + bind_addr;
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return "bind " + bind_addr + ":" + std::to_string(port) + ": " + std::strerror(errno);
  }
  if (::listen(listen_fd_, 1024) != 0) return std::string("listen: ") + std::strerror(errno);
  socklen_t len = sizeof(addr);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  return "";
}

void HttpServer::serve() {
  while (!stopping_.load()) {
    struct pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    int r = poll(p, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || (p[1].revents != 0)) break;
    if ((p[0].revents & POLLIN) == 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_.load()) {
        close(fd);
        break;
      }
      conns_.insert(fd);
      ++active_;
    }
    std::thread([this, fd] { connection_loop(fd); }).detach();
  }
}

void HttpServer::stop() {
  if (stopping_.exchange(true)) return;
  if (stop_pipe_[1] >= 0) {
    char c = 1;
    ssize_t ignored = write(stop_pipe_[1], &c, 1);
    (void)ignored;
  }
  std::unique_lock<std::mutex> lock(mu_);
  for (int fd : conns_) shutdown(fd, SHUT_RDWR);
  // A connection thread stuck in pread of a slow disk would hold us here; bound the wait so
  // SIGTERM always ends the process.
  cv_.wait_for(lock, std::chrono::seconds(5), [this] { return active_ == 0; });
}

bool HttpServer::sleep_ms(int ms) {
  struct pollfd p = {stop_pipe_[0], POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return true;
    int r = poll(&p, 1, static_cast<int>(left));
    if (r > 0) return false;
    if (r < 0 && errno != EINTR) return true;
  }
}

bool HttpServer::wait_readable(int fd) {
  while (true) {
    struct pollfd p[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    int r = poll(p, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || p[1].revents != 0) return false;
    if (p[0].revents != 0) return true;
  }
}

void HttpServer::hang(int fd) {
  char sink[4096];
  while (wait_readable(fd)) {
    ssize_t n = recv(fd, sink, sizeof(sink), 0);
    if (n <= 0) return;  // the client gave up (its deadline passed)
  }
}

void HttpServer::connection_loop(int fd) {
  std::string buf;
  while (!stopping_.load()) {
    HttpRequest req;
    bool keep_alive = true;
    if (!read_request(fd, buf, req, keep_alive)) break;
    HttpResponse resp;
    handler_(req, resp);
    if (resp.latency_ms > 0 && !sleep_ms(resp.latency_ms)) break;
    if (resp.action == ReplyAction::kDrop) break;
    if (resp.action == ReplyAction::kHang) {
      hang(fd);
      break;
    }
    if (resp.close_after) keep_alive = false;
    if (!send_response(fd, req, resp, keep_alive)) break;
    if (!keep_alive) break;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    conns_.erase(fd);
    close(fd);
    --active_;
  }
  cv_.notify_all();
}

bool HttpServer::read_request(int fd, std::string& buf, HttpRequest& req, bool& keep_alive) {
  // Reads more bytes into buf; false on EOF, error or shutdown.
  auto fill = [&]() -> bool {
    if (!wait_readable(fd)) return false;
    size_t old = buf.size();
    buf.resize(old + kReadChunk);
    ssize_t n;
    do {
      n = recv(fd, buf.data() + old, kReadChunk, 0);
    } while (n < 0 && errno == EINTR);
    buf.resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
    return n > 0;
  };
  size_t head_end;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (buf.size() > kMaxHeaderBytes) return false;
    if (!fill()) return false;
  }
  std::string_view head(buf.data(), head_end);
  size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  size_t sp1 = line.find(' ');
  size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return false;
  req.method = std::string(line.substr(0, sp1));
  req.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  std::string version(line.substr(sp2 + 1));
  size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  req.query = q == std::string::npos ? "" : req.target.substr(q + 1);
  size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string_view::npos) e = head.size();
    std::string_view h = head.substr(pos, e - pos);
    size_t colon = h.find(':');
    if (colon != std::string_view::npos) {
      req.headers[lower(std::string(h.substr(0, colon)))] = trim(h.substr(colon + 1));
    }
    pos = e + 2;
  }
  std::string conn = lower(req.header("connection"));
  keep_alive = version == "HTTP/1.1" ? conn != "close" : conn == "keep-alive";
  size_t cur = head_end + 4;

  if (lower(req.header("expect")) == "100-continue") {
    if (!send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n")) return false;
  }
  if (lower(req.header("transfer-encoding")).find("chunked") != std::string::npos) {
    while (true) {
      size_t le;
      while ((le = buf.find("\r\n", cur)) == std::string::npos) {
        if (!fill()) return false;
      }
      std::string size_line = buf.substr(cur, le - cur);
      size_t semi = size_line.find(';');
      if (semi != std::string::npos) size_line.resize(semi);
      size_t chunk = 0;
      try {
        chunk = std::stoull(trim(size_line), nullptr, 16);
      } catch (...) {
        return false;
      }
      cur = le + 2;
      if (chunk == 0) {
        // Trailers end with an empty line.
        while (true) {
          while ((le = buf.find("\r\n", cur)) == std::string::npos) {
            if (!fill()) return false;
          }
          bool empty = le == cur;
          cur = le + 2;
          if (empty) break;
        }
        break;
      }
      while (buf.size() < cur + chunk + 2) {
        if (!fill()) return false;
      }
      req.body.append(buf, cur, chunk);
      cur += chunk + 2;
      // Keep the buffer small for large uploads.
      buf.erase(0, cur);
      cur = 0;
    }
  } else if (std::string cl = req.header("content-length"); !cl.empty()) {
    size_t n = 0;
    try {
      n = std::stoull(cl);
    } catch (...) {
      return false;
    }
    size_t have = std::min(n, buf.size() - cur);
    req.body.reserve(n);
    req.body.append(buf, cur, have);
    cur += have;
    while (req.body.size() < n) {
      if (!wait_readable(fd)) return false;
      size_t old = req.body.size();
      req.body.resize(n);
      ssize_t r;
      do {
        r = recv(fd, req.body.data() + old, n - old, 0);
      } while (r < 0 && errno == EINTR);
      if (r <= 0) return false;
      req.body.resize(old + static_cast<size_t>(r));
    }
  }
  buf.erase(0, cur);
  return true;
}

bool HttpServer::send_response(int fd, const HttpRequest& req, HttpResponse& resp,
                               bool keep_alive) {
  const bool truncate = resp.action == ReplyAction::kTruncate;
  const bool chunked = resp.file && resp.file->chunk_size > 0;
  int64_t length = resp.file ? resp.file->length : static_cast<int64_t>(resp.body_length);
  std::string head = "HTTP/1.1 " + std::to_string(resp.status) + " ";
  head += reason(resp.status);
  head += "\r\nContent-Type: " + resp.content_type + "\r\n";
  if (chunked) {
    head += "Transfer-Encoding: chunked\r\n";
  } else {
    head += "Content-Length: " + std::to_string(length) + "\r\n";
  }
  head += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  const bool head_only = req.method == "HEAD";
  const int64_t send_len = head_only ? 0 : (truncate ? length / 2 : length);

  if (!resp.file) {
    std::string_view body;
    if (resp.body) body = std::string_view(*resp.body).substr(resp.body_offset, resp.body_length);
    if (!send_all(fd, head, body.substr(0, static_cast<size_t>(send_len)))) return false;
    return !truncate;
  }
  if (!send_all(fd, head)) return false;
  int file_fd = open(resp.file->path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file_fd < 0) return false;
  size_t piece = chunked ? static_cast<size_t>(resp.file->chunk_size) : kFileChunk;
  std::string chunk_buf(std::min(piece, static_cast<size_t>(std::max<int64_t>(send_len, 1))), '\0');
  int64_t sent = 0;
  bool ok = true;
  while (ok && sent < send_len) {
    size_t want = static_cast<size_t>(std::min<int64_t>(chunk_buf.size(), send_len - sent));
    ssize_t r = pread(file_fd, chunk_buf.data(), want, resp.file->offset + sent);
    if (r <= 0) {
      ok = false;  // the file shrank under us: the promised length cannot be kept
      break;
    }
    std::string_view data(chunk_buf.data(), static_cast<size_t>(r));
    if (chunked) {
      char size_line[32];
      int n = snprintf(size_line, sizeof(size_line), "%zx\r\n", data.size());
      struct iovec iov[3] = {{size_line, static_cast<size_t>(n)},
                             {const_cast<char*>(data.data()), data.size()},
                             {const_cast<char*>("\r\n"), 2}};
      ok = send_iov(fd, iov, 3);
    } else {
      ok = send_all(fd, data);
    }
    sent += r;
  }
  close(file_fd);
  if (!ok || truncate) return false;
  if (chunked && !head_only) return send_all(fd, "0\r\n\r\n");
  return true;
}

}  // namespace alluxio_fuse::fake_worker
