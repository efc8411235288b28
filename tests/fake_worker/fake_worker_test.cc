// Integration test of the fake worker: starts the built binary on a temp directory and checks
// its wire behaviour with an HTTP client (httplib) and, where a reply must be absent or cut
// short, with raw sockets. Every started process is killed in teardown, even on failure.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "alluxio_fuse/common/hash.h"

namespace {

namespace fs = std::filesystem;
using alluxio_fuse::common::sha256_hex;
using nlohmann::json;

constexpr int64_t kPage = 64 * 1024;

// A fake_worker child process; the destructor always kills and reaps it.
class WorkerProcess {
 public:
  ~WorkerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }

  // Starts the binary and waits (at most 10 s) for "LISTENING <port>".
  void start(const std::vector<std::string>& args) {
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      dup2(fds[1], STDOUT_FILENO);
      std::vector<char*> argv;
      std::string bin = FAKE_WORKER_BIN;
      argv.push_back(bin.data());
      std::vector<std::string> copy = args;
      for (auto& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos) {
      struct pollfd p = {out_, POLLIN, 0};
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      ASSERT_GT(left, 0) << "fake_worker did not print LISTENING";
      if (poll(&p, 1, left) <= 0) continue;
      char c;
      ASSERT_EQ(read(out_, &c, 1), 1) << "fake_worker exited early";
      line.push_back(c);
    }
    ASSERT_EQ(line.rfind("LISTENING ", 0), 0u) << line;
    port_ = std::stoi(line.substr(10));
  }

  // SIGTERM, then the exit status (-1 when it did not exit within 5 s).
  int terminate() {
    kill(pid_, SIGTERM);
    for (int i = 0; i < 500; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      usleep(10'000);  // polling a child's exit, not ordering threads
    }
    return -1;
  }

  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = 0;
};

struct RawReply {
  std::string bytes;
  bool closed = false;     // the server closed the connection
  bool timed_out = false;  // nothing more arrived within the timeout
};

// Sends `request` on a fresh connection and collects what comes back until close or timeout.
RawReply raw_exchange(int port, const std::string& request, int timeout_ms = 3000) {
  RawReply r;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return r;
  }
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  char buf[65536];
  while (true) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) {
      r.timed_out = true;
      break;
    }
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      r.closed = true;
      break;
    }
    r.bytes.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return r;
}

