// etcd membership against a scripted in-process http::Client: wire format, refresh rules,
// endpoint order, authentication, start-up deadline and the refresh thread.
#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>

#include "alluxio_fuse/cluster/etcd_membership.h"
#include "alluxio_fuse/cluster/etcd_wire.h"

namespace alluxio_fuse::cluster {
namespace {

using common::Code;
using nlohmann::json;

constexpr char kPrefixB64[] = "L1NlcnZpY2VEaXNjb3ZlcnkvRGVmYXVsdEFsbHV4aW9DbHVzdGVyLw==";
constexpr char kEndB64[] = "L1NlcnZpY2VEaXNjb3ZlcnkvRGVmYXVsdEFsbHV4aW9DbHVzdGVyMA==";

class ScriptedClient : public http::Client {
 public:
  using Handler = std::function<http::Response(const http::Request&)>;
  explicit ScriptedClient(Handler h) : handler_(std::move(h)) {}
  http::Response perform(const http::Request& request) override {
    Handler h;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(request);
      h = handler_;
    }
    http::Response r = h(request);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls_;
    }
    cv_.notify_all();
    return r;
  }
  void cancel_all() override {}
  void set_handler(Handler h) {
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(h);
  }
  std::vector<http::Request> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.clear();
  }
  // Blocks until at least n calls completed (no sleeps).
  void wait_calls(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return calls_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  Handler handler_;
  std::vector<http::Request> requests_;
  size_t calls_ = 0;
};

http::Response reply(long status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.state = status / 100 == 2   ? http::State::kOk
            : status == 404     ? http::State::kNotFound
            : status / 100 == 4 ? http::State::kHttp4xx
                                : http::State::kHttp5xx;
  return r;
}
http::Response refused() {
  http::Response r;
  r.state = http::State::kRefused;
  r.error = "Connection refused";
  return r;
}

std::string worker_value(const std::string& id_hex, const std::string& host, int port = 28080) {
  return json{{"Identity", {{"version", 1}, {"identifier", id_hex}}},
              {"WorkerNetAddress", {{"Host", host}, {"RpcPort", 29999}, {"HttpServerPort", port}}},
              {"State", "AUTHORIZED"}}
      .dump();
}

struct Kv {
  std::string value;
  int64_t mod_revision = 10;
  std::string key = "/ServiceDiscovery/DefaultAlluxioCluster/worker-x";
};

std::string range_reply(const std::vector<Kv>& kvs) {
  json j = {{"header", {{"cluster_id", "1"}, {"revision", "42"}}}};
  if (!kvs.empty()) {
    json arr = json::array();
    for (const Kv& kv : kvs) {
      arr.push_back({{"key", base64_encode(kv.key)},
                     {"value", base64_encode(kv.value)},
                     {"create_revision", "3"},
                     {"mod_revision", std::to_string(kv.mod_revision)},
                     {"version", "1"},
                     {"lease", "7587874537362817804"}});
    }
    j["kvs"] = arr;
    j["count"] = std::to_string(kvs.size());
  }
  return j.dump();
}

const std::string kId1 = "cb157baaafe04b988af01a4645d38456";
const std::string kId2 = "0641ed6f7f8848beea7707fc07ab1b20";
const std::string kId3 = "f935e23b2738433c7fb337aea52a10a1";

// --- wire format -----------------------------------------------------------------------------

TEST(EtcdWire, RequestBodiesAreExact) {
  EXPECT_EQ(prefix_range_end("/ServiceDiscovery/DefaultAlluxioCluster/"),
            "/ServiceDiscovery/DefaultAlluxioCluster0");
  EXPECT_EQ(range_request_body("/ServiceDiscovery/DefaultAlluxioCluster/"),
            std::string(R"({"key":")") + kPrefixB64 + R"(","range_end":")" + kEndB64 + R"("})");
  EXPECT_EQ(prefix_range_end("a\xff"), "b");
  EXPECT_EQ(auth_request_body("root", "p\"w"), R"({"name":"root","password":"p\"w"})");
}

