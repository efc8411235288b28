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
  static const std::array<uint32_t, 256> table = make_crc_table();
  for (size_t i = 0; i < len; ++i) crc = table[(crc ^ p[i]) & 0xFFU] ^ (crc >> 8);
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
  static const bool has_hw = __builtin_cpu_supports("sse4.2");
  c = has_hw ? crc32c_hw(p, len, c) : crc32c_soft(p, len, c);
#else
  c = crc32c_soft(p, len, c);
#endif
  return ~c;
}

}  // namespace alluxio_fuse::common
