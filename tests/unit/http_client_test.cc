// test-deps: cpp-httplib
// The libcurl client against in-process servers on 127.0.0.1: cpp-httplib for well-formed
// replies, and a raw-socket server for broken ones (no reply, truncated body, hang).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "alluxio_fuse/http/client.h"

namespace alluxio_fuse::http {
namespace {

using namespace std::chrono_literals;

// cpp-httplib server on a thread; counts distinct client connections by remote port.
class HttplibServer {
 public:
  HttplibServer() {
    server_.set_keep_alive_max_count(100000);
    server_.set_tcp_nodelay(true);  // avoid Nagle + delayed-ACK stalls between calls
    server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response&) {
      std::lock_guard<std::mutex> lock(mu_);
      ports_.insert(req.remote_port);
      return httplib::Server::HandlerResponse::Unhandled;
    });
  }
  void start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~HttplibServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  httplib::Server& server() { return server_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  size_t connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return ports_.size();
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::set<int> ports_;
};

// Accepts connections and hands each socket to `handler` on its own thread.
class RawServer {
 public:
  explicit RawServer(std::function<void(int fd, RawServer& self)> handler)
      : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listen_fd_, 64), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] {
      while (true) {
        int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) {
          ::close(fd);
          return;
        }
        workers_.emplace_back([this, fd] {
          handler_(fd, *this);
          ::close(fd);
        });
      }
    });
  }
  ~RawServer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    release();
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    for (auto& t : workers_) t.join();
    ::close(listen_fd_);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // Reads one request head (bodies are not used by these tests).
  static void read_head(int fd) {
    std::string data;
    char buf[4096];
    while (data.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
    }
  }
  static void send_all(int fd, std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      s.remove_prefix(static_cast<size_t>(n));
    }
  }
  // A hanging handler blocks here until the server is torn down.
  void hang() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++hanging_;
    }
    hang_cv_.notify_all();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return released_; });
  }
  void wait_hanging(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    hang_cv_.wait(lock, [&] { return hanging_ >= n; });
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::function<void(int, RawServer&)> handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable cv_, hang_cv_;
  bool stopping_ = false;
  bool released_ = false;
  int hanging_ = 0;
  std::vector<std::thread> workers_;
};

struct Observation {
  std::string method;
  State state;
};

class RecordingObserver : public CallObserver {
 public:
  void observe(std::string_view method, State state, double latency_ms) override {
    EXPECT_GE(latency_ms, 0);
    std::lock_guard<std::mutex> lock(mu_);
    seen_.push_back({std::string(method), state});
  }
  std::vector<Observation> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::vector<Observation> seen_;
};

Request get(const std::string& url) {
  Request r;
  r.url = url;
  r.connect_timeout = 2000ms;
  r.total_timeout = 5000ms;
  return r;
}

TEST(HttpUtil, EncodeQueryValueMatchesSpecExamples) {
  EXPECT_EQ(encode_query_value("s3://bkt/dir/a b+c&d?.txt"), "s3://bkt/dir/a%20b%2Bc%26d%3F.txt");
  EXPECT_EQ(encode_query_value("s3://bkt/数据"), "s3://bkt/%E6%95%B0%E6%8D%AE");
  EXPECT_EQ(encode_query_value("AZaz09-._~/:"), "AZaz09-._~/:");
  EXPECT_EQ(encode_query_value("#=%"), "%23%3D%25");
}

TEST(HttpUtil, StateNamesAndHeaderLookup) {
  EXPECT_EQ(to_string(State::kOk), "ok");
  EXPECT_EQ(to_string(State::kNotFound), "not_found");
  EXPECT_EQ(to_string(State::kHttp4xx), "http_4xx");
  EXPECT_EQ(to_string(State::kHttp5xx), "http_5xx");
  EXPECT_EQ(to_string(State::kRefused), "refused");
  EXPECT_EQ(to_string(State::kTimeout), "timeout");
  EXPECT_EQ(to_string(State::kNoReply), "no_reply");
  EXPECT_EQ(to_string(State::kBadResponse), "bad_response");
  Response r;
  r.headers = {{"content-length", "3"}, {"x", "1"}, {"x", "2"}};
  EXPECT_EQ(r.header("x"), "1");
  EXPECT_EQ(r.header("missing"), "");
}