TEST(EtcdWire, Base64RoundTrip) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(*base64_decode(base64_encode(s)), s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(*base64_decode("Zm9vYg"), "foob");  // missing padding tolerated
  EXPECT_FALSE(base64_decode("Zm9v!mFy").ok());
  EXPECT_FALSE(base64_decode("Z").ok());
}

TEST(EtcdWire, EndpointUrls) {
  EXPECT_EQ(*etcd_endpoint_url("h1", 2379), "http://h1:2379");
  EXPECT_EQ(*etcd_endpoint_url(" h2:2380 ", 2379), "http://h2:2380");
  EXPECT_EQ(*etcd_endpoint_url("https://h3:443/", 2379), "https://h3:443");
  EXPECT_EQ(*etcd_endpoint_url("[::1]", 2379), "http://[::1]:2379");
  EXPECT_FALSE(etcd_endpoint_url("http://user:pw@h:1", 2379).ok());
  EXPECT_FALSE(etcd_endpoint_url("http://h:1/path", 2379).ok());
}

TEST(EtcdWire, ParsesRangeReply) {
  auto empty = parse_range_reply(R"({"header":{"revision":"42"}})");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->revision, 42);
  EXPECT_TRUE(empty->kvs.empty());

  auto r = parse_range_reply(range_reply({{worker_value(kId1, "10.0.0.1"), 9007199254740993}}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->kvs.size(), 1U);
  EXPECT_EQ(r->kvs[0].mod_revision, 9007199254740993);  // above 2^53: must stay exact
  EXPECT_EQ(r->kvs[0].key, "/ServiceDiscovery/DefaultAlluxioCluster/worker-x");

  EXPECT_FALSE(parse_range_reply("not json").ok());
  EXPECT_FALSE(parse_range_reply("[]").ok());
  EXPECT_FALSE(parse_range_reply(R"({"kvs":{}})").ok());
  EXPECT_FALSE(parse_range_reply(R"({"kvs":[{"key":"!!"}]})").ok());
  EXPECT_FALSE(parse_range_reply(R"({"kvs":[{"key":"YQ==","mod_revision":"x"}]})").ok());
}

TEST(EtcdWire, WorkerRecordDefaultsAndValidation) {
  auto rec = parse_worker_record(
      R"({"Identity":{"version":1,"identifier":"cb157baaafe04b988af01a4645d38456"},
          "WorkerNetAddress":{"Host":"192.168.4.36"},"Unknown":1})");
  ASSERT_TRUE(rec.ok()) << rec.status().to_string();
  EXPECT_EQ(rec->net.http_server_port, 28080);
  EXPECT_EQ(rec->net.rpc_port, 29999);
  EXPECT_EQ(rec->net.data_port, 29997);
  EXPECT_EQ(rec->net.secure_rpc_port, 0);
  EXPECT_EQ(rec->net.netty_data_port, 29997);
  EXPECT_EQ(rec->net.web_port, 30000);
  EXPECT_EQ(rec->worker().address, (WorkerAddress{"192.168.4.36", 28080}));

  // Full example of routing.md §4.
  auto full = parse_worker_record(
      R"({"Identity":{"version":1,"identifier":"cb157baaafe04b988af01a4645d38456"},
   "WorkerNetAddress":{"Host":"192.168.4.36","ContainerHost":"","RpcPort":29999,"DataPort":29997,
     "SecureRpcPort":0,"NettyDataPort":29997,"WebPort":30000,"DomainSocketPath":"","HttpServerPort":28081},
   "State":"AUTHORIZED","GenerationNumber":-1,"ServiceEntityName":"worker-cb157baa-afe0-4b98-8af0-1a4645d38456"})");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->net.http_server_port, 28081);
  EXPECT_EQ(full->state, "AUTHORIZED");

  EXPECT_FALSE(parse_worker_record(R"({"WorkerNetAddress":{"Host":"h"}})").ok());
  EXPECT_FALSE(
      parse_worker_record(
          R"({"Identity":{"version":1,"identifier":"cb15"},"WorkerNetAddress":{"Host":"h"}})")
          .ok());
  EXPECT_FALSE(
      parse_worker_record(
          R"({"Identity":{"version":0,"identifier":"cb157baaafe04b988af01a4645d38456"},"WorkerNetAddress":{"Host":"h"}})")
          .ok());
  EXPECT_FALSE(parse_worker_record(worker_value(kId1, "")).ok());
  EXPECT_FALSE(
      parse_worker_record(
          R"({"Identity":{"version":1,"identifier":"cb157baaafe04b988af01a4645d38456"},"WorkerNetAddress":{"Host":"h","HttpServerPort":"x"}})")
          .ok());
  EXPECT_FALSE(parse_worker_record("\xff\xfe").ok());
}

