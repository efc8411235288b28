// test-deps: af_test_support
// ClusterStore over a scripted http::Client: failover order, suspect demotion, 503/500/
// bad_response handling, misses, the parent check, retries and backoff, deadlines, mutation
// verification, fallback and counters. Deterministic: no network, a FakeClock, and a sleep
// function that only records (and advances the fake clock).
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "alluxio_fuse/cluster/membership.h"
#include "alluxio_fuse/cluster/router.h"
#include "alluxio_fuse/router/attempt_tap.h"
#include "alluxio_fuse/router/cluster_store.h"
#include "alluxio_fuse/worker/worker_client.h"
#include "memory_store.h"

namespace alluxio_fuse::router {
namespace {

using common::Code;
using std::chrono::milliseconds;

constexpr const char* kRoot = "s3://bkt";
constexpr const char* kKey = "s3://bkt/dir/a.bin";
constexpr size_t kPage = 16;

struct Call {
  std::string host;
  std::string endpoint;  // info, list, get_page, range, mkdir, rm, mv, chunk_write
  std::string url;
};

std::string endpoint_of(const std::string& url) {
  for (const char* e : {"/v1/info", "/v1/files", "/v1/range/", "/v1/mkdir/", "/v1/rm/", "/v1/mv/",
                        "/v1/chunk/", "/v1/node"}) {
    if (url.find(e) != std::string::npos) {
      static const std::map<std::string, std::string> kNames = {
          {"/v1/info", "info"},          {"/v1/files", "list"}, {"/v1/range/", "range"},
          {"/v1/mkdir/", "mkdir"},       {"/v1/rm/", "rm"},     {"/v1/mv/", "mv"},
          {"/v1/chunk/", "chunk_write"}, {"/v1/node", "node"}};
      return kNames.at(e);
    }
  }
  if (url.find("/page/") != std::string::npos) return "get_page";
  return "other";
}

http::Response reply(http::State state, long status = 0, std::string body = "") {
  http::Response r;
  r.state = state;
  r.status = status;
  r.body = std::move(body);
  return r;
}
http::Response ok(std::string body) { return reply(http::State::kOk, 200, std::move(body)); }
http::Response refused() { return reply(http::State::kRefused); }
http::Response timeout() { return reply(http::State::kTimeout); }
http::Response no_reply() { return reply(http::State::kNoReply); }
http::Response unavailable503() {
  return reply(http::State::kHttp5xx, 503, R"({"message":"busy"})");
}
http::Response error500() { return reply(http::State::kHttp5xx, 500, R"({"message":"boom"})"); }
http::Response not_found() {
  return reply(http::State::kNotFound, 404, R"({"message":"File does not exist"})");
}

std::string file_json(const std::string& name, uint64_t size) {
  return R"({"mType":"file","mName":")" + name + R"(","mLength":)" + std::to_string(size) +
         R"(,"mLastModificationTimeMs":1700000000000})";
}
std::string dir_json(const std::string& name) {
  return R"({"mType":"directory","mName":")" + name + R"(","mLength":0})";
}

// Answers each request with the handler's reply; copies bodies into Request::out the way the
// curl client does (a body over out_cap is bad_response).
class ScriptedHttp final : public http::Client {
 public:
  using Handler = std::function<http::Response(const Call&)>;
  void set(Handler h) {
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(h);
  }
  http::Response perform(const http::Request& req) override {
    Call call;
    const size_t host_start = req.url.find("://") + 3;
    const size_t colon = req.url.find(':', host_start);
    call.host = req.url.substr(host_start, colon - host_start);
    call.endpoint = endpoint_of(req.url);
    call.url = req.url;
    Handler h;
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(call);
      last_request_ = req;
      h = handler_;
    }
    http::Response r = h(call);
    if (r.state == http::State::kOk && req.out != nullptr) {
      if (r.body.size() > req.out_cap) return reply(http::State::kBadResponse);
      std::copy(r.body.begin(), r.body.end(), req.out);
      r.body_bytes = r.body.size();
      r.body.clear();
    } else {
      r.body_bytes = r.body.size();
    }
    return r;
  }
  void cancel_all() override {}

