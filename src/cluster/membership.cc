// Snapshot publication and the static worker list. Publishing swaps a shared_ptr under a
// mutex held only for the swap; readers copy the pointer and then use it lock-free.
#include "alluxio_fuse/cluster/membership.h"

#include <map>

namespace alluxio_fuse::cluster {

using common::Code;
using common::make_status;
using common::Result;

Membership::Membership() : snapshot_(std::make_shared<const Snapshot>()) {}

std::shared_ptr<const Snapshot> Membership::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

void Membership::publish(HashRing ring) {
  auto next = std::make_shared<Snapshot>();
  next->ring = std::move(ring);
  const auto count = static_cast<int64_t>(next->ring.workers().size());
  {
    std::lock_guard<std::mutex> lock(mu_);
    next->generation = snapshot_->generation + 1;
    snapshot_ = std::move(next);
  }
  stats_.workers.store(count);
}

Result<std::unique_ptr<StaticMembership>> StaticMembership::create(
    const std::vector<WorkerAddress>& hosts, int virtual_nodes) {
  if (hosts.empty()) return make_status(Code::kInvalid, "worker_hosts: no workers given");
  std::map<std::string, int> port_of;
  std::vector<Worker> workers;
  for (const WorkerAddress& a : hosts) {
    if (a.host.empty()) return make_status(Code::kInvalid, "worker_hosts: empty host");
    auto [it, inserted] = port_of.emplace(a.host, a.port);
    if (!inserted) {
      if (it->second != a.port) {
        return make_status(Code::kInvalid,
                           "worker_hosts: host \"" + a.host + "\" appears with two ports (" +
                               std::to_string(it->second) + " and " + std::to_string(a.port) + ")");
      }
      continue;
    }
    workers.push_back(Worker{WorkerIdentity::from_host(a.host), a});
  }
  std::unique_ptr<StaticMembership> m(new StaticMembership());
  m->publish(HashRing(std::move(workers), virtual_nodes));
  return m;
}

Result<std::vector<WorkerAddress>> parse_worker_hosts(std::string_view text, int default_port) {
  std::vector<WorkerAddress> out;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string_view item = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    auto addr = parse_host_port(item, default_port);
    if (!addr.ok()) return make_status(Code::kInvalid, "worker_hosts: " + addr.status().message());
    out.push_back(std::move(addr).value());
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace alluxio_fuse::cluster