std::string get_request(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
}

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream(p, std::ios::binary) << data;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class FakeWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fake_worker_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    big_ = random_bytes(2 * kPage + kPage / 2, 7);
    write_file(root_ / "big.bin", big_);
    write_file(root_ / "a.csv", "x,y\n1,2\n");
    write_file(root_ / "a b+c&d.txt", "odd name");
    fs::create_directory(root_ / "dir");
    write_file(root_ / "dir" / "x.txt", "inner");
    chmod((root_ / "a.csv").c_str(), 0640);
  }
  void TearDown() override {
    worker_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--port",      "0",    "--ufs-map", "s3://bkt=" + root_.string(),
        "--page-size", "64KB", "--seed",    "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    worker_ = std::make_unique<WorkerProcess>();
    worker_->start(args);
    cli_ = std::make_unique<httplib::Client>("127.0.0.1", worker_->port());
    cli_->set_read_timeout(5, 0);
    cli_->set_url_encode(false);  // tests send exactly the bytes the daemon would
  }

  std::string page_url(const std::string& key, int64_t index, const std::string& extra = "") {
    return "/v1/file/" + sha256_hex(key) + "/page/" + std::to_string(index) + "?" + extra +
           "ufsFullPath=" + key;
  }

  json get_json(const std::string& url) {
    auto res = cli_->Get(url.c_str());
    EXPECT_TRUE(res) << url;
    if (!res) return nullptr;
    EXPECT_EQ(res->status, 200) << url << " " << res->body;
    return json::parse(res->body, nullptr, false);
  }

  int post_status(const std::string& url) {
    auto res = cli_->Post(url.c_str(), "", "application/octet-stream");
    return res ? res->status : -1;
  }

  void set_faults(const json& j) {
    auto res = cli_->Post("/debug/faults", j.dump(), "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }

  fs::path root_;
  std::string big_;
  std::unique_ptr<WorkerProcess> worker_;
  std::unique_ptr<httplib::Client> cli_;
};

TEST_F(FakeWorkerTest, InfoAndListingFields) {
  start();
  json info = get_json("/v1/info?path=s3://bkt/a.csv");
  ASSERT_TRUE(info.is_array());
  ASSERT_EQ(info.size(), 1u);
  const json& e = info[0];
  struct stat st {};
  ASSERT_EQ(stat((root_ / "a.csv").c_str(), &st), 0);
  const int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  EXPECT_EQ(e["mType"], "file");
  EXPECT_EQ(e["mName"], "a.csv");
  EXPECT_EQ(e["mPath"], "/a.csv");
  EXPECT_EQ(e["mUfsPath"], "s3://bkt/a.csv");
  EXPECT_EQ(e["mLength"], 8);
  EXPECT_EQ(e["mHumanReadableFileSize"], "8B");
  EXPECT_EQ(e["mLastModificationTimeMs"], mtime_ns / 1'000'000);
  EXPECT_EQ(e["mContentHash"], "8-" + std::to_string(mtime_ns));
  EXPECT_EQ(e["mMode"], 0640);
  EXPECT_TRUE(e["mOwner"].is_string() && !e["mOwner"].get<std::string>().empty());
  EXPECT_TRUE(e["mGroup"].is_string());
  EXPECT_EQ(e["mCompleted"], true);

  json list = get_json("/v1/files?path=s3://bkt");
  ASSERT_TRUE(list.is_array());
  std::map<std::string, std::string> types;
  for (const auto& x : list) types[x["mName"]] = x["mType"];
  EXPECT_EQ(
      types,
      (std::map<std::string, std::string>{
          {"a b+c&d.txt", "file"}, {"a.csv", "file"}, {"big.bin", "file"}, {"dir", "directory"}}));
  // Form-encoded path= ('+' is a space, %2B a plus) and percent-encoded ufsFullPath.
  json odd = get_json("/v1/info?path=s3%3A%2F%2Fbkt%2Fa+b%2Bc%26d.txt");
  ASSERT_TRUE(odd.is_array());
  EXPECT_EQ(odd[0]["mName"], "a b+c&d.txt");
  auto head = cli_->Get("/v1/head/x?ufsFullPath=s3://bkt/a%20b%2Bc%26d.txt&numOfBytes=3");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->body, "odd");

  auto missing = cli_->Get("/v1/info?path=s3://bkt/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_TRUE(json::parse(missing->body).contains("message"));
  auto unmapped = cli_->Get("/v1/info?path=s3://other/a.csv");
  ASSERT_TRUE(unmapped);
  EXPECT_EQ(unmapped->status, 404);
  auto escape = cli_->Get("/v1/info?path=s3://bkt/dir/../../etc");
  ASSERT_TRUE(escape);
  EXPECT_EQ(escape->status, 400);
}

TEST_F(FakeWorkerTest, PagesAtBoundariesAndPartialPages) {
  start();
  const std::string key = "s3://bkt/big.bin";
  const std::vector<int64_t> expected = {kPage, kPage, kPage / 2, 0};
  for (int64_t i = 0; i < 4; ++i) {
    auto res = cli_->Get(page_url(key, i).c_str());
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    ASSERT_EQ(static_cast<int64_t>(res->body.size()), expected[i]) << "page " << i;
    EXPECT_EQ(res->body, big_.substr(std::min<size_t>(i * kPage, big_.size()), expected[i]));
  }
  auto part = cli_->Get(page_url(key, 1, "offset=100&length=1000&").c_str());
  ASSERT_TRUE(part);
  EXPECT_EQ(part->body, big_.substr(kPage + 100, 1000));
  auto tail = cli_->Get(
      page_url(key, 2, "offset=" + std::to_string(kPage / 2 - 10) + "&length=100&").c_str());
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->body, big_.substr(big_.size() - 10));

  // Without ufsFullPath only stored pages are served.
  const std::string id = sha256_hex(key);
  auto stored = cli_->Get(("/v1/file/" + id + "/page/1").c_str());
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->status, 200);
  EXPECT_EQ(stored->body, big_.substr(kPage, kPage));
  json pages = get_json("/debug/pages");
  EXPECT_EQ(pages.size(), 3u);
  auto other = cli_->Get(("/v1/file/" + sha256_hex("s3://bkt/a.csv") + "/page/0").c_str());
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);

  // Ranges, head and tail read the file.
  auto range = cli_->Get(("/v1/range/" + id + "?ufsFullPath=" + key +
                          "&offset=" + std::to_string(big_.size() - 5) + "&length=100")
                             .c_str());
  ASSERT_TRUE(range);
  EXPECT_EQ(range->body, big_.substr(big_.size() - 5));
  auto t = cli_->Get(("/v1/tail/" + id + "?ufsFullPath=" + key + "&numOfBytes=7").c_str());
  ASSERT_TRUE(t);
  EXPECT_EQ(t->body, big_.substr(big_.size() - 7));
}