  std::vector<Call> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<std::string> hosts(const std::string& endpoint) {
    std::vector<std::string> out;
    for (const Call& c : calls()) {
      if (c.endpoint == endpoint) out.push_back(c.host);
    }
    return out;
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.clear();
  }
  http::Request last_request() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_request_;
  }

 private:
  std::mutex mu_;
  Handler handler_ = [](const Call&) { return refused(); };
  std::vector<Call> calls_;
  http::Request last_request_;
};

class ClusterStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { build(ClusterStoreOptions{}); }

  void build(ClusterStoreOptions o, worker::WorkerApi api = worker::WorkerApi::kAuto,
             bool with_ufs = true) {
    store_.reset();
    auto m = cluster::StaticMembership::create(
        {{"10.0.0.1", 28080}, {"10.0.0.2", 28080}, {"10.0.0.3", 28080}}, 5);
    ASSERT_TRUE(m.ok());
    membership_ = std::move(m).value();
    router_ = std::make_unique<cluster::Router>(*membership_, cluster::RouterOptions{}, clock_);
    tap_ = std::make_unique<AttemptTap>(http_, clock_);
    worker::WorkerClientOptions wo;
    wo.page_size = kPage;
    wo.api = api;
    workers_ = std::make_unique<worker::WorkerClient>(*tap_, wo, clock_);
    o.page_size = kPage;
    o.jitter_seed = 42;
    store_ = std::make_unique<ClusterStore>(*router_, *workers_, with_ufs ? &ufs_ : nullptr, o,
                                            clock_, [this](common::Duration d) {
                                              sleeps_.push_back(d);
                                              clock_.advance(d);
                                            });
    order_.clear();
    for (const cluster::Worker& w : router_->candidates(kKey)) order_.push_back(w.address.host);
    ASSERT_EQ(order_.size(), 3u);
  }

  common::FakeClock clock_;
  ScriptedHttp http_;
  testing::MemoryStore ufs_{kRoot};
  std::unique_ptr<cluster::Membership> membership_;
  std::unique_ptr<cluster::Router> router_;
  std::unique_ptr<AttemptTap> tap_;
  std::unique_ptr<worker::WorkerClient> workers_;
  std::unique_ptr<ClusterStore> store_;
  std::vector<common::Duration> sleeps_;
  std::vector<std::string> order_;  // candidate hosts of kKey, in preference order
};

TEST_F(ClusterStoreTest, FailsOverInCandidateOrderAndMarksOnlyRefusedSuspect) {
  http_.set([&](const Call& c) {
    if (c.host == order_[0]) return refused();
    if (c.host == order_[1]) return unavailable503();
    return ok("[" + file_json("a.bin", 10) + "]");
  });
  auto r = store_->stat(kKey);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->size, 10u);
  EXPECT_EQ(http_.hosts("info"), order_);
  EXPECT_EQ(store_->stats().failovers.load(), 2u);
  EXPECT_TRUE(router_->is_suspect({order_[0], 28080}));
  EXPECT_FALSE(router_->is_suspect({order_[1], 28080}));  // 503 is an answer, not "down"
  EXPECT_EQ(router_->suspect_count(), 1);
}

TEST_F(ClusterStoreTest, SuspectWorkerIsTriedLast) {
  http_.set([&](const Call& c) {
    return c.host == order_[0] ? refused() : ok("[" + file_json("a.bin", 10) + "]");
  });
  ASSERT_TRUE(store_->stat(kKey).ok());
  http_.clear();
  ASSERT_TRUE(store_->stat(kKey).ok());
  EXPECT_EQ(http_.hosts("info"), std::vector<std::string>{order_[1]});
  // After the suspect window (5 s) it is first again, and its answer clears suspicion.
  clock_.advance(std::chrono::seconds(6));
  http_.set([&](const Call&) { return ok("[" + file_json("a.bin", 10) + "]"); });
  http_.clear();
  ASSERT_TRUE(store_->stat(kKey).ok());
  EXPECT_EQ(http_.hosts("info"), std::vector<std::string>{order_[0]});
  EXPECT_EQ(router_->suspect_count(), 0);
}

