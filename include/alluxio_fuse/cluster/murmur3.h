#pragma once
// MurmurHash3 x86_32, the hash of the consistent-hash ring (routing.md §1).
// Thread-safety: pure functions.

#include <cstdint>
#include <string_view>

namespace alluxio_fuse::cluster {

// MurmurHash3_x86_32 of `bytes` with `seed`, read as a signed two's-complement int32 (Guava
// murmur3_32_fixed().asInt(), Python mmh3 signed). The ring always uses seed 0.
int32_t murmur3_x86_32(std::string_view bytes, uint32_t seed = 0);

}  // namespace alluxio_fuse::cluster
