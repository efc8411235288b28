// The golden vectors of routing.md §7: every set, every case.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "alluxio_fuse/cluster/hash_ring.h"
#include "alluxio_fuse/common/hash.h"

namespace alluxio_fuse::cluster {
namespace {

using nlohmann::json;

std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

const json& vectors() {
  static const json j = [] {
    std::ifstream in(std::string(AF_SHARED_DIR) + "/vectors/alluxiofs_ring.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
  }();
  return j;
}

// Workers of a set, built from the members in their input order (as membership would).
std::vector<Worker> set_workers(const json& set) {
  std::vector<Worker> workers;
  for (const json& m : set["members_input_order"]) {
    const std::string s = m.get<std::string>();
    if (set["member_kind"] == "hosts") {
      workers.push_back(Worker{WorkerIdentity::from_host(s), WorkerAddress{s, 28080}});
    } else {
      auto id = WorkerIdentity::from_hex(1, s);
      EXPECT_TRUE(id.ok()) << s;
      workers.push_back(Worker{*id, WorkerAddress{"w-" + s.substr(0, 6), 28080}});
    }
  }
  return workers;
}

TEST(RingVectors, FileHasFiveSets) { ASSERT_EQ(vectors()["sets"].size(), 5U); }

TEST(RingVectors, IdentityDerivationForHostSets) {
  int checked = 0;
  for (const json& set : vectors()["sets"]) {
    for (const json& w : set["workers"]) {
      if (w["host"].is_null()) continue;
      WorkerIdentity id = WorkerIdentity::from_host(w["host"].get<std::string>());
      EXPECT_EQ(id.version, w["identity_version"].get<int>());
      EXPECT_EQ(id.hex(), w["identity_hex"].get<std::string>()) << w["host"];
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3 + 5 + 50 + 5);
}

TEST(RingVectors, FullRingEquality) {
  for (const json& set : vectors()["sets"]) {
    SCOPED_TRACE(set["name"].get<std::string>());
    HashRing ring(set_workers(set), set["virtual_nodes_per_worker"].get<int>());
    const json& expected = set["ring_sorted_signed"];
    ASSERT_EQ(ring.entries().size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(ring.entries()[i].hash, expected[i][0].get<int32_t>()) << i;
      EXPECT_EQ(ring.workers()[ring.entries()[i].worker].identity.hex(),
                expected[i][1].get<std::string>())
          << i;
    }
    // workers() is in ascending identity order and matches the vectors' worker list as a set.
    ASSERT_EQ(ring.workers().size(), set["workers"].size());
    for (size_t i = 1; i < ring.workers().size(); ++i) {
      EXPECT_LT(ring.workers()[i - 1].identity, ring.workers()[i].identity);
    }
  }
}

TEST(RingVectors, EveryCaseProbesAndPicks) {
  size_t cases = 0;
  for (const json& set : vectors()["sets"]) {
    SCOPED_TRACE(set["name"].get<std::string>());
    HashRing ring(set_workers(set), set["virtual_nodes_per_worker"].get<int>());
    const size_t count = set["count_requested"].get<size_t>();
    for (const json& c : set["cases"]) {
      const std::string key = unhex(c["key_utf8_hex"].get<std::string>());
      SCOPED_TRACE(c["key"].get<std::string>());
      const json& probes = c["probe_hashes_signed"];
      for (size_t a = 0; a < probes.size(); ++a) {
        ASSERT_EQ(HashRing::probe_hash(key, static_cast<int32_t>(a + 1)), probes[a].get<int32_t>())
            << "attempt " << a + 1;
      }
      int used = 0;
      std::vector<size_t> picks = ring.pick_indices(key, count, &used);
      EXPECT_EQ(static_cast<size_t>(used), probes.size());
      const json& want = c["picks"];
      ASSERT_EQ(picks.size(), want.size());
      for (size_t i = 0; i < picks.size(); ++i) {
        EXPECT_EQ(ring.workers()[picks[i]].identity.hex(), want[i].get<std::string>()) << i;
      }
      if (!c["pick_hosts"].is_null()) {
        std::vector<Worker> workers = ring.pick(key, count);
        ASSERT_EQ(workers.size(), c["pick_hosts"].size());
        for (size_t i = 0; i < workers.size(); ++i) {
          EXPECT_EQ(workers[i].address.host, c["pick_hosts"][i].get<std::string>());
        }
      }
      // The first pick is the attempt-1 owner.
      if (!picks.empty()) {
        EXPECT_EQ(ring.owner_index(key, 1), picks[0]);
      }
      ++cases;
    }
  }
  EXPECT_EQ(cases, 1000U);
}

TEST(RingSpec, WorkedExamples) {
  WorkerIdentity id = WorkerIdentity::from_host("10.0.0.1");
  EXPECT_EQ(id.hex(), "190dafab69703a67a21c1226360de7dc");
  const int32_t want[] = {-474588726, 1160800608, 2076491281, 888240558, -1610613348};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(HashRing::vnode_hash(id, i), want[i]);
}

// A hand-built ring whose probe lands exactly on a vnode hash: Java ceilingEntry (>=) picks
// that vnode; Python's bisect_right would pick the next one.
TEST(RingSpec, ProbeEqualToVnodeHashPicksThatVnode) {
  std::vector<Worker> workers = {Worker{WorkerIdentity::from_host("a"), {"a", 1}},
                                 Worker{WorkerIdentity::from_host("b"), {"b", 1}}};
  HashRing ring(workers, 50);
  const auto& e = ring.entries();
  ASSERT_GE(e.size(), 3U);
  for (size_t i = 0; i < e.size(); ++i) {
    EXPECT_EQ(ring.owner_index_for_hash(e[i].hash), e[i].worker) << i;
    if (e[i].hash != INT32_MAX) {
      EXPECT_EQ(ring.owner_index_for_hash(e[i].hash + 1), e[(i + 1) % e.size()].worker) << i;
    }
  }
  // Wrap: above the largest entry -> the smallest.
  if (e.back().hash != INT32_MAX) {
    EXPECT_EQ(ring.owner_index_for_hash(e.back().hash + 1), e.front().worker);
  }
  EXPECT_EQ(ring.owner_index_for_hash(INT32_MIN), e.front().worker);
}

TEST(RingSpec, EmptyRingPicksNothing) {
  HashRing ring;
  EXPECT_TRUE(ring.pick("k", 3).empty());
  EXPECT_EQ(ring.owner("k", 1), nullptr);
  HashRing built({}, 5);
  EXPECT_TRUE(built.pick("k", 3).empty());
}

TEST(RingSpec, CountCappedAtWorkersAndDuplicatesCollapsed) {
  std::vector<Worker> workers = {Worker{WorkerIdentity::from_host("a"), {"a", 1}},
                                 Worker{WorkerIdentity::from_host("b"), {"b", 1}},
                                 Worker{WorkerIdentity::from_host("a"), {"a", 2}}};
  HashRing ring(workers, 5);
  ASSERT_EQ(ring.workers().size(), 2U);
  EXPECT_EQ(ring.pick("some/key", 10).size(), 2U);
  for (const Worker& w : ring.workers()) {
    if (w.address.host == "a") {
      EXPECT_EQ(w.address.port, 2);  // the last one given wins
    }
  }
}

TEST(RingSpec, InputOrderDoesNotMatter) {
  std::vector<Worker> a, b;
  for (int i = 0; i < 20; ++i) {
    std::string h = "host-" + std::to_string(i);
    a.push_back(Worker{WorkerIdentity::from_host(h), {h, 28080}});
  }
  b.assign(a.rbegin(), a.rend());
  HashRing ra(a, 50), rb(b, 50);
  ASSERT_EQ(ra.entries().size(), rb.entries().size());
  for (size_t i = 0; i < ra.entries().size(); ++i) {
    EXPECT_EQ(ra.entries()[i].hash, rb.entries()[i].hash);
    EXPECT_EQ(ra.entries()[i].worker, rb.entries()[i].worker);
  }
}

TEST(RingSpec, WithAddressesKeepsPositions) {
  std::vector<Worker> workers = {Worker{WorkerIdentity::from_host("a"), {"10.0.0.1", 1}},
                                 Worker{WorkerIdentity::from_host("b"), {"10.0.0.2", 1}}};
  HashRing ring(workers, 20);
  workers[0].address.host = "10.0.0.9";
  auto moved = ring.with_addresses(workers);
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(&moved->entries(), &ring.entries());  // shared, not rebuilt
  EXPECT_EQ(moved->pick("k", 2)[0].identity, ring.pick("k", 2)[0].identity);
  workers.push_back(Worker{WorkerIdentity::from_host("c"), {"c", 1}});
  EXPECT_FALSE(ring.with_addresses(workers).has_value());
}

TEST(RingSpec, LargeRingBuildIsCheap) {
  std::vector<Worker> workers;
  for (int i = 0; i < 50; ++i) {
    std::string h = "worker-" + std::to_string(i);
    workers.push_back(Worker{WorkerIdentity::from_host(h), {h, 28080}});
  }
  auto start = std::chrono::steady_clock::now();
  HashRing ring(workers, 2000);
  auto built = std::chrono::steady_clock::now();
  EXPECT_EQ(ring.entries().size(), 100000U);
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(ring.pick("s3://bkt/file-" + std::to_string(i), 3).size(), 3U);
  }
  auto done = std::chrono::steady_clock::now();
  // Generous bounds (shared CI machine, sanitizers): a regression to a tree or a linear scan
  // is still caught.
  EXPECT_LT(built - start, std::chrono::seconds(2));
  EXPECT_LT(done - built, std::chrono::seconds(2));
}

}  // namespace
}  // namespace alluxio_fuse::cluster
