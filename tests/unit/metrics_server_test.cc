// Unit tests of metrics::Server over a real loopback socket: /metrics, /healthz 200/503, the
// 404/405 rules, bind conflicts naming `metrics.listen`, and a prompt stop with an idle
// keep-alive client still connected.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>

#include "alluxio_fuse/metrics/metrics.h"
#include "alluxio_fuse/metrics/server.h"

namespace alluxio_fuse::metrics {
namespace {

struct Reply {
  int status = -1;
  std::string head;  // status line and headers
  std::string body;
};

int connect_loopback(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// One request on a fresh connection ("Connection: close"), read to EOF.
Reply request(uint16_t port, const std::string& method, const std::string& path) {
  Reply reply;
  int fd = connect_loopback(port);
  if (fd < 0) return reply;
  std::string req =
      method + " " + path +
      " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return reply;
  }
  std::string all;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) all.append(buf, static_cast<size_t>(n));
  close(fd);
  auto sep = all.find("\r\n\r\n");
  if (all.rfind("HTTP/1.1 ", 0) != 0 || sep == std::string::npos) return reply;
  reply.status = std::stoi(all.substr(9, 3));
  reply.head = all.substr(0, sep);
  reply.body = all.substr(sep + 4);
  return reply;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Server::start(metrics_, "127.0.0.1:0", [this] {
      std::lock_guard<std::mutex> lock(mu_);
      return health_;
    });
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    server_ = std::move(s).value();
    ASSERT_NE(server_->port(), 0);
  }
  void set_health(Health h) {
    std::lock_guard<std::mutex> lock(mu_);
    health_ = std::move(h);
  }

  Metrics metrics_{BuildInfo{"0.0.0-test", "test"}};
  std::mutex mu_;
  Health health_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, ServesTheExposition) {
  metrics_.observe("get_page", http::State::kOk, 3);
  auto r = request(server_->port(), "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.head.find("text/plain; version=0.0.4"), std::string::npos) << r.head;
  EXPECT_NE(r.body.find("# TYPE alluxio_http_server_call_latency_ms histogram"), std::string::npos);
  EXPECT_NE(r.body.find("alluxio_http_server_result_total{method=\"get_page\",state=\"ok\"} 1"),
            std::string::npos);
  EXPECT_NE(r.body.find("alluxio_fuse_build_info{revision=\"test\",version=\"0.0.0-test\"} 1"),
            std::string::npos);
}

TEST_F(ServerTest, HealthzFollowsTheHealthCheck) {
  auto ok = request(server_->port(), "GET", "/healthz");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "ok");

  set_health(Health{false, "no workers: \"ring\" is empty\nsecond line"});
  auto bad = request(server_->port(), "GET", "/healthz");
  EXPECT_EQ(bad.status, 503);
  EXPECT_EQ(bad.body, "{\"reason\":\"no workers: \\\"ring\\\" is empty second line\"}\n");
  EXPECT_NE(bad.head.find("application/json"), std::string::npos);

  set_health(Health{true, ""});
  EXPECT_EQ(request(server_->port(), "GET", "/healthz").status, 200);
}

TEST_F(ServerTest, OtherPathsAre404AndOtherMethods405) {
  for (const char* path : {"/", "/metricsx", "/metrics/", "/healthz/x", "/favicon.ico"}) {
    EXPECT_EQ(request(server_->port(), "GET", path).status, 404) << path;
  }
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    auto r = request(server_->port(), method, "/metrics");
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_NE(r.head.find("Allow: GET, HEAD"), std::string::npos) << r.head;
    EXPECT_EQ(request(server_->port(), method, "/healthz").status, 405) << method;
  }
  auto head = request(server_->port(), "HEAD", "/metrics");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
}

TEST_F(ServerTest, BindConflictNamesTheKey) {
  std::string listen = "127.0.0.1:" + std::to_string(server_->port());
  auto second = Server::start(metrics_, listen, nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("metrics.listen"), std::string::npos)
      << second.status().to_string();
  EXPECT_NE(second.status().message().find(listen), std::string::npos);
  // The first server keeps serving.
  EXPECT_EQ(request(server_->port(), "GET", "/healthz").status, 200);
}

TEST_F(ServerTest, AddressFileAndAddress) {
  EXPECT_EQ(server_->address(), "127.0.0.1:" + std::to_string(server_->port()));
  std::string path =
      ::testing::TempDir() + "/metrics_server_test." + std::to_string(getpid()) + ".addr";
  ASSERT_TRUE(server_->write_address_file(path).ok());
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, server_->address() + "\n");
  std::remove(path.c_str());
  auto bad = server_->write_address_file("/nonexistent-dir/metrics.addr");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.code(), common::Code::kIo);
}

TEST_F(ServerTest, StopsPromptlyWithAnIdleClientConnected) {
  uint16_t port = server_->port();
  int idle = connect_loopback(port);  // a keep-alive client that never sends a request
  ASSERT_GE(idle, 0);
  auto start = std::chrono::steady_clock::now();
  server_->stop();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(3));
  close(idle);
  EXPECT_LT(connect_loopback(port), 0);  // nothing listens any more
  server_->stop();                       // idempotent
}

TEST(ServerListen, RejectsMalformedAddressesNamingTheKey) {
  Metrics metrics{BuildInfo{"v", "r"}};
  for (const char* listen :
       {"", "49999", "localhost", ":49999", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
        "127.0.0.1:99x", "::1:49999", "[::1:49999", "[]:49999"}) {
    auto s = Server::start(metrics, listen, nullptr);
    ASSERT_FALSE(s.ok()) << listen;
    EXPECT_EQ(s.status().code(), common::Code::kInvalid) << listen;
    EXPECT_NE(s.status().message().find("metrics.listen"), std::string::npos) << listen;
  }
  auto v6 = parse_listen_address("[::1]:49999");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 49999);
  auto any = parse_listen_address("0.0.0.0:0");
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->port, 0);
}

TEST(ServerListen, ConflictWithAnotherProgramsListener) {
  // A plain listener (as another daemon would hold) must make the bind fail, not be shared.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  Metrics metrics{BuildInfo{"v", "r"}};
  auto s = Server::start(metrics, "127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("metrics.listen"), std::string::npos);
  close(fd);
}

}  // namespace
}  // namespace alluxio_fuse::metrics