TEST_F(FakeWorkerTest, CountsRequestsByEndpointAndPathId) {
  start();
  const std::string key = "s3://bkt/big.bin";
  ASSERT_TRUE(cli_->Get(page_url(key, 0).c_str()));
  ASSERT_TRUE(cli_->Get(page_url(key, 1).c_str()));
  ASSERT_TRUE(cli_->Get("/v1/info?path=s3://bkt/a.csv"));
  json c = get_json("/debug/requests");
  EXPECT_EQ(c["total"], 3);
  EXPECT_EQ(c["by_endpoint"], json({{"get_page", 2}, {"info", 1}}));
  EXPECT_EQ(c["by_path_id"][sha256_hex(key)], json({{"get_page", 2}}));
  EXPECT_EQ(c["by_path_id"][sha256_hex("s3://bkt/a.csv")], json({{"info", 1}}));
  auto reset = cli_->Post("/debug/requests/reset", "", "application/json");
  ASSERT_TRUE(reset);
  json z = get_json("/debug/requests");
  EXPECT_EQ(z["total"], 0);
  EXPECT_TRUE(z["by_endpoint"].empty());
}

TEST_F(FakeWorkerTest, NamespaceStatuses) {
  start();
  auto id = [](const std::string& k) { return sha256_hex(k); };
  const std::string nd = "s3://bkt/newdir";
  EXPECT_EQ(post_status("/v1/mkdir/" + id(nd) + "?ufsFullPath=" + nd), 200);
  EXPECT_TRUE(fs::is_directory(root_ / "newdir"));
  EXPECT_EQ(post_status("/v1/mkdir/" + id(nd) + "?ufsFullPath=" + nd), 409);
  EXPECT_EQ(post_status("/v1/mkdir/x?ufsFullPath=s3://bkt/no/such"), 404);
  EXPECT_EQ(post_status("/v1/touch/x?ufsFullPath=s3://bkt/newdir/t"), 200);
  EXPECT_TRUE(fs::exists(root_ / "newdir" / "t"));

  const std::string opts =
      "&recursiveAlias=False&sync_parent_next_time=False&remove_unchecked_option=False";
  auto rm = [&](const std::string& key, bool recursive, bool alluxio_only = false) {
    return post_status("/v1/rm/" + id(key) + "?ufsFullPath=" + key +
                       "&recursive=" + (recursive ? "True" : "False") + opts +
                       "&remove_alluxio_only=" + (alluxio_only ? "True" : "False") +
                       "&delete_mount_point=False");
  };
  EXPECT_EQ(rm(nd, false), 409);
  EXPECT_EQ(rm(nd, false, true), 200);  // cache only
  EXPECT_TRUE(fs::exists(root_ / "newdir" / "t"));
  EXPECT_EQ(rm(nd, true), 200);
  EXPECT_FALSE(fs::exists(root_ / "newdir"));
  EXPECT_EQ(rm(nd, true), 404);

  auto mv = [&](const std::string& s, const std::string& d) {
    return post_status("/v1/mv/" + id(s) + "?srcPath=" + s + "&dstPath=" + d);
  };
  EXPECT_EQ(mv("s3://bkt/a.csv", "s3://bkt/dir/b.csv"), 200);
  EXPECT_EQ(read_file(root_ / "dir" / "b.csv"), "x,y\n1,2\n");
  EXPECT_EQ(mv("s3://bkt/dir/b.csv", "s3://bkt/big.bin"), 409);
  EXPECT_EQ(mv("s3://bkt/nope", "s3://bkt/n2"), 404);
  EXPECT_EQ(post_status("/v1/copy/x?srcPath=s3://bkt/dir&dstPath=s3://bkt/dir2&recursive=True"
                        "&recursiveAlias=False&forced=False&preserve=True"),
            200);
  EXPECT_EQ(read_file(root_ / "dir2" / "x.txt"), "inner");
  EXPECT_EQ(post_status("/v1/copy/x?srcPath=s3://bkt/dir&dstPath=s3://bkt/dir2"), 409);
}

