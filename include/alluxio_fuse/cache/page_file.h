#pragma once
// The on-disk page file format and layout of page-cache.md §4.1: the 64-byte little-endian
// header, file ids, and the paths `<dir>/<P>/<bucket>/<file id>/<index>`.
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
inline constexpr uint32_t kHeaderVersion = 1;
inline constexpr size_t kFileIdHexLen = 64;

// Raw 32-byte SHA-256 file id.
using FileIdRaw = std::array<uint8_t, 32>;

// The header fields after magic and format version.
struct PageHeader {
  uint32_t page_size = 0;
  uint64_t page_index = 0;
  uint32_t data_len = 0;
  uint32_t crc = 0;  // CRC32C of the data
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

// Whether a decoded header is consistent with the page file's path and length: same P, index
// and file id, data length ≤ P, and file length = 64 + data length.
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