TEST_F(ClusterStoreTest, ServerErrorMovesOnOnceThenFallsBack) {
  ufs_.put_file(kKey, "0123456789");
  http_.set([&](const Call&) { return error500(); });
  auto r = store_->stat(kKey);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(http_.hosts("info").size(), 2u);  // one extra candidate at most
  EXPECT_EQ(store_->stats().fallback_server_error.load(), 1u);
  EXPECT_EQ(ufs_.stat_calls.load(), 1);
  EXPECT_TRUE(store_->in_fallback_episode());
  // Workers answer again: the episode ends.
  http_.set([&](const Call&) { return ok("[" + file_json("a.bin", 10) + "]"); });
  ASSERT_TRUE(store_->stat(kKey).ok());
  EXPECT_FALSE(store_->in_fallback_episode());
}

TEST_F(ClusterStoreTest, BadResponseMovesToNextCandidateOnce) {
  http_.set([&](const Call& c) {
    return c.host == order_[0] ? ok("[{\"mType\":") : ok("[" + file_json("a.bin", 3) + "]");
  });
  auto r = store_->stat(kKey);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(http_.hosts("info"), (std::vector<std::string>{order_[0], order_[1]}));
  EXPECT_FALSE(router_->is_suspect({order_[0], 28080}));
}

TEST_F(ClusterStoreTest, BadResponseEverywhereIsEioWithoutFallback) {
  ufs_.put_file(kKey, "x");
  http_.set([&](const Call&) { return ok("{not json"); });
  auto r = store_->stat(kKey);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kIo);
  EXPECT_EQ(http_.hosts("info").size(), 2u);
  EXPECT_EQ(ufs_.stat_calls.load(), 0);
}

TEST_F(ClusterStoreTest, AnswersStopTheSearch) {
  ufs_.put_file(kKey, "x");
  http_.set([&](const Call&) { return not_found(); });
  auto r = store_->stat(kKey);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(http_.calls().size(), 1u);
  EXPECT_EQ(ufs_.stat_calls.load(), 0);  // a 404 is authoritative: no fallback

  http_.clear();
  http_.set([&](const Call&) { return reply(http::State::kHttp4xx, 403, "{}"); });
  EXPECT_EQ(store_->stat(kKey).status().code(), Code::kPermission);
  EXPECT_EQ(http_.calls().size(), 1u);
}

TEST_F(ClusterStoreTest, PageReadGoesToFirstCandidateAndUsesOnePageRequest) {
  http_.set([&](const Call&) { return ok("abcdefghij"); });
  std::vector<char> buf(kPage);
  store::ReadRequest req{kKey, 2 * kPage + 3, 10, std::nullopt};
  auto r = store_->read(req, buf.data());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->bytes, 10u);
  EXPECT_EQ(r->source, store::Source::kWorker);
  EXPECT_EQ(std::string(buf.data(), 10), "abcdefghij");
  ASSERT_EQ(http_.calls().size(), 1u);
  EXPECT_EQ(http_.calls()[0].host, order_[0]);
  EXPECT_NE(http_.calls()[0].url.find("/page/2?offset=3&length=10"), std::string::npos)
      << http_.calls()[0].url;
}

TEST_F(ClusterStoreTest, ReadAcrossPagesUsesRange) {
  http_.set([&](const Call&) { return ok(std::string(20, 'r')); });
  std::vector<char> buf(20);
  store::ReadRequest req{kKey, kPage - 4, 20, std::nullopt};
  auto r = store_->read(req, buf.data());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->bytes, 20u);
  EXPECT_EQ(http_.calls().at(0).endpoint, "range");
}