TEST_F(FakeWorkerTest, ChunkUploadRoundTripDropsStoredPages) {
  start();
  const std::string key = "s3://bkt/big.bin";
  ASSERT_TRUE(cli_->Get(page_url(key, 0).c_str()));
  ASSERT_EQ(get_json("/debug/pages").size(), 1u);

  const std::string data = random_bytes(3 * kPage + 17, 9);
  httplib::Headers headers = {{"transfer-type", "chunked"}};
  auto res = cli_->Post(
      ("/v1/chunk/" + sha256_hex(key) + "?ufsFullPath=" + key + "&chunkSize=65536").c_str(),
      headers,
      [&](size_t offset, httplib::DataSink& sink) {
        if (offset < data.size()) {
          sink.write(data.data() + offset, std::min<size_t>(10000, data.size() - offset));
        } else {
          sink.done();
        }
        return true;
      },
      "application/octet-stream");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(read_file(root_ / "big.bin"), data);
  EXPECT_EQ(get_json("/debug/pages").size(), 0u);

  auto back = cli_->Get(
      ("/v1/chunk/" + sha256_hex(key) + "?ufsFullPath=" + key + "&chunkSize=4096").c_str());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->body, data);
  EXPECT_EQ(back->get_header_value("Transfer-Encoding"), "chunked");
}

TEST_F(FakeWorkerTest, OssModeClosesWithoutReplyOnMiss) {
  start({"--mode", "oss"});
  const std::string key = "s3://bkt/big.bin";
  RawReply miss = raw_exchange(worker_->port(), get_request(page_url(key, 0)));
  EXPECT_TRUE(miss.closed);
  EXPECT_EQ(miss.bytes, "");
  RawReply range = raw_exchange(worker_->port(), get_request("/v1/range/x?ufsFullPath=" + key));
  EXPECT_TRUE(range.closed);
  EXPECT_EQ(range.bytes, "");
  RawReply no_file = raw_exchange(worker_->port(), get_request("/v1/info?path=s3://bkt/nope"));
  EXPECT_TRUE(no_file.closed);
  EXPECT_EQ(no_file.bytes, "");

  json info = get_json("/v1/info?path=" + key);
  ASSERT_TRUE(info.is_array());
  EXPECT_FALSE(info[0].contains("mContentHash"));
  json job = get_json("/v1/load?path=s3://bkt&opType=submit");
  EXPECT_EQ(job["success"], true);
  EXPECT_EQ(get_json("/v1/load?path=s3://bkt&opType=progress")["jobState"], "SUCCEEDED");
  auto page = cli_->Get(("/v1/file/" + sha256_hex(key) + "/page/2").c_str());
  ASSERT_TRUE(page);
  EXPECT_EQ(page->body, big_.substr(2 * kPage));
}