TEST(HttpClient, KeepAliveReusesOneConnectionAndSendsHeaders) {
  HttplibServer srv;
  // Written by the server thread, read by the test: the socket round trip orders them in
  // practice, but not in the memory model (ThreadSanitizer reported it), so a mutex does.
  std::mutex mu;
  std::string ua, accept, expect;
  srv.server().Get("/x", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    ua = req.get_header_value("User-Agent");
    accept = req.get_header_value("Accept");
    res.set_content("hello", "text/plain");
  });
  srv.start();
  RecordingObserver obs;
  ClientOptions opts;
  opts.user_agent = "alluxio-fuse/test";
  auto client = make_curl_client(opts, &obs);
  for (int i = 0; i < 20; ++i) {
    Request r = get(srv.url("/x"));
    r.metric_method = "info";
    Response resp = client->perform(r);
    ASSERT_EQ(resp.state, State::kOk) << resp.error;
    EXPECT_EQ(resp.status, 200);
    EXPECT_EQ(resp.body, "hello");
    EXPECT_EQ(resp.body_bytes, 5u);
    EXPECT_EQ(resp.header("content-type"), "text/plain");
  }
  EXPECT_EQ(srv.connections(), 1u);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(ua, "alluxio-fuse/test");
    EXPECT_EQ(accept, "*/*");
  }
  auto seen = obs.seen();
  ASSERT_EQ(seen.size(), 20u);
  EXPECT_EQ(seen[0].method, "info");
  EXPECT_EQ(seen[0].state, State::kOk);
}

TEST(HttpClient, RefusedOnClosedPort) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);  // nothing listens on this port now
  RecordingObserver obs;
  auto client = make_curl_client({}, &obs);
  Response resp =
      client->perform(get("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/"));
  EXPECT_EQ(resp.state, State::kRefused) << resp.error;
  EXPECT_EQ(resp.status, 0);
  EXPECT_EQ(obs.seen().size(), 1u);
}

TEST(HttpClient, TotalTimeoutIsBounded) {
  RawServer srv([](int fd, RawServer& self) {
    RawServer::read_head(fd);
    self.hang();
  });
  auto client = make_curl_client({}, nullptr);
  Request r = get(srv.url("/slow"));
  r.total_timeout = 300ms;
  auto start = std::chrono::steady_clock::now();
  Response resp = client->perform(r);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(resp.state, State::kTimeout) << resp.error;
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 3s);
}

TEST(HttpClient, ClosedWithoutReplyIsNoReply) {
  RawServer srv([](int fd, RawServer&) { RawServer::read_head(fd); });
  auto client = make_curl_client({}, nullptr);
  Response resp = client->perform(get(srv.url("/miss")));
  EXPECT_EQ(resp.state, State::kNoReply) << resp.error;
  EXPECT_EQ(resp.status, 0);
}

TEST(HttpClient, TruncatedBodyIsBadResponse) {
  RawServer srv([](int fd, RawServer&) {
    RawServer::read_head(fd);
    RawServer::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part");
  });
  auto client = make_curl_client({}, nullptr);
  Response resp = client->perform(get(srv.url("/t")));
  EXPECT_EQ(resp.state, State::kBadResponse) << resp.error;
  EXPECT_EQ(resp.status, 200);
}

TEST(HttpClient, RedirectAndGarbageAreBadResponse) {
  RawServer srv([](int fd, RawServer&) {
    RawServer::read_head(fd);
    RawServer::send_all(fd, "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n");
  });
  auto client = make_curl_client({}, nullptr);
  EXPECT_EQ(client->perform(get(srv.url("/r"))).state, State::kBadResponse);
  RawServer junk([](int fd, RawServer&) {
    RawServer::read_head(fd);
    RawServer::send_all(fd, "garbage that is not http\r\n\r\n");
  });
  EXPECT_EQ(client->perform(get(junk.url("/j"))).state, State::kBadResponse);
}

TEST(HttpClient, BodyLimits) {
  HttplibServer srv;
  srv.server().Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(1000, 'x'), "application/octet-stream");
  });
  srv.start();
  auto client = make_curl_client({}, nullptr);
  Request r = get(srv.url("/big"));
  r.max_body = 999;
  EXPECT_EQ(client->perform(r).state, State::kBadResponse);
  r.max_body = 1000;
  Response ok = client->perform(r);
  EXPECT_EQ(ok.state, State::kOk);
  EXPECT_EQ(ok.body.size(), 1000u);

  std::vector<char> buf(1000, 0);
  Request exact = get(srv.url("/big"));
  exact.out = buf.data();
  exact.out_cap = buf.size();
  Response filled = client->perform(exact);
  EXPECT_EQ(filled.state, State::kOk) << filled.error;
  EXPECT_EQ(filled.body_bytes, 1000u);
  EXPECT_TRUE(filled.body.empty());
  EXPECT_EQ(std::string(buf.begin(), buf.end()), std::string(1000, 'x'));

  exact.out_cap = 999;
  EXPECT_EQ(client->perform(exact).state, State::kBadResponse);
}