TEST_F(ClusterStoreTest, MissOnReadGoesStraightToUfs) {
  ufs_.put_file(kKey, std::string(kPage, 'u'));
  http_.set([&](const Call&) { return no_reply(); });
  std::vector<char> buf(kPage);
  auto r = store_->read({kKey, 0, kPage, kPage}, buf.data());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->source, store::Source::kUfs);
  EXPECT_EQ(r->bytes, kPage);
  EXPECT_EQ(buf[0], 'u');
  EXPECT_EQ(http_.calls().size(), 1u);  // other workers do not hold it either
  EXPECT_EQ(store_->stats().fallback_miss.load(), 1u);
  EXPECT_EQ(store_->stats().failovers.load(), 0u);
  EXPECT_FALSE(router_->is_suspect({order_[0], 28080}));  // a miss is not "down"
}

TEST_F(ClusterStoreTest, MissWithFallbackDisabledIsEio) {
  ClusterStoreOptions o;
  o.fallback_enabled = false;
  build(o);
  ufs_.put_file(kKey, std::string(kPage, 'u'));
  http_.set([&](const Call&) { return no_reply(); });
  std::vector<char> buf(kPage);
  auto r = store_->read({kKey, 0, kPage, kPage}, buf.data());
  EXPECT_EQ(r.status().code(), Code::kIo);
  EXPECT_EQ(ufs_.read_calls.load(), 0);
}

TEST_F(ClusterStoreTest, AllRefusedRetriesRoundsWithBackoffThenFallsBackOrFails) {
  ClusterStoreOptions o;
  o.retries = 2;
  o.fallback_enabled = false;
  build(o);
  http_.set([&](const Call&) { return refused(); });
  auto r = store_->stat(kKey);
  EXPECT_EQ(r.status().code(), Code::kIo);
  EXPECT_EQ(http_.calls().size(), 9u);  // 3 candidates x (1 + 2 rounds)
  EXPECT_EQ(store_->stats().rounds.load(), 2u);
  EXPECT_EQ(store_->stats().failovers.load(), 6u);
  ASSERT_EQ(sleeps_.size(), 2u);
  EXPECT_GE(sleeps_[0], milliseconds(80));
  EXPECT_LE(sleeps_[0], milliseconds(120));
  EXPECT_GE(sleeps_[1], milliseconds(160));
  EXPECT_LE(sleeps_[1], milliseconds(240));

  build(ClusterStoreOptions{});  // fallback on (default)
  ufs_.put_file(kKey, "x");
  auto f = store_->stat(kKey);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(store_->stats().fallback_unavailable.load(), 1u);
}

TEST_F(ClusterStoreTest, BackoffIsCappedAndJittered) {
  ClusterStoreOptions o;
  o.retries = 6;
  o.backoff_initial = milliseconds(100);
  o.backoff_max = milliseconds(300);
  o.metadata_timeout = std::chrono::seconds(100);
  o.fallback_enabled = false;
  build(o);
  http_.set([&](const Call&) { return refused(); });
  (void)store_->stat(kKey);
  ASSERT_EQ(sleeps_.size(), 6u);
  for (size_t i = 2; i < sleeps_.size(); ++i) EXPECT_LE(sleeps_[i], milliseconds(300));
  EXPECT_GE(sleeps_[5], milliseconds(240));
}

TEST_F(ClusterStoreTest, DeadlineBoundsTheRounds) {
  ClusterStoreOptions o;
  o.retries = 10;
  o.metadata_timeout = milliseconds(250);
  o.fallback_enabled = false;
  build(o);
  http_.set([&](const Call&) { return refused(); });
  const auto start = clock_.now();
  auto r = store_->stat(kKey);
  EXPECT_EQ(r.status().code(), Code::kIo);
  EXPECT_LE(clock_.now() - start, milliseconds(250));
  EXPECT_LT(store_->stats().rounds.load(), 10u);
  // Every attempt was clamped to what was left of the deadline.
  EXPECT_LE(http_.last_request().total_timeout, milliseconds(250));
}

