// Fuzzes HTTP reply handling through the real libcurl client: an in-process loopback server
// answers each request with the fuzz input verbatim (status line, headers, body, possibly
// truncated or garbage) and closes, then the classified Response goes through the two consumers
// that map replies to core codes, worker::map_reply and ufs::classify_s3.
//
// Input: byte 0 picks request options (method, caller buffer or owned body, body limit); the
// rest is the raw reply. Invariants: no crash and no hang (the server always closes, and the
// request has a deadline); kOk only with a 2xx status; never more body bytes delivered than the
// caller's buffer or limit; header names lowercase; an OK reply maps to an OK status.
//
// Design note: one server thread for the process, one connection per iteration. A fresh Client
// per iteration keeps runs reproducible (no pooled connection carries over between inputs).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <mutex>
#include <string>
#include <thread>

#include "alluxio_fuse/http/client.h"
#include "alluxio_fuse/ufs/s3_errors.h"
#include "alluxio_fuse/worker/wire.h"
#include "fuzz_util.h"

using namespace alluxio_fuse;

namespace {

class ReplyServer {
 public:
  ReplyServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd_, 16) != 0) {
      std::abort();
    }
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    std::thread([this] { serve(); }).detach();  // lives as long as the fuzzing process
  }
  int port() const { return port_; }
  void set_reply(std::string_view reply) {
    std::lock_guard<std::mutex> lock(mu_);
    reply_.assign(reply);
  }

 private:
  void serve() {
    while (true) {
      int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      read_request(conn);
      std::string reply;
      {
        std::lock_guard<std::mutex> lock(mu_);
        reply = reply_;
      }
      size_t sent = 0;
      while (sent < reply.size()) {
        ssize_t n = ::send(conn, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      ::shutdown(conn, SHUT_WR);
      ::close(conn);
    }
  }
  // Reads until the end of the request head (our requests carry no body), or gives up.
  static void read_request(int conn) {
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
      pollfd p{conn, POLLIN, 0};
      if (::poll(&p, 1, 1000) <= 0) return;
      ssize_t n = ::recv(conn, buf, sizeof(buf), 0);
      if (n <= 0) return;
      head.append(buf, static_cast<size_t>(n));
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::mutex mu_;
  std::string reply_;  // GUARDED_BY(mu_)
};

ReplyServer& server() {
  static ReplyServer* s = new ReplyServer();  // never destroyed: its thread outlives main
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t opts = data[0];
  std::string_view reply = fuzz::as_text(data + 1, size - 1);
  ReplyServer& srv = server();
  srv.set_reply(reply);

  http::Request req;
  req.method = (opts & 1) ? "HEAD" : "GET";
  req.url = "http://127.0.0.1:" + std::to_string(srv.port()) + "/v1/file?x=1";
  req.connect_timeout = std::chrono::milliseconds(1000);
  req.total_timeout = std::chrono::milliseconds(2000);
  req.max_body = (opts & 2) ? 16 : 4096;
  char buf[64];
  if (opts & 4) {
    req.out = buf;
    req.out_cap = (opts & 8) ? sizeof(buf) : 5;
  }
  req.metric_method = "get_page";
  auto client = http::make_curl_client(http::ClientOptions{}, nullptr);
  http::Response resp = client->perform(req);

  if (resp.ok()) AF_FUZZ_CHECK(resp.status >= 200 && resp.status <= 299);
  if (resp.state == http::State::kOk || (resp.status >= 200 && resp.status <= 299)) {
    const size_t cap = req.out != nullptr ? req.out_cap : req.max_body;
    if (resp.ok()) AF_FUZZ_CHECK(resp.body_bytes <= cap);
    if (req.out == nullptr) AF_FUZZ_CHECK(resp.body.size() <= cap);
  }
  for (const auto& [name, value] : resp.headers) {
    for (char c : name) AF_FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(c)));
  }
  (void)resp.header("content-length");

  for (bool enterprise : {false, true}) {
    common::Status st = worker::map_reply(resp, enterprise, "get_page", "s3://bkt/key");
    AF_FUZZ_CHECK(st.ok() == resp.ok());
  }
  ufs::S3Outcome outcome = ufs::classify_s3(resp);
  (void)outcome;
  return 0;
}
