// Page file format helpers. Fields are written byte by byte in little-endian order, so the
// format does not depend on the host's endianness or struct padding.
#include "alluxio_fuse/cache/page_file.h"

#include <cstring>
#include <vector>

#include "alluxio_fuse/common/hash.h"

namespace alluxio_fuse::cache {
namespace {

void put_le(char* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

uint64_t get_le(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase is not a valid file id: ids are always written lowercase
}

}  // namespace

std::string file_id(std::string_view key, std::string_view version_tag) {
  std::string input;
  input.reserve(key.size() + 1 + version_tag.size());
  input.append(key);
  input.push_back('\0');
  input.append(version_tag);
  return common::sha256_hex(input);
}

common::Result<FileIdRaw> parse_file_id(std::string_view hex) {
  if (hex.size() != kFileIdHexLen) {
    return common::make_status(common::Code::kInvalid, "file id must be 64 hex characters");
  }
  FileIdRaw raw{};
  for (size_t i = 0; i < raw.size(); ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return common::make_status(common::Code::kInvalid, "file id is not lowercase hex");
    }
    raw[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return raw;
}

std::string file_id_hex(const FileIdRaw& raw) {
  return common::to_hex(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

void encode_header(const PageHeader& h, char* out) {
  std::memcpy(out, kPageMagic.data(), 8);
  put_le(out + 8, kHeaderVersion, 4);
  put_le(out + 12, h.page_size, 4);
  put_le(out + 16, h.page_index, 8);
  put_le(out + 24, h.data_len, 4);
  put_le(out + 28, h.crc, 4);
  std::memcpy(out + 32, h.file_id.data(), h.file_id.size());
}

common::Result<PageHeader> decode_header(const char* in) {
  if (std::memcmp(in, kPageMagic.data(), 8) != 0) {
    return common::make_status(common::Code::kBadResponse, "page file: bad magic");
  }
  if (get_le(in + 8, 4) != kHeaderVersion) {
    return common::make_status(common::Code::kBadResponse, "page file: unknown header version");
  }
  PageHeader h;
  h.page_size = static_cast<uint32_t>(get_le(in + 12, 4));
  h.page_index = get_le(in + 16, 8);
  h.data_len = static_cast<uint32_t>(get_le(in + 24, 4));
  h.crc = static_cast<uint32_t>(get_le(in + 28, 4));
  std::memcpy(h.file_id.data(), in + 32, h.file_id.size());
  return h;
}

uint32_t encode_block_table(const char* data, size_t len, char* table) {
  const size_t n = block_count(len);
  std::vector<uint32_t> crcs(n);
  common::crc32c_blocks(data, len, kBlockSize, crcs.data());
  for (size_t i = 0; i < n; ++i) put_le(table + 4 * i, crcs[i], 4);
  return common::crc32c(table, 4 * n);
}

uint32_t block_crc(const char* table, size_t i) {
  return static_cast<uint32_t>(get_le(table + 4 * i, 4));
}

bool header_matches(const PageHeader& h, uint32_t page_size, uint64_t page_index,
                    const FileIdRaw& file_id, uint64_t file_len) {
  return h.page_size == page_size && h.page_index == page_index && h.file_id == file_id &&
         h.data_len <= page_size && file_len == page_file_size(page_size, h.data_len);
}

std::string page_size_dir(const std::string& root, uint32_t page_size) {
  return root + "/" + std::to_string(page_size);
}

std::string file_dir(const std::string& root, uint32_t page_size, std::string_view file_id_hex) {
  std::string p = page_size_dir(root, page_size);
  p += '/';
  p.append(file_id_hex.substr(0, 2));
  p += '/';
  p.append(file_id_hex);
  return p;
}

std::string page_path(const std::string& root, uint32_t page_size, std::string_view file_id_hex,
                      uint64_t page_index) {
  return file_dir(root, page_size, file_id_hex) + "/" + std::to_string(page_index);
}

bool parse_page_index(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

}  // namespace alluxio_fuse::cache
