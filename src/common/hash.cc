// SHA-256/MD5 through OpenSSL's EVP API (linked privately to this module only), and a
// table-driven CRC32C, with SSE4.2 hardware CRC when the CPU has it: page verification runs on
// every cache hit, so it must cost far less than the copy it guards.
#include "alluxio_fuse/common/hash.h"

#include <openssl/evp.h>

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace alluxio_fuse::common {
namespace {

std::string evp_digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) ? (c >> 1) ^ 0x82F63B78U : (c >> 1);
    t[i] = c;
  }
  return t;
}

uint32_t crc32c_soft(const unsigned char* p, size_t len, uint32_t crc) {
  static const std::array<uint32_t, 256> kTable = make_crc_table();
  for (size_t i = 0; i < len; ++i) crc = kTable[(crc ^ p[i]) & 0xFFU] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_hw(const unsigned char* p, size_t len,
                                                     uint32_t crc) {
  uint64_t c = crc;
  while (len >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    len -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (len > 0) {
    c32 = _mm_crc32_u8(c32, *p++);
    --len;
  }
  return c32;
}

// Three whole chunks of `block` bytes (a multiple of 8) at p, p + block, p + 2·block.
__attribute__((target("sse4.2"))) void crc32c_hw_x3(const unsigned char* p, size_t block,
                                                    uint32_t* out) {
  const unsigned char* a = p;
  const unsigned char* b = p + block;
  const unsigned char* c = p + 2 * block;
  uint64_t ca = 0xFFFFFFFFU;
  uint64_t cb = 0xFFFFFFFFU;
  uint64_t cc = 0xFFFFFFFFU;
  for (size_t off = 0; off < block; off += 8) {
    uint64_t va;
    uint64_t vb;
    uint64_t vc;
    std::memcpy(&va, a + off, 8);
    std::memcpy(&vb, b + off, 8);
    std::memcpy(&vc, c + off, 8);
    ca = _mm_crc32_u64(ca, va);
    cb = _mm_crc32_u64(cb, vb);
    cc = _mm_crc32_u64(cc, vc);
  }
  out[0] = ~static_cast<uint32_t>(ca);
  out[1] = ~static_cast<uint32_t>(cb);
  out[2] = ~static_cast<uint32_t>(cc);
}
#endif

}  // namespace

std::string sha256_raw(std::string_view data) { return evp_digest(EVP_sha256(), data); }
std::string md5_raw(std::string_view data) { return evp_digest(EVP_md5(), data); }
std::string sha256_hex(std::string_view data) { return to_hex(sha256_raw(data)); }

std::string to_hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

uint32_t crc32c(const void* data, size_t len, uint32_t crc) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
#if defined(__x86_64__)
  static const bool kHasHw = __builtin_cpu_supports("sse4.2");
  c = kHasHw ? crc32c_hw(p, len, c) : crc32c_soft(p, len, c);
#else
  c = crc32c_soft(p, len, c);
#endif
  return ~c;
}

void crc32c_blocks(const void* data, size_t len, size_t block, uint32_t* out) {
  const auto* p = static_cast<const unsigned char*>(data);
  if (block == 0) return;
  const size_t whole = len / block;
  size_t i = 0;
#if defined(__x86_64__)
  static const bool kHasHw = __builtin_cpu_supports("sse4.2");
  if (kHasHw && block % 8 == 0) {
    for (; i + 3 <= whole; i += 3) crc32c_hw_x3(p + i * block, block, out + i);
  }
#endif
  for (; i * block < len; ++i) {
    const size_t begin = i * block;
    out[i] = crc32c(p + begin, len - begin < block ? len - begin : block);
  }
}

}  // namespace alluxio_fuse::common
