#pragma once
// Descriptors this process holds open on files whose path starts with `prefix`, counted from
// /proc/self/fd: how tests see which page files a cache keeps open.

#include <cstddef>
#include <filesystem>
#include <string>

namespace alluxio_fuse::testing {

inline size_t open_files_under(const std::string& prefix) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(e.path(), ec);
    if (!ec && target.string().rfind(prefix, 0) == 0) ++n;
  }
  return n;
}

}  // namespace alluxio_fuse::testing