TEST(EtcdWire, SkipsBadEntriesAndDedupesByModRevision) {
  std::vector<EtcdKv> kvs = {
      {"k1", worker_value(kId1, "old-host"), 5},   {"k2", "garbage", 6},
      {"k3", worker_value(kId1, "new-host"), 9},   {"k4", worker_value(kId2, "h2"), 3},
      {"k5", worker_value(kId1, "older-host"), 7}, {"k6", worker_value(kId3, ""), 3},
  };
  size_t skipped = 0;
  auto recs = workers_from_kvs(kvs, &skipped);
  EXPECT_EQ(skipped, 2U);
  ASSERT_EQ(recs.size(), 2U);
  EXPECT_EQ(recs[0].identity.hex(), kId2);  // sorted by identity
  EXPECT_EQ(recs[1].net.host, "new-host");
  EXPECT_EQ(recs[1].mod_revision, 9);
}

// --- membership --------------------------------------------------------------------------------

struct Fixture {
  common::FakeClock clock;
  std::vector<Kv> kvs;
  std::mutex mu;
  ScriptedClient client{[this](const http::Request&) {
    std::lock_guard<std::mutex> lock(mu);
    return reply(200, range_reply(kvs));
  }};
  void set_kvs(std::vector<Kv> k) {
    std::lock_guard<std::mutex> lock(mu);
    kvs = std::move(k);
  }
  EtcdOptions options(std::vector<std::string> hosts = {"etcd-a"}) {
    EtcdOptions o;
    o.hosts = std::move(hosts);
    o.virtual_nodes = 5;
    o.shuffle_seed = 1;
    o.refresh_interval = std::chrono::hours(1);
    return o;
  }
  std::unique_ptr<EtcdMembership> make(EtcdOptions o) {
    auto m = EtcdMembership::create(std::move(o), client, clock,
                                    [this](common::Duration d) { clock.advance(d); });
    EXPECT_TRUE(m.ok()) << m.status().to_string();
    return std::move(m).value();
  }
};

TEST(EtcdMembership, RangeRequestIsExact) {
  Fixture f;
  f.set_kvs({{worker_value(kId1, "10.0.0.1")}});
  auto m = f.make(f.options({"etcd-a:2381"}));
  EXPECT_EQ(m->refresh_once(), RefreshResult::kChanged);
  auto reqs = f.client.requests();
  ASSERT_EQ(reqs.size(), 1U);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].url, "http://etcd-a:2381/v3/kv/range");
  EXPECT_EQ(reqs[0].body,
            std::string(R"({"key":")") + kPrefixB64 + R"(","range_end":")" + kEndB64 + R"("})");
  EXPECT_EQ(reqs[0].metric_method, "etcd_range");
  EXPECT_EQ(reqs[0].total_timeout, std::chrono::milliseconds(5000));
  for (const auto& [name, value] : reqs[0].headers) EXPECT_NE(name, "Authorization");
}

