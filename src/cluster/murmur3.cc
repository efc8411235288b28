// Straight port of Austin Appleby's MurmurHash3_x86_32. Blocks are read little-endian byte by
// byte (not through a pointer cast) so the result does not depend on host endianness or
// alignment; the ring must agree bit for bit with the Java and Python clients.
#include "alluxio_fuse/cluster/murmur3.h"

#include <cstddef>

namespace alluxio_fuse::cluster {
namespace {

constexpr uint32_t kC1 = 0xcc9e2d51U;
constexpr uint32_t kC2 = 0x1b873593U;

inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bU;
  h ^= h >> 13;
  h *= 0xc2b2ae35U;
  h ^= h >> 16;
  return h;
}

inline uint32_t mix_k1(uint32_t k1) {
  k1 *= kC1;
  k1 = rotl32(k1, 15);
  k1 *= kC2;
  return k1;
}

}  // namespace

int32_t murmur3_x86_32(std::string_view bytes, uint32_t seed) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t len = bytes.size();
  const size_t nblocks = len / 4;
  uint32_t h1 = seed;

  for (size_t i = 0; i < nblocks; ++i) {
    const unsigned char* p = data + i * 4;
    uint32_t k1 = static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
                  (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
    h1 ^= mix_k1(k1);
    h1 = rotl32(h1, 13);
    h1 = h1 * 5 + 0xe6546b64U;
  }

  const unsigned char* tail = data + nblocks * 4;
  uint32_t k1 = 0;
  switch (len & 3U) {
    case 3:
      k1 ^= static_cast<uint32_t>(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      k1 ^= static_cast<uint32_t>(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      k1 ^= static_cast<uint32_t>(tail[0]);
      h1 ^= mix_k1(k1);
      break;
    default:
      break;
  }

  h1 ^= static_cast<uint32_t>(len);
  // Two's-complement reinterpretation (well defined since C++20).
  return static_cast<int32_t>(fmix32(h1));
}

}  // namespace alluxio_fuse::cluster
