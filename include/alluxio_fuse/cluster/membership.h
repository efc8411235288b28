#pragma once
// Cluster membership: the set of live workers and the ring built from them (routing.md §3, §4).
//
// Readers take an immutable Snapshot (a shared_ptr swap under a short mutex), so a lookup
// never waits for a refresh and a refresh never blocks lookups.
// Thread-safety: snapshot() and stats() may be called from any thread at any time.
// Ownership: a Snapshot is shared by every reader still holding it.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "alluxio_fuse/cluster/hash_ring.h"
#include "alluxio_fuse/cluster/worker.h"
#include "alluxio_fuse/common/status.h"

namespace alluxio_fuse::cluster {

// One published membership. `generation` grows by one per published change.
struct Snapshot {
  HashRing ring;
  uint64_t generation = 0;
  const std::vector<Worker>& workers() const { return ring.workers(); }
};

// Counters for metrics.md (alluxio_fuse_membership_*), read without locks by the metrics module.
struct MembershipStats {
  std::atomic<uint64_t> refresh_changed{0};    // refresh_total{result="changed"}
  std::atomic<uint64_t> refresh_unchanged{0};  // refresh_total{result="unchanged"}
  std::atomic<uint64_t> refresh_error{0};      // refresh_total{result="error"}
  std::atomic<int64_t> workers{0};             // membership_workers
};

class Membership {
 public:
  Membership();
  virtual ~Membership() = default;
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  // Blocks until a first membership with at least one worker is known, or fails (the daemon
  // then exits 1). Starts background work, if any.
  virtual common::Status start() = 0;
  // Stops background work promptly; idempotent. The last snapshot stays readable.
  virtual void stop() {}

  // The current membership; never null (an empty ring before start()).
  std::shared_ptr<const Snapshot> snapshot() const;
  const MembershipStats& stats() const { return stats_; }

 protected:
  // Publishes `ring` as the new snapshot and updates the worker gauge.
  void publish(HashRing ring);
  MembershipStats& mutable_stats() { return stats_; }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;  // GUARDED_BY(mu_)
  MembershipStats stats_;
};

// `worker_hosts` (routing.md §3): a fixed list; identity from the host only.
// Thread-safety: as Membership. Immutable after create().
class StaticMembership final : public Membership {
 public:
  // kInvalid when the list is empty, a host is empty, or one host appears with two ports.
  // The same host:port twice is collapsed.
  static common::Result<std::unique_ptr<StaticMembership>> create(
      const std::vector<WorkerAddress>& hosts, int virtual_nodes);

  common::Status start() override { return common::Status::Ok(); }

 private:
  StaticMembership() = default;
};

// Splits a `worker_hosts` string "h1,h2:28081, [fd00::5]:28080" into addresses (items trimmed,
// empty items are errors).
common::Result<std::vector<WorkerAddress>> parse_worker_hosts(std::string_view text,
                                                              int default_port);

}  // namespace alluxio_fuse::cluster