TEST(EtcdMembership, RefreshChangedUnchangedAddressOnlyAndErrors) {
  Fixture f;
  f.set_kvs({{worker_value(kId1, "10.0.0.1")}, {worker_value(kId2, "10.0.0.2")}});
  auto m = f.make(f.options());
  EXPECT_EQ(m->snapshot()->workers().size(), 0U);
  EXPECT_EQ(m->refresh_once(), RefreshResult::kChanged);
  auto first = m->snapshot();
  ASSERT_EQ(first->workers().size(), 2U);
  EXPECT_EQ(m->stats().workers.load(), 2);

  EXPECT_EQ(m->refresh_once(), RefreshResult::kUnchanged);
  EXPECT_EQ(m->snapshot(), first);  // not republished

  // Address-only change: new snapshot, same ring entries (keys do not move).
  f.set_kvs({{worker_value(kId1, "10.0.0.9", 28090)}, {worker_value(kId2, "10.0.0.2")}});
  EXPECT_EQ(m->refresh_once(), RefreshResult::kChanged);
  auto moved = m->snapshot();
  EXPECT_NE(moved, first);
  EXPECT_EQ(&moved->ring.entries(), &first->ring.entries());
  EXPECT_EQ(moved->generation, first->generation + 1);
  bool found = false;
  for (const Worker& w : moved->workers()) {
    found |= w.address == WorkerAddress{"10.0.0.9", 28090};
  }
  EXPECT_TRUE(found);

  // Zero workers: keep the last ring, count an error.
  f.set_kvs({});
  EXPECT_EQ(m->refresh_once(), RefreshResult::kError);
  EXPECT_EQ(m->snapshot(), moved);

  // Endpoint failure and bad JSON: keep the last ring.
  f.client.set_handler([](const http::Request&) { return refused(); });
  EXPECT_EQ(m->refresh_once(), RefreshResult::kError);
  f.client.set_handler([](const http::Request&) { return reply(200, "{not json"); });
  EXPECT_EQ(m->refresh_once(), RefreshResult::kError);
  EXPECT_EQ(m->snapshot(), moved);
  EXPECT_EQ(m->stats().workers.load(), 2);

  // A new identity: full rebuild.
  f.client.set_handler([&f](const http::Request&) {
    std::lock_guard<std::mutex> lock(f.mu);
    return reply(200, range_reply(f.kvs));
  });
  f.set_kvs({{worker_value(kId1, "10.0.0.1")},
             {worker_value(kId2, "10.0.0.2")},
             {worker_value(kId3, "10.0.0.3")}});
  EXPECT_EQ(m->refresh_once(), RefreshResult::kChanged);
  EXPECT_EQ(m->snapshot()->workers().size(), 3U);
  EXPECT_EQ(m->snapshot()->ring.entries().size(), 15U);

  EXPECT_EQ(m->stats().refresh_changed.load(), 3U);
  EXPECT_EQ(m->stats().refresh_unchanged.load(), 1U);
  EXPECT_EQ(m->stats().refresh_error.load(), 3U);
  EXPECT_EQ(m->records().size(), 3U);
}

TEST(EtcdMembership, EndpointsTriedInOrderAndTheAnsweringOneFirstNextTime) {
  Fixture f;
  f.set_kvs({{worker_value(kId1, "10.0.0.1")}});
  auto m = f.make(f.options({"e1", "e2", "e3"}));
  std::vector<std::string> order = m->endpoint_order();
  ASSERT_EQ(order.size(), 3U);
  const std::string good = order[1];
  f.client.set_handler([&](const http::Request& r) {
    if (r.url.rfind(good, 0) == 0) {
      std::lock_guard<std::mutex> lock(f.mu);
      return reply(200, range_reply(f.kvs));
    }
    return refused();
  });
  EXPECT_EQ(m->refresh_once(), RefreshResult::kChanged);
  auto reqs = f.client.requests();
  ASSERT_EQ(reqs.size(), 2U);
  EXPECT_EQ(reqs[0].url, order[0] + "/v3/kv/range");
  EXPECT_EQ(reqs[1].url, order[1] + "/v3/kv/range");
  f.client.clear();
  EXPECT_EQ(m->refresh_once(), RefreshResult::kUnchanged);
  reqs = f.client.requests();
  ASSERT_EQ(reqs.size(), 1U);
  EXPECT_EQ(reqs[0].url, good + "/v3/kv/range");
  EXPECT_EQ(m->endpoint_order()[0], good);
}

