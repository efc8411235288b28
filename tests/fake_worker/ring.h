#pragma once
// The owner lookup behind /v1/node: a thin adapter over the daemon's own consistent-hash ring
// (af_cluster, routing.md §2), so the fake worker and the daemon can never disagree on who owns
// a key.
//
// Thread-safety: immutable after construction; safe for concurrent reads.

#include <string>
#include <string_view>
#include <vector>

#include "alluxio_fuse/cluster/hash_ring.h"

namespace alluxio_fuse::fake_worker {

struct Peer {
  std::string host;
  int port = 0;
};

class Ring {
 public:
  Ring(const std::vector<Peer>& peers, int vnodes);
  bool empty() const { return ring_.empty(); }
  // The first pick for the key (attempt 1). Requires !empty().
  Peer owner(std::string_view key) const;

 private:
  cluster::HashRing ring_;
};

}  // namespace alluxio_fuse::fake_worker
