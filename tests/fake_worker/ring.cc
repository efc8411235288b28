// Identity from the host alone (routing.md §3): peers on one machine differ by loopback
// address, not only by port.
#include "ring.h"

namespace alluxio_fuse::fake_worker {
namespace {

cluster::HashRing build(const std::vector<Peer>& peers, int vnodes) {
  std::vector<cluster::Worker> workers;
  for (const Peer& p : peers) {
    workers.push_back(
        cluster::Worker{cluster::WorkerIdentity::from_host(p.host), {p.host, p.port}});
  }
  return cluster::HashRing(std::move(workers), vnodes);
}

}  // namespace

Ring::Ring(const std::vector<Peer>& peers, int vnodes) : ring_(build(peers, vnodes)) {}

Peer Ring::owner(std::string_view key) const {
  const cluster::Worker* w = ring_.owner(key, 1);
  return Peer{w->address.host, w->address.port};
}

}  // namespace alluxio_fuse::fake_worker
