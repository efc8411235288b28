#pragma once
// Damages a file on disk the way a bad sector or a stray write would: one byte XORed with
// `mask` (non-zero, so the byte always changes). Tests of integrity checks use it.

#include <cstdint>
#include <fstream>
#include <string>

namespace alluxio_fuse::testing {

inline bool flip_byte(const std::string& path, uint64_t offset, char mask = 0x01) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  char c = 0;
  f.seekg(static_cast<std::streamoff>(offset));
  f.read(&c, 1);
  c = static_cast<char>(c ^ mask);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  return static_cast<bool>(f);
}

}  // namespace alluxio_fuse::testing
