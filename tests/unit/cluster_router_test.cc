// Router: ring candidates with suspect demotion, and server mode's node cache. Time comes from a
// FakeClock, so every backoff window and TTL is checked exactly.
#include <gtest/gtest.h>

#include <map>

#include "alluxio_fuse/cluster/membership.h"
#include "alluxio_fuse/cluster/router.h"

namespace alluxio_fuse::cluster {
namespace {

using std::chrono::seconds;

const std::string kKey = "s3://my-bucket/datasets/train/part-00000.parquet";
const WorkerAddress kW1{"10.0.0.1", 28080}, kW2{"10.0.0.2", 28080}, kW3{"10.0.0.3", 28080};

std::vector<std::string> hosts(const std::vector<Worker>& ws) {
  std::vector<std::string> out;
  for (const Worker& w : ws) out.push_back(w.address.to_string());
  return out;
}

std::unique_ptr<StaticMembership> three_hosts() {
  return StaticMembership::create({kW1, kW2, kW3}, 5).value();
}

TEST(RouterRing, CandidatesArePicksInPreferenceOrder) {
  auto m = three_hosts();
  common::FakeClock clock;
  Router r(*m, RouterOptions{}, clock);
  EXPECT_FALSE(r.server_mode());
  std::vector<Worker> c = r.candidates(kKey);
  EXPECT_EQ(hosts(c),
            (std::vector<std::string>{"10.0.0.3:28080", "10.0.0.1:28080", "10.0.0.2:28080"}));
  EXPECT_EQ(c[0].identity, WorkerIdentity::from_host("10.0.0.3"));
  RouterOptions two;
  two.candidates = 2;
  Router r2(*m, two, clock);
  EXPECT_EQ(hosts(r2.candidates(kKey)),
            (std::vector<std::string>{"10.0.0.3:28080", "10.0.0.1:28080"}));
  RouterOptions many;
  many.candidates = 16;
  EXPECT_EQ(Router(*m, many, clock).candidates(kKey).size(), 3U);  // capped at the workers
}

class EmptyMembership : public Membership {
 public:
  common::Status start() override { return common::Status::Ok(); }
};

TEST(RouterRing, EmptyRingHasNoCandidates) {
  EmptyMembership m;
  common::FakeClock clock;
  Router r(m, RouterOptions{}, clock);
  EXPECT_TRUE(r.candidates(kKey).empty());
}

TEST(RouterRing, SuspectsMoveToTheEndWithDoublingWindows) {
  auto m = three_hosts();
  common::FakeClock clock;
  Router r(*m, RouterOptions{}, clock);
  const std::vector<std::string> normal = hosts(r.candidates(kKey));
  const std::vector<std::string> demoted = {"10.0.0.1:28080", "10.0.0.2:28080", "10.0.0.3:28080"};

  r.report(kW3, http::State::kRefused);
  EXPECT_TRUE(r.is_suspect(kW3));
  EXPECT_EQ(r.suspect_count(), 1);
  EXPECT_EQ(hosts(r.candidates(kKey)), demoted);
  clock.advance(seconds(5) - std::chrono::nanoseconds(1));
  EXPECT_TRUE(r.is_suspect(kW3));
  clock.advance(std::chrono::nanoseconds(1));
  EXPECT_FALSE(r.is_suspect(kW3));
  EXPECT_EQ(hosts(r.candidates(kKey)), normal);  // window over; the ring never changed
  EXPECT_EQ(r.suspect_count(), 1);               // but not cleared until it replies

  // Further failures double the window: 10, 20, 40, then 60 s caps.
  for (int window : {10, 20, 40, 60, 60}) {
    r.report(kW3, http::State::kTimeout);
    clock.advance(seconds(window) - std::chrono::nanoseconds(1));
    EXPECT_TRUE(r.is_suspect(kW3)) << window;
    clock.advance(std::chrono::nanoseconds(1));
    EXPECT_FALSE(r.is_suspect(kW3)) << window;
  }

  // Any reply clears it, and the next failure starts again at 5 s.
  r.report(kW3, http::State::kTimeout);
  r.report(kW3, http::State::kHttp5xx);
  EXPECT_FALSE(r.is_suspect(kW3));
  EXPECT_EQ(r.suspect_count(), 0);
  EXPECT_EQ(hosts(r.candidates(kKey)), normal);
  r.report(kW3, http::State::kRefused);
  clock.advance(seconds(5));
  EXPECT_FALSE(r.is_suspect(kW3));
}

TEST(RouterRing, SeveralSuspectsKeepTheirRelativeOrder) {
  auto m = three_hosts();
  common::FakeClock clock;
  Router r(*m, RouterOptions{}, clock);
  r.report(kW1, http::State::kRefused);
  r.report(kW3, http::State::kTimeout);
  r.report(kW2, http::State::kNoReply);  // a reply: not suspect
  EXPECT_EQ(r.suspect_count(), 2);
  EXPECT_EQ(hosts(r.candidates(kKey)),
            (std::vector<std::string>{"10.0.0.2:28080", "10.0.0.3:28080", "10.0.0.1:28080"}));
  r.report(kW2, http::State::kRefused);  // all suspect: ring order
  EXPECT_EQ(hosts(r.candidates(kKey)),
            (std::vector<std::string>{"10.0.0.3:28080", "10.0.0.1:28080", "10.0.0.2:28080"}));
}

struct FakeResolver {
  std::map<std::string, common::Result<WorkerAddress>> answers;
  std::vector<std::pair<std::string, std::string>> calls;  // (asked, key)
  NodeResolver fn() {
    return [this](const WorkerAddress& ask, std::string_view key) -> common::Result<WorkerAddress> {
      calls.emplace_back(ask.to_string(), std::string(key));
      auto it = answers.find(std::string(key));
      if (it == answers.end()) return common::make_status(common::Code::kUnavailable, "down");
      return it->second;
    };
  }
};

const WorkerAddress kDomain{"alluxio.svc", 28080};

TEST(RouterServer, OwnerThenDomainWithTtlCache) {
  common::FakeClock clock;
  FakeResolver res;
  res.answers.emplace("k", WorkerAddress{"10.0.0.5", 28080});
  Router r(kDomain, RouterOptions{}, clock, res.fn());
  EXPECT_TRUE(r.server_mode());
  auto c = r.candidates("k");
  EXPECT_EQ(hosts(c), (std::vector<std::string>{"10.0.0.5:28080", "alluxio.svc:28080"}));
  EXPECT_FALSE(c[0].identity.valid());
  ASSERT_EQ(res.calls.size(), 1U);
  EXPECT_EQ(res.calls[0], std::make_pair(std::string("alluxio.svc:28080"), std::string("k")));

  clock.advance(seconds(29));
  r.candidates("k");
  EXPECT_EQ(res.calls.size(), 1U);  // cached
  clock.advance(seconds(1));
  r.candidates("k");
  EXPECT_EQ(res.calls.size(), 2U);  // TTL passed

  r.forget("k");
  EXPECT_EQ(r.node_cache_size(), 0U);
  r.candidates("k");
  EXPECT_EQ(res.calls.size(), 3U);
}

TEST(RouterServer, ResolverFailureUsesDomainAndIsNotCached) {
  common::FakeClock clock;
  FakeResolver res;
  Router r(kDomain, RouterOptions{}, clock, res.fn());
  EXPECT_EQ(hosts(r.candidates("k")), (std::vector<std::string>{"alluxio.svc:28080"}));
  EXPECT_EQ(r.node_cache_size(), 0U);
  r.candidates("k");
  EXPECT_EQ(res.calls.size(), 2U);
}

TEST(RouterServer, OwnerEqualToDomainIsDeduplicated) {
  common::FakeClock clock;
  FakeResolver res;
  res.answers.emplace("k", kDomain);
  Router r(kDomain, RouterOptions{}, clock, res.fn());
  EXPECT_EQ(hosts(r.candidates("k")), (std::vector<std::string>{"alluxio.svc:28080"}));
}

TEST(RouterServer, SuspectOwnerGoesAfterDomain) {
  common::FakeClock clock;
  FakeResolver res;
  res.answers.emplace("k", WorkerAddress{"10.0.0.5", 28080});
  Router r(kDomain, RouterOptions{}, clock, res.fn());
  r.report(WorkerAddress{"10.0.0.5", 28080}, http::State::kRefused);
  EXPECT_EQ(hosts(r.candidates("k")),
            (std::vector<std::string>{"alluxio.svc:28080", "10.0.0.5:28080"}));
}

TEST(RouterServer, CacheIsLruBounded) {
  common::FakeClock clock;
  FakeResolver res;
  for (std::string k : {"a", "b", "c"}) res.answers.emplace(k, WorkerAddress{"w-" + k, 1});
  RouterOptions o;
  o.node_cache_max_entries = 2;
  Router r(kDomain, o, clock, res.fn());
  r.candidates("a");
  r.candidates("b");
  r.candidates("a");  // a is now the most recent
  r.candidates("c");  // evicts b
  EXPECT_EQ(r.node_cache_size(), 2U);
  res.calls.clear();
  r.candidates("a");
  r.candidates("c");
  EXPECT_TRUE(res.calls.empty());
  r.candidates("b");
  EXPECT_EQ(res.calls.size(), 1U);
}

TEST(RouterRing, NodeLookupPutsTheNamedOwnerFirst) {
  auto m = three_hosts();
  common::FakeClock clock;
  FakeResolver res;
  res.answers.emplace(kKey, kW2);
  res.answers.emplace("other", WorkerAddress{"10.0.0.7", 28080});
  RouterOptions o;
  o.node_lookup = true;
  Router r(*m, o, clock, res.fn());
  EXPECT_EQ(hosts(r.candidates(kKey)),
            (std::vector<std::string>{"10.0.0.2:28080", "10.0.0.3:28080", "10.0.0.1:28080"}));
  ASSERT_EQ(res.calls.size(), 1U);
  EXPECT_EQ(res.calls[0].first, "10.0.0.3:28080");  // asked the ring's first pick
  auto c = r.candidates("other");
  EXPECT_EQ(c.size(), 4U);
  EXPECT_EQ(c[0].address, (WorkerAddress{"10.0.0.7", 28080}));
  // Without node_lookup the resolver is never used.
  FakeResolver unused;
  Router plain(*m, RouterOptions{}, clock, unused.fn());
  plain.candidates(kKey);
  EXPECT_TRUE(unused.calls.empty());
}

}  // namespace
}  // namespace alluxio_fuse::cluster