TEST_F(ClusterStoreTest, TimeoutEverywhereFallsBackAsTimeout) {
  ClusterStoreOptions o;
  o.retries = 0;
  build(o);
  ufs_.put_file(kKey, "x");
  http_.set([&](const Call&) { return timeout(); });
  ASSERT_TRUE(store_->stat(kKey).ok());
  EXPECT_EQ(store_->stats().fallback_timeout.load(), 1u);
  EXPECT_EQ(router_->suspect_count(), 3);
}

TEST_F(ClusterStoreTest, InfoMissRunsTheParentCheck) {
  const std::string parent = "s3://bkt/dir";
  // Parent lists the name: that entry is the answer.
  http_.set([&](const Call& c) {
    if (c.endpoint == "info") return no_reply();
    return ok("[" + file_json("a.bin", 77) + "," + file_json("b.bin", 1) + "]");
  });
  auto r = store_->stat(kKey);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->size, 77u);
  EXPECT_EQ(r->name, "a.bin");
  ASSERT_EQ(http_.calls().size(), 2u);
  EXPECT_EQ(http_.calls()[1].endpoint, "list");
  EXPECT_NE(http_.calls()[1].url.find("path=s3://bkt/dir"), std::string::npos);

  // Parent lacks the name: ENOENT, no fallback.
  http_.set([&](const Call& c) {
    if (c.endpoint == "info") return no_reply();
    return ok("[" + file_json("b.bin", 1) + "]");
  });
  EXPECT_EQ(store_->stat(kKey).status().code(), Code::kNotFound);
  EXPECT_EQ(ufs_.stat_calls.load(), 0);

  // The listing misses too: fallback rules.
  ufs_.put_file(kKey, "xyz");
  http_.set([&](const Call&) { return no_reply(); });
  auto f = store_->stat(kKey);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->size, 3u);
  EXPECT_EQ(store_->stats().fallback_miss.load(), 1u);
}

TEST_F(ClusterStoreTest, ListingCountsRejectedEntries) {
  http_.set([&](const Call&) {
    return ok("[" + file_json("good", 1) + "," + file_json("..", 1) + "," + file_json("a/b", 1) +
              "," + dir_json("sub") + "]");
  });
  auto r = store_->list("s3://bkt/dir");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->size(), 2u);
  EXPECT_EQ(store_->stats().bad_entries.load(), 2u);
}

TEST_F(ClusterStoreTest, MkdirTimeoutVerifiedAsDoneIsOk) {
  http_.set([&](const Call& c) {
    if (c.endpoint == "mkdir") return timeout();
    return ok("[" + dir_json("a.bin") + "]");
  });
  EXPECT_TRUE(store_->mkdir(kKey).ok());
  EXPECT_EQ(http_.hosts("mkdir").size(), 1u);  // verified, not repeated
}

TEST_F(ClusterStoreTest, RmUnknownOutcomeRetriesOnceThenEio) {
  http_.set([&](const Call& c) {
    if (c.endpoint == "rm") return error500();
    return ok("[" + file_json("a.bin", 1) + "]");  // still there
  });
  auto s = store_->remove(kKey, false);
  EXPECT_EQ(s.code(), Code::kIo);
  EXPECT_EQ(http_.hosts("rm").size(), 2u);
  EXPECT_EQ(ufs_.stat_calls.load(), 0);

  // Verification sees it gone: success.
  http_.clear();
  http_.set([&](const Call& c) { return c.endpoint == "rm" ? error500() : not_found(); });
  EXPECT_TRUE(store_->remove(kKey, false).ok());
  EXPECT_EQ(http_.hosts("rm").size(), 1u);
}

TEST_F(ClusterStoreTest, RenamePartialMoveIsEio) {
  http_.set([&](const Call& c) {
    if (c.endpoint == "mv") return timeout();
    return ok("[" + file_json("x", 1) + "]");  // both source and destination exist
  });
  EXPECT_EQ(store_->rename(kKey, "s3://bkt/dir/b.bin").code(), Code::kIo);
  EXPECT_EQ(http_.hosts("mv").size(), 1u);
}

