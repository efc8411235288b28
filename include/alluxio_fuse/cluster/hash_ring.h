#pragma once
// The consistent-hash ring of routing.md §2, bit-exact with the Java client and alluxiofs.
//
// The ring is a sorted vector of (signed hash, worker index); lookups are binary searches.
// Thread-safety: immutable after construction; any number of threads may look up at once.
// Ownership: holds its workers by value; the entry vector is shared between copies made by
// with_addresses(), so an address-only membership change costs O(workers), not O(ring).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "alluxio_fuse/cluster/worker.h"

namespace alluxio_fuse::cluster {

inline constexpr int kDefaultVirtualNodes = 2000;
inline constexpr int kMaxPickAttempts = 100;

struct RingEntry {
  int32_t hash;
  uint32_t worker;  // index into HashRing::workers()
};

class HashRing {
 public:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  // An empty ring: every lookup finds nothing.
  HashRing();
  // Places `virtual_nodes` (>= 1) positions per worker. Workers are inserted in ascending
  // (version, identifier) order; on a hash collision the later insertion wins. Workers with
  // the same identity are collapsed (the last one given wins its address).
  HashRing(std::vector<Worker> workers, int virtual_nodes);

  // Workers sorted by identity; indices in entries() and pick_indices() refer to this order.
  const std::vector<Worker>& workers() const { return workers_; }
  const std::vector<RingEntry>& entries() const { return *entries_; }
  int virtual_nodes() const { return virtual_nodes_; }
  bool empty() const { return workers_.empty(); }

  // H(utf8(key) ‖ le32(attempt)), the probe of attempt `attempt` (starting at 1).
  static int32_t probe_hash(std::string_view key, int32_t attempt);
  // H(identifier ‖ le32(version) ‖ le32(index)), the position of one virtual node.
  static int32_t vnode_hash(const WorkerIdentity& identity, int32_t index);

  // Index of the first entry with hash >= probe (Java ceilingEntry), wrapping to the smallest;
  // kNone on an empty ring.
  size_t owner_index_for_hash(int32_t probe) const;
  size_t owner_index(std::string_view key, int32_t attempt) const {
    return owner_index_for_hash(probe_hash(key, attempt));
  }
  // The owner worker, or nullptr on an empty ring.
  const Worker* owner(std::string_view key, int32_t attempt) const;

  // Multi-pick: up to min(count, workers) distinct workers in preference order, using at most
  // kMaxPickAttempts probes. `probes_used` (optional) receives the number of probes consumed.
  std::vector<size_t> pick_indices(std::string_view key, size_t count,
                                   int* probes_used = nullptr) const;
  std::vector<Worker> pick(std::string_view key, size_t count) const;

  // The same identities with new addresses: a ring sharing this ring's entries when `workers`
  // holds exactly the same identity set, else nullopt (the caller must build a new ring).
  std::optional<HashRing> with_addresses(const std::vector<Worker>& workers) const;

 private:
  std::vector<Worker> workers_;
  std::shared_ptr<const std::vector<RingEntry>> entries_;
  int virtual_nodes_ = 0;
};

// Workers sorted by identity with duplicate identities collapsed (the last one wins).
std::vector<Worker> canonical_workers(std::vector<Worker> workers);

}  // namespace alluxio_fuse::cluster
