// MurmurHash3 x86_32 as published (little-endian blocks, tail, fmix32), and the ring built as
// routing.md §2 prescribes: identities sorted ascending before insertion so a vnode collision
// resolves the same way as in the daemon.
#include "ring.h"

#include <algorithm>
#include <cstring>

#include "alluxio_fuse/common/hash.h"

namespace alluxio_fuse::fake_worker {
namespace {

uint32_t rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

void append_le32(std::string& s, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((u >> (8 * i)) & 0xFF));
}

std::string identity_from_host(const std::string& host) {
  std::string b = common::md5_raw(host);
  b[6] = static_cast<char>((static_cast<uint8_t>(b[6]) & 0x0F) | 0x30);
  b[8] = static_cast<char>((static_cast<uint8_t>(b[8]) & 0x3F) | 0x80);
  return b;
}

}  // namespace

int32_t murmur3_32(std::string_view data, uint32_t seed) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const size_t len = data.size();
  const size_t nblocks = len / 4;
  uint32_t h = seed;
  const uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
  for (size_t i = 0; i < nblocks; ++i) {
    uint32_t k = static_cast<uint32_t>(p[4 * i]) | (static_cast<uint32_t>(p[4 * i + 1]) << 8) |
                 (static_cast<uint32_t>(p[4 * i + 2]) << 16) |
                 (static_cast<uint32_t>(p[4 * i + 3]) << 24);
    k *= c1;
    k = rotl(k, 15);
    k *= c2;
    h ^= k;
    h = rotl(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  const uint8_t* tail = p + nblocks * 4;
  uint32_t k1 = 0;
  switch (len & 3) {
    case 3:
      k1 ^= static_cast<uint32_t>(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      k1 ^= static_cast<uint32_t>(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      k1 ^= tail[0];
      k1 *= c1;
      k1 = rotl(k1, 15);
      k1 *= c2;
      h ^= k1;
  }
  h ^= static_cast<uint32_t>(len);
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return static_cast<int32_t>(h);
}

Ring::Ring(std::vector<Peer> peers, int vnodes) : peers_(std::move(peers)) {
  std::vector<std::pair<std::string, size_t>> ids;
  for (size_t i = 0; i < peers_.size(); ++i)
    ids.emplace_back(identity_from_host(peers_[i].host), i);
  std::sort(ids.begin(), ids.end());
  for (const auto& [id, index] : ids) {
    for (int v = 0; v < vnodes; ++v) {
      std::string input = id;
      append_le32(input, 1);  // identity version 1
      append_le32(input, v);
      ring_[murmur3_32(input)] = index;
    }
  }
}

const Peer& Ring::owner(std::string_view key) const {
  std::string probe(key);
  append_le32(probe, 1);
  auto it = ring_.lower_bound(murmur3_32(probe));
  if (it == ring_.end()) it = ring_.begin();
  return peers_[it->second];
}

}  // namespace alluxio_fuse::fake_worker