TEST_F(FakeWorkerTest, FailNextActionsAndSigtermDuringHang) {
  start();
  const std::string url = page_url("s3://bkt/big.bin", 0);
  set_faults({{"fail_next", {{"endpoint", "get_page"}, {"count", 2}, {"action", "status:500"}}}});
  for (int i = 0; i < 2; ++i) {
    auto res = cli_->Get(url.c_str());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 500);
  }
  auto ok = cli_->Get(url.c_str());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);

  set_faults({{"fail_next", {{"endpoint", "get_page"}, {"count", 1}, {"action", "drop"}}}});
  RawReply drop = raw_exchange(worker_->port(), get_request(url));
  EXPECT_TRUE(drop.closed);
  EXPECT_EQ(drop.bytes, "");

  set_faults({{"fail_next", {{"endpoint", "get_page"}, {"count", 1}, {"action", "truncate"}}}});
  RawReply cut = raw_exchange(worker_->port(), get_request(url));
  EXPECT_TRUE(cut.closed);
  size_t body_at = cut.bytes.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos);
  EXPECT_NE(cut.bytes.find("Content-Length: " + std::to_string(kPage)), std::string::npos);
  EXPECT_EQ(cut.bytes.size() - body_at - 4, static_cast<size_t>(kPage / 2));

  set_faults({{"malformed_json_rate", 1.0}});
  auto bad = cli_->Get("/v1/info?path=s3://bkt/a.csv");
  ASSERT_TRUE(bad);
  EXPECT_TRUE(json::parse(bad->body, nullptr, false).is_discarded());
  set_faults(json::object());

  set_faults({{"fail_next", {{"endpoint", "info"}, {"count", 1}, {"action", "hang"}}}});
  RawReply hung = raw_exchange(worker_->port(), get_request("/v1/info?path=s3://bkt/a.csv"), 300);
  EXPECT_TRUE(hung.timed_out);
  EXPECT_EQ(hung.bytes, "");
  // A hang in progress must not block shutdown.
  set_faults({{"hang", true}});
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(worker_->port()));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string req = get_request("/v1/info?path=s3://bkt/a.csv");
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  auto counted = get_json("/debug/requests");  // the hung request has been received
  EXPECT_GE(counted["by_endpoint"]["info"].get<int>(), 2);
  EXPECT_EQ(worker_->terminate(), 0);
  close(fd);
}

TEST_F(FakeWorkerTest, HostileNamesInListings) {
  start({"--hostile-names"});
  auto res = cli_->Get("/v1/files?path=s3://bkt/dir");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const std::string& b = res->body;
  for (const std::string& needle :
       {std::string(R"("mName":"..")"), std::string(R"("mName":".")"),
        std::string(R"("mName":"a/b")"), std::string(R"(\u0000)"), std::string(R"(\udc80)"),
        std::string(R"("mType":"symlink")"), std::string(300, 'x')}) {
    EXPECT_NE(b.find(needle), std::string::npos) << needle;
  }
  size_t dup = 0;
  for (size_t p = 0; (p = b.find(R"("mName":"x.txt")", p)) != std::string::npos; ++p) ++dup;
  EXPECT_EQ(dup, 2u);
  set_faults(json::object());
  json clean = get_json("/v1/files?path=s3://bkt/dir");
  EXPECT_EQ(clean.size(), 1u);
}

TEST_F(FakeWorkerTest, NodeUsesTheRingOfPeers) {
  start({"--peers", "10.0.0.1:28080,10.0.0.2:28081,10.0.0.3:28082", "--vnodes", "5"});
  // routing.md §2 worked example: this key's first pick is 10.0.0.3.
  json n = get_json("/v1/node?path=s3://my-bucket/datasets/train/part-00000.parquet");
  EXPECT_EQ(n["Host"], "10.0.0.3");
  EXPECT_EQ(n["HttpServerPort"], 28082);
  json info = get_json("/v1/ufsInfo");
  EXPECT_TRUE(info.contains("s3://bkt"));
  EXPECT_EQ(worker_->terminate(), 0);
}

}  // namespace