TEST(EtcdMembership, ShuffleIsOncePerProcessAndCoversAllEndpoints) {
  Fixture f;
  auto m = f.make(f.options({"e1", "e2", "e3", "e4"}));
  auto order = m->endpoint_order();
  std::sort(order.begin(), order.end());
  EXPECT_EQ(order, (std::vector<std::string>{"http://e1:2379", "http://e2:2379", "http://e3:2379",
                                             "http://e4:2379"}));
}

TEST(EtcdMembership, AuthenticatesSendsTokenAndReauthenticatesOnce) {
  Fixture f;
  f.set_kvs({{worker_value(kId1, "10.0.0.1")}});
  int auths = 0;
  std::string valid_token = "tok-1";
  f.client.set_handler([&](const http::Request& r) {
    if (r.url.ends_with("/v3/auth/authenticate")) {
      ++auths;
      EXPECT_EQ(r.body, R"({"name":"alice","password":"s3cret"})");
      EXPECT_EQ(r.metric_method, "etcd_auth");
      return reply(200, R"({"header":{},"token":"tok-)" + std::to_string(auths) + R"("})");
    }
    std::string token;
    for (const auto& [k, v] : r.headers) {
      if (k == "Authorization") token = v;
    }
    if (token != valid_token) {
      return reply(401, R"({"error":"etcdserver: invalid auth token","code":16})");
    }
    std::lock_guard<std::mutex> lock(f.mu);
    return reply(200, range_reply(f.kvs));
  });
  EtcdOptions o = f.options();
  o.username = "alice";
  o.password = "s3cret";
  auto m = f.make(o);
  EXPECT_EQ(m->refresh_once(), RefreshResult::kChanged);
  EXPECT_EQ(auths, 1);
  EXPECT_EQ(m->refresh_once(), RefreshResult::kUnchanged);
  EXPECT_EQ(auths, 1);  // token reused

  // The token expires: authenticate again once, then succeed.
  valid_token = "tok-2";
  EXPECT_EQ(m->refresh_once(), RefreshResult::kUnchanged);
  EXPECT_EQ(auths, 2);

  // Every token rejected: one re-auth, then the refresh fails.
  valid_token = "never";
  f.client.clear();
  EXPECT_EQ(m->refresh_once(), RefreshResult::kError);
  EXPECT_EQ(auths, 3);
  EXPECT_EQ(f.client.requests().size(), 3U);  // range, auth, range
  EXPECT_EQ(m->snapshot()->workers().size(), 1U);
}

TEST(EtcdMembership, BadPasswordNeverAppearsInErrors) {
  Fixture f;
  f.client.set_handler([](const http::Request& r) {
    if (r.url.ends_with("/v3/auth/authenticate")) {
      return reply(400,
                   R"({"error":"authentication failed, invalid user ID or password","code":3})");
    }
    return reply(401, R"({"error":"etcdserver: user name is empty","code":16})");
  });
  EtcdOptions o = f.options();
  o.username = "alice";
  o.password = "hunter2-secret";
  o.startup_timeout = std::chrono::seconds(1);
  auto m = f.make(o);
  common::Status st = m->start();
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message().find("hunter2"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("etcd.hosts"), std::string::npos) << st.message();
}