TEST(HttpClient, StatusClassification) {
  HttplibServer srv;
  srv.server().Get(R"(/status/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    res.status = std::atoi(req.matches[1].str().c_str());
    // A 204 has no body; httplib would send one anyway and desync the kept-alive stream.
    if (res.status != 204) res.set_content(R"({"message":"nope"})", "application/json");
  });
  srv.start();
  auto client = make_curl_client({}, nullptr);
  struct Case {
    int status;
    State state;
  } cases[] = {{200, State::kOk},      {204, State::kOk},      {404, State::kNotFound},
               {400, State::kHttp4xx}, {409, State::kHttp4xx}, {412, State::kHttp4xx},
               {500, State::kHttp5xx}, {503, State::kHttp5xx}, {507, State::kHttp5xx}};
  for (const auto& c : cases) {
    std::vector<char> buf(64);
    Request r = get(srv.url("/status/" + std::to_string(c.status)));
    r.out = buf.data();  // error bodies must not land in the caller's buffer
    r.out_cap = buf.size();
    Response resp = client->perform(r);
    EXPECT_EQ(resp.state, c.state) << c.status << " " << resp.error;
    EXPECT_EQ(resp.status, c.status);
    if (c.status >= 400) {
      EXPECT_EQ(resp.body, R"({"message":"nope"})");
    }
  }
}

std::string temp_file_with(const std::string& data) {
  char path[] = "/tmp/af_http_upload_XXXXXX";
  int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fd);
  return path;
}

TEST(HttpClient, UploadFromFdPlainAndChunked) {
  HttplibServer srv;
  std::mutex mu;
  std::string received, transfer_encoding, content_length, expect, query;
  srv.server().Post("/up", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    received = req.body;
    transfer_encoding = req.get_header_value("Transfer-Encoding");
    content_length = req.get_header_value("Content-Length");
    expect = req.get_header_value("Expect");
    query = req.get_param_value("ufsFullPath");
    res.set_content(R"({"success":true})", "application/json");
  });
  srv.start();
  std::string data;
  for (int i = 0; i < 3 * 1024 * 1024 + 17; ++i) data.push_back(static_cast<char>(i * 31 + 7));
  std::string path = temp_file_with(data + "trailing bytes not uploaded");
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  RecordingObserver obs;
  auto client = make_curl_client({}, &obs);
  for (bool chunked : {false, true}) {
    Request r;
    r.method = "POST";
    r.url = srv.url("/up?ufsFullPath=s3://bkt/a%20b");
    r.upload_fd = fd;
    r.upload_size = data.size();
    r.chunked = chunked;
    r.total_timeout = 0ms;
    r.stall_timeout = 5000ms;
    r.headers = {{"Content-Type", "application/octet-stream"}};
    r.metric_method = "chunk_write";
    Response resp = client->perform(r);
    ASSERT_EQ(resp.state, State::kOk) << resp.error;
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(received == data) << "size " << received.size();
    EXPECT_EQ(expect, "");
    EXPECT_EQ(query, "s3://bkt/a b");
    if (chunked) {
      EXPECT_EQ(transfer_encoding, "chunked");
    } else {
      EXPECT_EQ(content_length, std::to_string(data.size()));
    }
  }
  // An empty chunked upload is only the terminating chunk.
  Request empty;
  empty.method = "POST";
  empty.url = srv.url("/up");
  empty.upload_fd = fd;
  empty.upload_size = 0;
  empty.chunked = true;
  EXPECT_EQ(client->perform(empty).state, State::kOk);
  {
    std::lock_guard<std::mutex> lock(mu);  // the handler wrote it (ThreadSanitizer)
    EXPECT_EQ(received, "");
  }
  ::close(fd);
  ::unlink(path.c_str());
  EXPECT_EQ(obs.seen().size(), 3u);
  EXPECT_EQ(srv.connections(), 1u);
}

