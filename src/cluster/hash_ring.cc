// Ring construction and lookup. Construction hashes every virtual node into one vector,
// stable-sorts it by hash and keeps the last entry of each equal-hash run: that is exactly
// "later insertion wins" of a TreeMap put() sequence in ascending identity order, without a
// tree. Lookup is std::lower_bound (>=, Java ceilingEntry) with wrap-around.
#include "alluxio_fuse/cluster/hash_ring.h"

#include <algorithm>
#include <cstring>

#include "alluxio_fuse/cluster/murmur3.h"

namespace alluxio_fuse::cluster {
namespace {

void append_le32(std::string* out, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  char b[4] = {static_cast<char>(u & 0xFFU), static_cast<char>((u >> 8) & 0xFFU),
               static_cast<char>((u >> 16) & 0xFFU), static_cast<char>((u >> 24) & 0xFFU)};
  out->append(b, 4);
}

}  // namespace

std::vector<Worker> canonical_workers(std::vector<Worker> workers) {
  std::stable_sort(workers.begin(), workers.end(),
                   [](const Worker& a, const Worker& b) { return a.identity < b.identity; });
  std::vector<Worker> out;
  out.reserve(workers.size());
  for (auto& w : workers) {
    if (!out.empty() && out.back().identity == w.identity) {
      out.back() = std::move(w);
    } else {
      out.push_back(std::move(w));
    }
  }
  return out;
}

HashRing::HashRing() : entries_(std::make_shared<const std::vector<RingEntry>>()) {}

HashRing::HashRing(std::vector<Worker> workers, int virtual_nodes)
    : workers_(canonical_workers(std::move(workers))), virtual_nodes_(std::max(virtual_nodes, 1)) {
  std::vector<RingEntry> entries;
  entries.reserve(workers_.size() * static_cast<size_t>(virtual_nodes_));
  for (size_t w = 0; w < workers_.size(); ++w) {
    for (int i = 0; i < virtual_nodes_; ++i) {
      entries.push_back(RingEntry{vnode_hash(workers_[w].identity, i), static_cast<uint32_t>(w)});
    }
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const RingEntry& a, const RingEntry& b) { return a.hash < b.hash; });
  // Keep the last of each run of equal hashes (the later insertion).
  std::vector<RingEntry> unique;
  unique.reserve(entries.size());
  for (const RingEntry& e : entries) {
    if (!unique.empty() && unique.back().hash == e.hash) {
      unique.back() = e;
    } else {
      unique.push_back(e);
    }
  }
  entries_ = std::make_shared<const std::vector<RingEntry>>(std::move(unique));
}

int32_t HashRing::probe_hash(std::string_view key, int32_t attempt) {
  std::string buf;
  buf.reserve(key.size() + 4);
  buf.append(key);
  append_le32(&buf, attempt);
  return murmur3_x86_32(buf, 0);
}

int32_t HashRing::vnode_hash(const WorkerIdentity& identity, int32_t index) {
  std::string buf;
  buf.reserve(identity.identifier.size() + 8);
  buf.append(identity.identifier);
  append_le32(&buf, identity.version);
  append_le32(&buf, index);
  return murmur3_x86_32(buf, 0);
}

size_t HashRing::owner_index_for_hash(int32_t probe) const {
  const std::vector<RingEntry>& e = *entries_;
  if (e.empty()) return kNone;
  auto it = std::lower_bound(e.begin(), e.end(), probe,
                             [](const RingEntry& entry, int32_t p) { return entry.hash < p; });
  if (it == e.end()) it = e.begin();
  return it->worker;
}

const Worker* HashRing::owner(std::string_view key, int32_t attempt) const {
  size_t i = owner_index(key, attempt);
  return i == kNone ? nullptr : &workers_[i];
}

std::vector<size_t> HashRing::pick_indices(std::string_view key, size_t count,
                                           int* probes_used) const {
  count = std::min(count, workers_.size());
  std::vector<size_t> picked;
  picked.reserve(count);
  int probes = 0;
  if (count > 0) {
    std::vector<bool> seen(workers_.size(), false);
    // One buffer for every attempt: only the 4 attempt bytes change.
    std::string buf(key);
    buf.append(4, '\0');
    for (int32_t a = 1; a <= kMaxPickAttempts && picked.size() < count; ++a) {
      auto u = static_cast<uint32_t>(a);
      for (int b = 0; b < 4; ++b) {
        buf[key.size() + b] = static_cast<char>((u >> (8 * b)) & 0xFFU);
      }
      ++probes;
      size_t w = owner_index_for_hash(murmur3_x86_32(buf, 0));
      if (!seen[w]) {
        seen[w] = true;
        picked.push_back(w);
      }
    }
  }
  if (probes_used != nullptr) *probes_used = probes;
  return picked;
}

std::vector<Worker> HashRing::pick(std::string_view key, size_t count) const {
  std::vector<Worker> out;
  for (size_t i : pick_indices(key, count)) out.push_back(workers_[i]);
  return out;
}

std::optional<HashRing> HashRing::with_addresses(const std::vector<Worker>& workers) const {
  std::vector<Worker> canon = canonical_workers(workers);
  if (canon.size() != workers_.size()) return std::nullopt;
  for (size_t i = 0; i < canon.size(); ++i) {
    if (!(canon[i].identity == workers_[i].identity)) return std::nullopt;
  }
  HashRing ring(*this);
  ring.workers_ = std::move(canon);
  return ring;
}

}  // namespace alluxio_fuse::cluster