TEST(EtcdMembership, UnauthenticatedClusterNeedingAuthFails) {
  Fixture f;
  f.client.set_handler([](const http::Request&) {
    return reply(401, R"({"error":"etcdserver: user name is empty","code":16})");
  });
  auto m = f.make(f.options());
  EXPECT_EQ(m->refresh_once(), RefreshResult::kError);
}

TEST(EtcdMembership, CreateValidatesOptions) {
  Fixture f;
  EtcdOptions o = f.options();
  o.hosts.clear();
  EXPECT_EQ(EtcdMembership::create(o, f.client, f.clock).status().code(), Code::kInvalid);
  o = f.options();
  o.prefix = "/no/slash";
  EXPECT_FALSE(EtcdMembership::create(o, f.client, f.clock).ok());
  o = f.options();
  o.username = "only-user";
  EXPECT_FALSE(EtcdMembership::create(o, f.client, f.clock).ok());
  o = f.options({"fd00::1"});
  EXPECT_FALSE(EtcdMembership::create(o, f.client, f.clock).ok());
}

TEST(EtcdMembership, StartRetriesWithBackoffUntilWorkersAppear) {
  Fixture f;
  int calls = 0;
  std::vector<common::Duration> waits;
  f.client.set_handler([&](const http::Request&) {
    ++calls;
    if (calls == 1) return refused();
    if (calls == 2) return reply(200, range_reply({}));  // zero workers is not a success
    return reply(200, range_reply({{worker_value(kId1, "10.0.0.1")}}));
  });
  EtcdOptions o = f.options();
  o.refresh_interval = std::chrono::seconds(0);  // no thread
  auto m = EtcdMembership::create(o, f.client, f.clock, [&](common::Duration d) {
             waits.push_back(d);
             f.clock.advance(d);
           }).value();
  ASSERT_TRUE(m->start().ok());
  EXPECT_EQ(calls, 3);
  ASSERT_EQ(waits.size(), 2U);
  EXPECT_EQ(waits[0], std::chrono::milliseconds(250));
  EXPECT_EQ(waits[1], std::chrono::milliseconds(500));
  EXPECT_EQ(m->snapshot()->workers().size(), 1U);
}

TEST(EtcdMembership, StartFailsAfterStartupTimeout) {
  Fixture f;
  f.client.set_handler([](const http::Request&) { return refused(); });
  EtcdOptions o = f.options();
  o.startup_timeout = std::chrono::seconds(60);
  const common::TimePoint t0 = f.clock.now();
  auto m = f.make(o);
  common::Status st = m->start();
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find("etcd.hosts"), std::string::npos);
  EXPECT_NE(st.message().find("refused"), std::string::npos) << st.message();
  EXPECT_EQ(f.clock.now() - t0, std::chrono::seconds(60));  // waited exactly up to the deadline
  EXPECT_TRUE(m->snapshot()->ring.empty());
}

TEST(EtcdMembership, BackgroundThreadRefreshesAndStopsPromptly) {
  common::FakeClock clock;
  ScriptedClient client([](const http::Request&) {
    return reply(200, range_reply({{worker_value(kId1, "10.0.0.1")}}));
  });
  EtcdOptions o;
  o.hosts = {"e1"};
  o.virtual_nodes = 5;
  o.refresh_interval = std::chrono::milliseconds(1);
  auto m = EtcdMembership::create(o, client, clock).value();
  ASSERT_TRUE(m->start().ok());
  client.wait_calls(4);  // start-up fetch plus three background refreshes
  m->stop();
  EXPECT_GE(m->stats().refresh_unchanged.load(), 3U);
  EXPECT_EQ(m->snapshot()->workers().size(), 1U);

  // A long interval: stop() wakes the thread instead of waiting an hour.
  o.refresh_interval = std::chrono::hours(1);
  auto slow = EtcdMembership::create(o, client, clock).value();
  ASSERT_TRUE(slow->start().ok());
  slow->stop();
  slow->stop();  // idempotent
}

}  // namespace
}  // namespace alluxio_fuse::cluster
