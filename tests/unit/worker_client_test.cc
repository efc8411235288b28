// test-deps: cpp-httplib
// WorkerClient over a scripted fake http::Client (request shape, length checks, oss/auto modes)
// and over the real libcurl client against an in-process httplib worker (size limits).
#include "alluxio_fuse/worker/worker_client.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

namespace alluxio_fuse::worker {
namespace {

using common::Code;
using namespace std::chrono_literals;

struct Seen {
  std::string method, url, metric;
  std::chrono::milliseconds total, stall;
  size_t out_cap, max_body;
  bool chunked;
  int upload_fd;
  uint64_t upload_size;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Scripted http::Client: `handler` answers; a body for `out` is copied like the real client.
class FakeClient : public http::Client {
 public:
  std::function<http::Response(const http::Request&)> handler;
  std::vector<Seen> seen;

  http::Response perform(const http::Request& r) override {
    seen.push_back({r.method, r.url, std::string(r.metric_method), r.total_timeout, r.stall_timeout,
                    r.out_cap, r.max_body, r.chunked, r.upload_fd, r.upload_size, r.headers});
    http::Response resp = handler(r);
    if (r.out != nullptr && resp.state == http::State::kOk) {
      if (resp.body.size() > r.out_cap) {
        resp.state = http::State::kBadResponse;
      } else {
        std::memcpy(r.out, resp.body.data(), resp.body.size());
        resp.body_bytes = resp.body.size();
        resp.body.clear();
      }
    }
    return resp;
  }
  void cancel_all() override {}
};

http::Response ok(std::string body = "") {
  http::Response r;
  r.state = http::State::kOk;
  r.status = 200;
  r.body = std::move(body);
  return r;
}
http::Response status(http::State state, long code) {
  http::Response r;
  r.state = state;
  r.status = code;
  return r;
}

const WorkerAddress kAddr{"w1", 28080};
constexpr size_t kPage = 16;

WorkerClientOptions options(WorkerApi api) {
  WorkerClientOptions o;
  o.page_size = kPage;
  o.metadata_timeout = 1111ms;
  o.data_timeout = 2222ms;
  o.stall_timeout = 3333ms;
  o.upload_chunk_size = 4096;
  o.api = api;
  return o;
}

TEST(WorkerClient, PageRequestsAndLengthChecks) {
  FakeClient fake;
  std::string body(kPage, 'p');
  fake.handler = [&](const http::Request&) { return ok(body); };
  WorkerClient wc(fake, options(WorkerApi::kAuto));
  char buf[kPage];
  auto full = wc.read_page(kAddr, "s3://b/f", 2, 0, kPage, buf, /*known_size=*/100);
  ASSERT_TRUE(full.ok()) << full.status().to_string();
  EXPECT_EQ(full.value(), kPage);
  ASSERT_EQ(fake.seen.size(), 1u);
  EXPECT_EQ(fake.seen[0].url,
            "http://w1:28080/v1/file/" + path_id("s3://b/f") + "/page/2?ufsFullPath=s3://b/f");
  EXPECT_EQ(fake.seen[0].metric, "get_page");
  EXPECT_EQ(fake.seen[0].total, 2222ms);
  EXPECT_EQ(fake.seen[0].out_cap, kPage);

  // The last page of a 40-byte file is 8 bytes: exactly 8 is fine, 16 is too long, 5 too short.
  body.assign(8, 'x');
  EXPECT_EQ(wc.read_page(kAddr, "s3://b/f", 2, 0, kPage, buf, 40).value(), 8u);
  body.assign(kPage, 'x');
  EXPECT_EQ(wc.read_page(kAddr, "s3://b/f", 2, 0, kPage, buf, 40).status().code(),
            Code::kBadResponse);
  body.assign(5, 'x');
  auto short_page = wc.read_page(kAddr, "s3://b/f", 2, 0, kPage, buf, 40);
  EXPECT_EQ(short_page.status().code(), Code::kIo);
  EXPECT_NE(short_page.status().message().find("page.size"), std::string::npos);
  // Unknown size: a short page is simply EOF.
  EXPECT_EQ(wc.read_page(kAddr, "s3://b/f", 2, 0, kPage, buf).value(), 5u);
  // Partial request: offset/length in the URL, expected length from the slice.
  body.assign(4, 'y');
  EXPECT_EQ(wc.read_page(kAddr, "s3://b/f", 1, 3, 4, buf, 100).value(), 4u);
  EXPECT_EQ(fake.seen.back().url, "http://w1:28080/v1/file/" + path_id("s3://b/f") +
                                      "/page/1?offset=3&length=4&ufsFullPath=s3://b/f");
  EXPECT_EQ(fake.seen.back().out_cap, 4u);
  // A body longer than requested never fits the buffer.
  body.assign(5, 'y');
  EXPECT_EQ(wc.read_page(kAddr, "s3://b/f", 1, 3, 4, buf).status().code(), Code::kBadResponse);
  // Range reads: same checks.
  body.assign(10, 'r');
  EXPECT_EQ(wc.read_range(kAddr, "s3://b/f", 95, 10, buf, 100).status().code(), Code::kBadResponse);
  body.assign(5, 'r');
  EXPECT_EQ(wc.read_range(kAddr, "s3://b/f", 95, 10, buf, 100).value(), 5u);
  EXPECT_EQ(fake.seen.back().metric, "range");
}

TEST(WorkerClient, TlsMakesEveryCallHttps) {
  FakeClient fake;
  fake.handler = [&](const http::Request&) { return ok("[]"); };
  WorkerClientOptions o = options(WorkerApi::kEnterprise);
  o.tls = true;
  WorkerClient wc(fake, o);
  char buf[kPage];
  (void)wc.read_page(kAddr, "s3://b/f", 0, 0, kPage, buf);
  (void)wc.info(kAddr, "s3://b/f");
  (void)wc.list(kAddr, "s3://b/d");
  (void)wc.mkdir(kAddr, "s3://b/d2");
  ASSERT_EQ(fake.seen.size(), 4u);
  for (const Seen& s : fake.seen) {
    EXPECT_TRUE(s.url.starts_with("https://w1:28080/v1/")) << s.url;
  }
  // Off (the default): plain http.
  FakeClient plain;
  plain.handler = fake.handler;
  WorkerClient wp(plain, options(WorkerApi::kEnterprise));
  (void)wp.info(kAddr, "s3://b/f");
  ASSERT_EQ(plain.seen.size(), 1u);
  EXPECT_TRUE(plain.seen[0].url.starts_with("http://w1:28080/")) << plain.seen[0].url;
}

TEST(WorkerClient, MetadataCallsUseMetadataTimeoutAndLimits) {
  FakeClient fake;
  std::string body = "[]";
  fake.handler = [&](const http::Request&) { return ok(body); };
  WorkerClient wc(fake, options(WorkerApi::kEnterprise));
  EXPECT_EQ(wc.info(kAddr, "s3://b/x").status().code(), Code::kNotFound);
  EXPECT_EQ(fake.seen.back().url, "http://w1:28080/v1/info?path=s3://b/x");
  EXPECT_EQ(fake.seen.back().metric, "info");
  EXPECT_EQ(fake.seen.back().total, 1111ms);
  EXPECT_EQ(fake.seen.back().max_body, kMaxJsonReply);
  body = R"([{"mType":"file","mName":"a","mLength":1},{"mType":"file","mName":"..","mLength":1}])";
  auto listing = wc.list(kAddr, "s3://b");
  ASSERT_TRUE(listing.ok());
  EXPECT_EQ(listing->entries.size(), 1u);
  EXPECT_EQ(listing->rejected, 1u);
  EXPECT_EQ(fake.seen.back().metric, "list");
  EXPECT_EQ(fake.seen.back().max_body, kMaxListingReply);
  body = R"({"Host":"10.1.1.1"})";
  auto owner = wc.node({"lb.example", 29000}, "s3://b/x");
  ASSERT_TRUE(owner.ok());
  EXPECT_EQ(owner->port, 29000);
  EXPECT_EQ(fake.seen.back().metric, "node");
  body = R"({"success":true,"jobId":"j1"})";
  EXPECT_EQ(wc.load_submit(kAddr, "s3://b/ds").value(), "j1");
  EXPECT_EQ(fake.seen.back().metric, "load");
  body = R"({"jobState":"SUCCEEDED"})";
  EXPECT_EQ(wc.load_progress(kAddr, "s3://b/ds")->state, LoadState::kSucceeded);
  EXPECT_EQ(fake.seen.back().url,
            "http://w1:28080/v1/load?path=s3://b/ds&opType=progress"
            "&verbose=false");
  body = R"({"s3://b/":{"alluxio_path":"/"}})";
  EXPECT_EQ(wc.ufs_info(kAddr)->at(0).ufs_uri, "s3://b");
  EXPECT_EQ(fake.seen.back().metric, "ufs_info");
}

TEST(WorkerClient, MutationsAndErrorMapping) {
  FakeClient fake;
  http::Response next = ok();
  fake.handler = [&](const http::Request&) { return next; };
  WorkerClient wc(fake, options(WorkerApi::kEnterprise));
  EXPECT_TRUE(wc.mkdir(kAddr, "s3://b/d").ok());
  EXPECT_EQ(fake.seen.back().method, "POST");
  EXPECT_EQ(fake.seen.back().metric, "mkdir");
  EXPECT_TRUE(wc.touch(kAddr, "s3://b/t").ok());
  EXPECT_EQ(fake.seen.back().metric, "touch");
  EXPECT_TRUE(wc.mv(kAddr, "s3://b/a", "s3://b/c").ok());
  EXPECT_EQ(fake.seen.back().metric, "mv");
  next = status(http::State::kHttp4xx, 409);
  next.body = R"({"message":"exists"})";
  auto st = wc.mkdir(kAddr, "s3://b/d");
  EXPECT_EQ(st.code(), Code::kExists);
  EXPECT_NE(st.message().find("exists"), std::string::npos);
  EXPECT_EQ(wc.rm(kAddr, "s3://b/d", false).code(), Code::kNotEmpty);
  EXPECT_EQ(fake.seen.back().metric, "rm");
  next = status(http::State::kNoReply, 0);
  EXPECT_EQ(wc.mv(kAddr, "s3://b/a", "s3://b/c").code(), Code::kBadResponse);  // enterprise
  next = status(http::State::kHttp5xx, 503);
  EXPECT_EQ(wc.touch(kAddr, "s3://b/t").code(), Code::kUnavailable);
}

TEST(WorkerClient, UploadIsChunkedStreamAndEmptyFallsBackToTouch) {
  FakeClient fake;
  fake.handler = [&](const http::Request& r) {
    if (r.metric_method == "chunk_write" && r.upload_size == 0) {
      return status(http::State::kHttp4xx, 400);
    }
    return ok();
  };
  WorkerClient wc(fake, options(WorkerApi::kEnterprise));
  EXPECT_TRUE(wc.upload(kAddr, "s3://b/f", 7, 1234).ok());
  ASSERT_EQ(fake.seen.size(), 1u);
  const Seen& s = fake.seen[0];
  EXPECT_EQ(s.method, "POST");
  EXPECT_EQ(s.url, "http://w1:28080/v1/chunk/" + path_id("s3://b/f") +
                       "?ufsFullPath=s3://b/f&chunkSize=4096");
  EXPECT_TRUE(s.chunked);
  EXPECT_EQ(s.upload_fd, 7);
  EXPECT_EQ(s.upload_size, 1234u);
  EXPECT_EQ(s.total, 0ms);
  EXPECT_EQ(s.stall, 3333ms);
  EXPECT_EQ(s.metric, "chunk_write");
  std::vector<std::pair<std::string, std::string>> want = {
      {"transfer-type", "chunked"}, {"Content-Type", "application/octet-stream"}};
  EXPECT_EQ(s.headers, want);
  EXPECT_TRUE(wc.upload(kAddr, "s3://b/empty", 7, 0).ok());
  ASSERT_EQ(fake.seen.size(), 3u);
  EXPECT_EQ(fake.seen[2].metric, "touch");
  EXPECT_EQ(fake.seen[2].url,
            "http://w1:28080/v1/touch/" + path_id("s3://b/empty") + "?ufsFullPath=s3://b/empty");
}

TEST(WorkerClient, OssModeOmitsUfsPathAndRefusesEnterpriseEndpoints) {
  FakeClient fake;
  fake.handler = [&](const http::Request&) { return status(http::State::kNoReply, 0); };
  WorkerClient wc(fake, options(WorkerApi::kOss));
  char buf[kPage];
  EXPECT_EQ(wc.read_page(kAddr, "s3://b/f", 0, 0, kPage, buf).status().code(), Code::kMiss);
  EXPECT_EQ(fake.seen.back().url, "http://w1:28080/v1/file/" + path_id("s3://b/f") + "/page/0");
  EXPECT_EQ(wc.info(kAddr, "s3://b/f").status().code(), Code::kMiss);
  const size_t sent = fake.seen.size();
  EXPECT_EQ(wc.mkdir(kAddr, "s3://b/d").code(), Code::kUnsupported);
  EXPECT_EQ(wc.upload(kAddr, "s3://b/d", 3, 1).code(), Code::kUnsupported);
  EXPECT_EQ(wc.read_range(kAddr, "s3://b/f", 0, 4, buf).status().code(), Code::kUnsupported);
  EXPECT_EQ(wc.node(kAddr, "s3://b/f").status().code(), Code::kUnsupported);
  EXPECT_EQ(fake.seen.size(), sent);  // none of them reached the worker
  EXPECT_TRUE(wc.treats_as_oss(kAddr));
}

TEST(WorkerClient, AutoModeDetectsOssAfterThreeNoReplies) {
  common::FakeClock clock;
  FakeClient fake;
  http::Response next = status(http::State::kNoReply, 0);
  fake.handler = [&](const http::Request&) { return next; };
  WorkerClient wc(fake, options(WorkerApi::kAuto), clock);
  const WorkerAddress other{"w2", 28080};
  EXPECT_EQ(wc.mkdir(kAddr, "s3://b/d").code(), Code::kMiss);
  EXPECT_EQ(wc.mkdir(kAddr, "s3://b/d").code(), Code::kMiss);
  next = status(http::State::kNotFound, 404);  // an HTTP status resets the streak
  EXPECT_EQ(wc.info(kAddr, "s3://b/x").status().code(), Code::kNotFound);
  next = status(http::State::kNoReply, 0);
  EXPECT_EQ(wc.mkdir(kAddr, "s3://b/d").code(), Code::kMiss);
  EXPECT_EQ(wc.mkdir(kAddr, "s3://b/d").code(), Code::kMiss);
  EXPECT_FALSE(wc.treats_as_oss(kAddr));
  EXPECT_EQ(wc.mkdir(kAddr, "s3://b/d").code(), Code::kMiss);
  EXPECT_TRUE(wc.treats_as_oss(kAddr));
  EXPECT_FALSE(wc.treats_as_oss(other));
  const size_t sent = fake.seen.size();
  EXPECT_EQ(wc.mkdir(kAddr, "s3://b/d").code(), Code::kUnsupported);
  EXPECT_EQ(fake.seen.size(), sent);
  char buf[kPage];
  next = ok(std::string(kPage, 'z'));
  EXPECT_TRUE(wc.read_page(kAddr, "s3://b/f", 0, 0, kPage, buf).ok());
  EXPECT_EQ(fake.seen.back().url.find("ufsFullPath"), std::string::npos);
  clock.advance(std::chrono::minutes(10));
  EXPECT_FALSE(wc.treats_as_oss(kAddr));
  next = ok();
  EXPECT_TRUE(wc.mkdir(kAddr, "s3://b/d").ok());
}

// A tiny worker on httplib, driven through the real libcurl client.
class HttplibWorker {
 public:
  HttplibWorker() {
    server_.set_tcp_nodelay(true);
    server_.Get("/v1/info", [this](const httplib::Request& req, httplib::Response& res) {
      std::string path = req.get_param_value("path");
      if (path == "s3://b/huge") {
        std::string big = R"([{"mType":"file","mName":"huge","mLength":1,"pad":")";
        big += std::string(10 << 20, 'x') + "\"}]";
        res.set_content(big, "application/json");
      } else if (path == "s3://b/a b") {
        res.set_content(R"([{"mType":"file","mName":"a b","mLength":3}])", "application/json");
      } else {
        res.status = 404;
        res.set_content(R"({"message":"File does not exist: )" + path + "\"}", "application/json");
      }
    });
    server_.Get(R"(/v1/file/([0-9a-f]+)/page/(\d+))", [](const httplib::Request& req,
                                                         httplib::Response& res) {
      size_t n = req.has_param("length") ? std::stoul(req.get_param_value("length")) : kPage;
      if (req.matches[2] == "9") ++n;  // a hostile worker: one byte too many
      res.set_content(std::string(n, 'd'), "application/octet-stream");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~HttplibWorker() {
    server_.stop();
    thread_.join();
  }
  WorkerAddress addr() const { return {"127.0.0.1", port_}; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

TEST(WorkerClientHttp, SizeLimitsAndErrorsThroughCurl) {
  HttplibWorker worker;
  auto client = http::make_curl_client({}, nullptr);
  // Generous deadlines: this test is about size limits, and under ThreadSanitizer the
  // in-process server takes over a second to send the oversized listing (a kTimeout then
  // stood where kBadResponse is asserted).
  WorkerClientOptions o = options(WorkerApi::kEnterprise);
  o.metadata_timeout = 30s;
  o.data_timeout = 30s;
  o.stall_timeout = 30s;
  WorkerClient wc(*client, o);
  auto info = wc.info(worker.addr(), "s3://b/a b");
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(info->name, "a b");
  EXPECT_EQ(info->size, 3u);
  EXPECT_EQ(wc.info(worker.addr(), "s3://b/huge").status().code(), Code::kBadResponse);
  auto missing = wc.info(worker.addr(), "s3://b/none");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("File does not exist: s3://b/none"), std::string::npos);
  char buf[kPage];
  EXPECT_EQ(wc.read_page(worker.addr(), "s3://b/f", 0, 0, kPage, buf).value(), kPage);
  EXPECT_EQ(wc.read_page(worker.addr(), "s3://b/f", 1, 2, 5, buf).value(), 5u);
  EXPECT_EQ(wc.read_page(worker.addr(), "s3://b/f", 9, 0, kPage, buf).status().code(),
            Code::kBadResponse);
}

}  // namespace
}  // namespace alluxio_fuse::worker
