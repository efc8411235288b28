// The stall timeout of streaming calls (worker-rest.md §1: abort when fewer than 64 KiB arrive
// or leave within stall_timeout) must hold right after a burst. libcurl's own low-speed check
// averages over several seconds, so a stream that moved a page quickly and then stopped dead ran
// on for ~5 s past the stall timeout (found by tests/integration/test_faults.py, stalled write).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alluxio_fuse/http/client.h"

namespace alluxio_fuse::http {
namespace {

using namespace std::chrono_literals;

// One-connection server: runs `handler` on the accepted socket, then holds the connection open
// (a stalled peer) until the test ends.
class StallingServer {
 public:
  // `rcvbuf` > 0 shrinks the receive buffer, so received bytes are acknowledged only as the
  // handler reads them (a slow link rather than a slow application behind a large buffer).
  explicit StallingServer(std::function<void(int)> handler, int rcvbuf = 0) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) ::setsockopt(listen_fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listen_fd_, 4), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, handler = std::move(handler)] {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      handler(fd);
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return done_; });
      ::close(fd);
    });
  }
  ~StallingServer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/chunk"; }

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

// Reads the request head; returns how many body bytes came with it.
size_t read_head(int fd) {
  std::string data;
  char buf[4096];
  while (data.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return 0;
    data.append(buf, static_cast<size_t>(n));
  }
  return data.size() - (data.find("\r\n\r\n") + 4);
}

void send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

TEST(HttpStall, DownloadThatStopsAfterABurstTimesOutAtTheStallTimeout) {
  StallingServer srv([](int fd) {
    (void)read_head(fd);
    // 1 MiB at once, then nothing more of the promised 8 MiB.
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 8388608\r\n\r\n" + std::string(1 << 20, 'x'));
  });
  auto client = make_curl_client({}, nullptr);
  Request r;
  r.url = srv.url();
  r.total_timeout = 0ms;
  r.stall_timeout = 1000ms;
  r.max_body = 16 << 20;
  const auto start = std::chrono::steady_clock::now();
  Response resp = client->perform(r);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(resp.state, State::kTimeout) << resp.error;
  EXPECT_NE(resp.error.find("stalled"), std::string::npos) << resp.error;
  EXPECT_LT(elapsed, 2500ms);  // libcurl's averaging alone took over 5 s here
}

TEST(HttpStall, UploadToAPeerThatStopsReadingTimesOutAtTheStallTimeout) {
  // The peer reads nothing: the kernel's socket buffers take a burst, then the upload stops.
  StallingServer srv([](int) {});
  char path[] = "/tmp/af-http-stall-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  const std::string data(32 << 20, 'y');  // more than loopback socket buffers hold
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  auto client = make_curl_client({}, nullptr);
  Request r;
  r.method = "POST";
  r.url = srv.url();
  r.upload_fd = fd;
  r.upload_size = data.size();
  r.total_timeout = 0ms;
  r.stall_timeout = 1000ms;
  const auto start = std::chrono::steady_clock::now();
  Response resp = client->perform(r);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ::close(fd);
  EXPECT_EQ(resp.state, State::kTimeout) << resp.error;
  EXPECT_LT(elapsed, 2500ms);
}

TEST(HttpStall, UploadDrainedSlowlyFromTheSendBufferIsNotAStall) {
  // A slow link: the peer takes 128 KiB every 100 ms through a small receive window. The client
  // hands megabytes to its send buffer at once, then sees no new bytes leave for longer than the
  // stall timeout while that buffer drains; the bytes the peer acknowledges are progress, so the
  // upload completes.
  const size_t total = 4 << 20;
  StallingServer srv(
      [total](int fd) {
        size_t got = read_head(fd);
        std::vector<char> buf(128 * 1024);
        while (got < total) {
          ssize_t n = ::recv(fd, buf.data(), std::min(buf.size(), total - got), 0);
          if (n <= 0) return;
          got += static_cast<size_t>(n);
          std::this_thread::sleep_for(100ms);  // pacing the reader, not ordering threads
        }
        send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
      },
      /*rcvbuf=*/64 * 1024);
  char path[] = "/tmp/af-http-stall-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  const std::string data(total, 'w');
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  auto client = make_curl_client({}, nullptr);
  Request r;
  r.method = "POST";
  r.url = srv.url();
  r.upload_fd = fd;
  r.upload_size = data.size();
  r.total_timeout = 0ms;
  r.stall_timeout = 1000ms;
  Response resp = client->perform(r);
  ::close(fd);
  EXPECT_EQ(resp.state, State::kOk) << resp.error;
}

TEST(HttpStall, SteadyStreamIsNotAStall) {
  // 64 KiB+ arrives in every period: the call completes although it takes longer than the
  // stall timeout in total.
  StallingServer srv([](int fd) {
    (void)read_head(fd);
    const std::string piece(96 * 1024, 'z');
    send_all(fd,
             "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(piece.size() * 6) + "\r\n\r\n");
    for (int i = 0; i < 6; ++i) {
      send_all(fd, piece);
      std::this_thread::sleep_for(300ms);  // pacing the stream, not ordering threads
    }
  });
  auto client = make_curl_client({}, nullptr);
  Request r;
  r.url = srv.url();
  r.total_timeout = 0ms;
  r.stall_timeout = 1000ms;
  r.max_body = 16 << 20;
  Response resp = client->perform(r);
  EXPECT_EQ(resp.state, State::kOk) << resp.error;
  EXPECT_EQ(resp.body.size(), 96u * 1024 * 6);
}

}  // namespace
}  // namespace alluxio_fuse::http
