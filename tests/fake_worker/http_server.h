#pragma once
// A minimal HTTP/1.1 server on raw sockets for the fake worker: keep-alive, one thread per
// connection, Content-Length and chunked request bodies, and replies that the fault layer can
// drop (close without a status line), hang (never answer) or truncate (close mid-body).
//
// Thread-safety: HttpServer is started once and stopped once; the handler runs concurrently on
// every connection thread and must be thread-safe. Ownership: the server owns its sockets and
// threads; the handler is a caller-supplied function copied into the server.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace alluxio_fuse::fake_worker {

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // raw request target, "/v1/info?path=..."
  std::string path;                            // target before '?', not decoded
  std::string query;                           // target after '?', not decoded
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                            // de-chunked
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// What to do with a connection instead of (or while) replying.
enum class ReplyAction {
  kNormal,    // send the reply
  kDrop,      // close without any reply byte
  kHang,      // never answer; the connection stays open until the client or shutdown closes it
  kTruncate,  // send headers with the full length, then half the body, then close
};

// A body read from a local file at send time, so large ranges are never held in memory.
struct FileBody {
  std::string path;
  int64_t offset = 0;
  int64_t length = 0;
  int64_t chunk_size = 0;  // > 0: Transfer-Encoding: chunked with chunks of this size
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  // Exactly one of `body` (shared so cached pages are sent without a copy; `body_offset` and
  // `body_length` select a slice) or `file` is used.
  std::shared_ptr<const std::string> body;
  size_t body_offset = 0;
  size_t body_length = 0;
  std::unique_ptr<FileBody> file;
  ReplyAction action = ReplyAction::kNormal;
  bool close_after = false;
  int latency_ms = 0;  // delay before the reply (interrupted by shutdown)

  void set_body(std::string text);
  void set_json(int code, std::string text);
};

using Handler = std::function<void(const HttpRequest&, HttpResponse&)>;

class HttpServer {
 public:
  explicit HttpServer(Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; port 0 picks a free port. Returns an error message, empty on success.
  std::string listen(const std::string& bind, int port);
  int port() const { return port_; }
  // Accepts until stop(); call on one thread.
  void serve();
  // Wakes every blocked connection (including hangs) and waits for their threads to finish.
  // Safe to call from any thread once.
  void stop();

  // Sleeps `ms` unless the server stops first. Returns false when stopped.
  bool sleep_ms(int ms);

 private:
  void connection_loop(int fd);
  // Waits until fd is readable; false on shutdown or error.
  bool wait_readable(int fd);
  bool read_request(int fd, std::string& buf, HttpRequest& req, bool& keep_alive);
  bool send_response(int fd, const HttpRequest& req, HttpResponse& resp, bool keep_alive);
  void hang(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};  // readable once stop() ran: every poll includes it
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<int> conns_;  // GUARDED_BY(mu_)
  int active_ = 0;       // GUARDED_BY(mu_): running connection threads
};

}  // namespace alluxio_fuse::fake_worker
