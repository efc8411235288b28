#pragma once
// Digests used for wire ids and page integrity.
// Thread-safety: pure functions.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace alluxio_fuse::common {

// Lowercase hex SHA-256 of the bytes (worker path_id, local file ids, mount id).
std::string sha256_hex(std::string_view data);
// Raw 32-byte SHA-256.
std::string sha256_raw(std::string_view data);
// Raw 16-byte MD5 (worker identity from a host name).
std::string md5_raw(std::string_view data);
// Lowercase hex of arbitrary bytes.
std::string to_hex(std::string_view bytes);

// CRC32C (Castagnoli, reflected 0x82F63B78); `crc` continues a previous value (start with 0).
uint32_t crc32c(const void* data, size_t len, uint32_t crc = 0);

// out[i] = crc32c of the i-th `block`-byte chunk of data[0, len) (the last one may be shorter),
// for ceil(len / block) chunks. With hardware CRC, three chunks are hashed at once: one chain of
// CRC instructions waits on each previous result, three independent chains fill the pipeline
// (page files keep a CRC per 4 KiB block, computed on every write and checked on every hit).
void crc32c_blocks(const void* data, size_t len, size_t block, uint32_t* out);

}  // namespace alluxio_fuse::common