TEST_F(ClusterStoreTest, MutationRefusedEverywhereNeedsWriteFallback) {
  ufs_.put_dir("s3://bkt/dir");
  http_.set([&](const Call&) { return refused(); });
  EXPECT_EQ(store_->mkdir("s3://bkt/dir/new").code(), Code::kIo);

  ClusterStoreOptions o;
  o.fallback_writes = true;
  build(o);
  http_.set([&](const Call&) { return refused(); });
  EXPECT_TRUE(store_->mkdir("s3://bkt/dir/new").ok());
  EXPECT_TRUE(ufs_.stat("s3://bkt/dir/new").ok());
}

TEST_F(ClusterStoreTest, OssMutationsNeverReachWorkers) {
  ClusterStoreOptions o;
  o.oss = true;
  build(o, worker::WorkerApi::kOss);
  EXPECT_EQ(store_->mkdir("s3://bkt/new").code(), Code::kReadOnly);
  EXPECT_EQ(store_->remove(kKey, false).code(), Code::kReadOnly);
  EXPECT_TRUE(http_.calls().empty());

  o.fallback_writes = true;
  build(o, worker::WorkerApi::kOss);
  ufs_.put_dir("s3://bkt");
  EXPECT_TRUE(store_->mkdir("s3://bkt/new").ok());
  EXPECT_TRUE(http_.calls().empty());
  EXPECT_EQ(store_->stats().fallback_unsupported.load(), 1u);
}

TEST_F(ClusterStoreTest, UploadUnknownOutcomeIsRepeatedOnce) {
  int uploads = 0;
  http_.set([&](const Call& c) {
    if (c.endpoint != "chunk_write") return refused();
    return ++uploads == 1 ? timeout() : ok(R"({"success":true,"message":""})");
  });
  EXPECT_TRUE(store_->write_file(kKey, -1, 0).ok());
  EXPECT_EQ(uploads, 2);

  uploads = 0;
  http_.set([&](const Call&) {
    ++uploads;
    return error500();
  });
  EXPECT_EQ(store_->write_file(kKey, -1, 0).code(), Code::kIo);
  EXPECT_EQ(uploads, 2);
}

TEST_F(ClusterStoreTest, NoUfsMeansEio) {
  build(ClusterStoreOptions{}, worker::WorkerApi::kAuto, /*with_ufs=*/false);
  http_.set([&](const Call&) { return refused(); });
  EXPECT_EQ(store_->stat(kKey).status().code(), Code::kIo);
}

TEST(AttemptTapTest, ClampsToDeadlineAndRecordsState) {
  common::FakeClock clock;
  ScriptedHttp inner;
  inner.set([](const Call&) { return reply(http::State::kHttp5xx, 503); });
  AttemptTap tap(inner, clock);
  http::Request req;
  req.url = "http://h:1/v1/info?path=x";
  req.total_timeout = milliseconds(10000);
  req.connect_timeout = milliseconds(2000);
  {
    AttemptTap::Scope scope(clock.now() + milliseconds(700));
    EXPECT_EQ(tap.perform(req).status, 503);
    EXPECT_EQ(inner.last_request().total_timeout, milliseconds(700));
    EXPECT_EQ(inner.last_request().connect_timeout, milliseconds(700));
    EXPECT_EQ(scope.take(), http::State::kHttp5xx);
    EXPECT_EQ(scope.take(), std::nullopt);
    clock.advance(milliseconds(800));
    EXPECT_EQ(tap.perform(req).state, http::State::kTimeout);  // no time left: not sent
    EXPECT_EQ(inner.calls().size(), 1u);
    EXPECT_EQ(scope.take(), std::nullopt);  // a worker that was never asked is not suspect
  }
  // Outside a scope: unchanged.
  tap.perform(req);
  EXPECT_EQ(inner.last_request().total_timeout, milliseconds(10000));
}

}  // namespace
}  // namespace alluxio_fuse::router