// A server that answers one request per connection and then closes it silently: the next call
// finds a stale keep-alive connection and must be retried by libcurl on a fresh one (the
// upload is rewound through the seek callback).
TEST(HttpClient, StaleKeepAliveIsRetriedOnFreshConnection) {
  std::atomic<int> accepted{0};
  RawServer srv([&](int fd, RawServer&) {
    ++accepted;
    std::string data;
    char buf[4096];
    size_t need = std::string::npos;
    while (true) {
      auto head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos && need == std::string::npos) {
        auto cl = data.find("Content-Length: ");
        size_t body = cl == std::string::npos ? 0 : std::stoul(data.substr(cl + 16));
        need = head_end + 4 + body;
      }
      if (need != std::string::npos && data.size() >= need) break;
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
    }
    RawServer::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  std::string path = temp_file_with("0123456789");
  int fd = ::open(path.c_str(), O_RDONLY);
  RecordingObserver obs;
  auto client = make_curl_client({}, &obs);
  for (int i = 0; i < 3; ++i) {
    Request r = get(srv.url("/once"));
    r.method = "POST";
    r.upload_fd = fd;
    r.upload_size = 10;
    Response resp = client->perform(r);
    EXPECT_EQ(resp.state, State::kOk) << resp.error;
    EXPECT_EQ(resp.body, "ok");
  }
  EXPECT_EQ(accepted.load(), 3);
  EXPECT_EQ(obs.seen().size(), 3u);
  ::close(fd);
  ::unlink(path.c_str());
}

TEST(HttpClient, StallTimeoutAbortsSlowStream) {
  RawServer srv([](int fd, RawServer& self) {
    RawServer::read_head(fd);
    RawServer::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nabc");
    self.hang();
  });
  auto client = make_curl_client({}, nullptr);
  Request r = get(srv.url("/stream"));
  r.total_timeout = 0ms;
  r.stall_timeout = 1000ms;
  r.max_body = 2000000;
  auto start = std::chrono::steady_clock::now();
  Response resp = client->perform(r);
  EXPECT_EQ(resp.state, State::kTimeout) << resp.error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(HttpClient, CancelAllUnblocksHangingCallAndFailsLaterCalls) {
  RawServer srv([](int fd, RawServer& self) {
    RawServer::read_head(fd);
    self.hang();
  });
  RecordingObserver obs;
  auto client = make_curl_client({}, &obs);
  Response resp;
  std::chrono::steady_clock::duration elapsed{};
  std::thread caller([&] {
    Request r = get(srv.url("/hang"));
    r.total_timeout = 60000ms;
    resp = client->perform(r);
  });
  srv.wait_hanging(1);
  auto start = std::chrono::steady_clock::now();
  client->cancel_all();
  caller.join();
  elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(resp.state, State::kTimeout);
  EXPECT_LT(elapsed, 2s);
  EXPECT_TRUE(obs.seen().empty());  // abandoned attempts are not observed
  Response later = client->perform(get(srv.url("/again")));
  EXPECT_EQ(later.state, State::kTimeout);
  EXPECT_TRUE(obs.seen().empty());
}

TEST(HttpClient, PoolWaitCountsAgainstDeadline) {
  RawServer srv([](int fd, RawServer& self) {
    RawServer::read_head(fd);
    self.hang();
  });
  ClientOptions opts;
  opts.max_connections_per_host = 1;
  auto client = make_curl_client(opts, nullptr);
  std::thread holder([&] {
    Request r = get(srv.url("/hold"));
    r.total_timeout = 60000ms;
    EXPECT_EQ(client->perform(r).state, State::kTimeout);
  });
  srv.wait_hanging(1);
  Request r = get(srv.url("/queued"));
  r.total_timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  Response resp = client->perform(r);
  EXPECT_EQ(resp.state, State::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  client->cancel_all();
  holder.join();
}

TEST(HttpClient, ConcurrentCallsFromEightThreads) {
  HttplibServer srv;
  srv.server().Get(R"(/echo/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.matches[1].str(), "text/plain");
  });
  srv.start();
  RecordingObserver obs;
  ClientOptions opts;
  opts.max_connections_per_host = 4;
  auto client = make_curl_client(opts, &obs);
  std::atomic<int> failures{0};
  std::latch go(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      go.arrive_and_wait();
      for (int i = 0; i < 25; ++i) {
        std::string id = std::to_string(t * 1000 + i);
        Response resp = client->perform(get(srv.url("/echo/" + id)));
        if (resp.state != State::kOk || resp.body != id) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(obs.seen().size(), 200u);
  EXPECT_LE(srv.connections(), 4u);
}

}  // namespace
}  // namespace alluxio_fuse::http
