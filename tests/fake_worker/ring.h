#pragma once
// A private copy of the consistent-hash ring of spec/routing.md §1–2 (MurmurHash3 x86_32 seed 0,
// identity = UUIDv3 of the host, V virtual nodes, ceiling lookup with probe attempts from 1),
// used only to answer /v1/node. The daemon's af_cluster library is the tested implementation;
// this copy exists because that library was being written concurrently with the fake worker.
//
// Thread-safety: immutable after construction; safe for concurrent reads.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace alluxio_fuse::fake_worker {

int32_t murmur3_32(std::string_view data, uint32_t seed = 0);

struct Peer {
  std::string host;
  int port = 0;
};

class Ring {
 public:
  Ring(std::vector<Peer> peers, int vnodes);
  bool empty() const { return ring_.empty(); }
  // The first pick for the key (routing.md §2 "Lookup" with attempt 1, then 2, ... only if the
  // ring is empty of distinct owners, which cannot happen for count 1).
  const Peer& owner(std::string_view key) const;

 private:
  std::vector<Peer> peers_;
  std::map<int32_t, size_t> ring_;  // signed vnode hash -> index into peers_
};

}  // namespace alluxio_fuse::fake_worker
