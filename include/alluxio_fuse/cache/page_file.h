#pragma once
// The on-disk page file format and layout of page-cache.md §4.1: the 64-byte little-endian
// header, file ids, and the paths `<dir>/<P>/<bucket>/<file id>/<index>`.
//
// Format version 2 [decision, deviating from §4.1's version 1]: the header's CRC field holds
// the CRC32C of a table that follows the header — one CRC32C (4 bytes LE) per 4 KiB block of
// the data — and the data starts at the next 4 KiB boundary after the table sized for a full
// page (data_offset(P): 4096 for P ≤ 1 MiB). A read verifies exactly the blocks it serves, so a
// 4 KiB random read costs one 4 KiB read and CRC instead of the whole page; every byte served
// is still checked against its CRC first. Version 1 files fail the header check and are
// deleted by the restore walk (their pages are refetched once).
//
// Thread-safety: pure functions and value types.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "alluxio_fuse/common/status.h"

namespace alluxio_fuse::cache {

inline constexpr size_t kHeaderSize = 64;
inline constexpr std::string_view kPageMagic = "AXFPAGE1";
inline constexpr uint32_t kHeaderVersion = 2;
inline constexpr size_t kFileIdHexLen = 64;
inline constexpr size_t kBlockSize = 4096;  // unit of the per-block CRC table

// Blocks of `data_len` bytes (the last may be short).
constexpr size_t block_count(uint64_t data_len) {
  return static_cast<size_t>((data_len + kBlockSize - 1) / kBlockSize);
}
// Bytes of the block CRC table of `data_len` bytes of data (a full page: the page size).
constexpr size_t table_bytes(uint64_t data_len) { return 4 * block_count(data_len); }
// Offset of the data in a page file: header + table, rounded up to a 4 KiB boundary.
constexpr size_t data_offset(uint32_t page_size) {
  return (kHeaderSize + table_bytes(page_size) + kBlockSize - 1) / kBlockSize * kBlockSize;
}
// Size of a page file holding `data_len` bytes.
constexpr uint64_t page_file_size(uint32_t page_size, uint64_t data_len) {
  return data_offset(page_size) + data_len;
}

// Raw 32-byte SHA-256 file id.
using FileIdRaw = std::array<uint8_t, 32>;

// The header fields after magic and format version.
struct PageHeader {
  uint32_t page_size = 0;
  uint64_t page_index = 0;
  uint32_t data_len = 0;
  uint32_t crc = 0;  // CRC32C of the block CRC table (block_count(data_len) entries)
  FileIdRaw file_id{};
};

// Local file id of page-cache.md §3: lowercase hex SHA-256 of key ‖ 0x00 ‖ version tag.
std::string file_id(std::string_view key, std::string_view version_tag);

// 64 lowercase hex characters -> raw bytes; kInvalid otherwise.
common::Result<FileIdRaw> parse_file_id(std::string_view hex);
std::string file_id_hex(const FileIdRaw& raw);

// Writes the 64-byte header into `out`.
void encode_header(const PageHeader& h, char* out);
// Checks magic and format version and decodes the rest; kBadResponse on a bad magic/version.
common::Result<PageHeader> decode_header(const char* in);

// Writes the block CRC table of `data` (4 bytes LE per 4 KiB block) into `table` and returns
// the CRC32C of the table (the header's crc).
uint32_t encode_block_table(const char* data, size_t len, char* table);
// Entry `i` of an encoded table.
uint32_t block_crc(const char* table, size_t i);

// Whether a decoded header is consistent with the page file's path and length: same P, index
// and file id, data length ≤ P, and file length = page_file_size(P, data length).
bool header_matches(const PageHeader& h, uint32_t page_size, uint64_t page_index,
                    const FileIdRaw& file_id, uint64_t file_len);

// "<P>" directory, bucket directory, file-id directory and page file paths under `root`.
std::string page_size_dir(const std::string& root, uint32_t page_size);
std::string file_dir(const std::string& root, uint32_t page_size, std::string_view file_id_hex);
std::string page_path(const std::string& root, uint32_t page_size, std::string_view file_id_hex,
                      uint64_t page_index);

// Strict decimal page index parse (no sign, no leading zeros except "0"); false otherwise.
bool parse_page_index(std::string_view s, uint64_t* out);

}  // namespace alluxio_fuse::cache
