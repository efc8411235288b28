#pragma once
// Thread names, so `top -H`, `ps -L`, perf and gdb show which part of the daemon a thread
// belongs to (OPERATIONS.md lists the names). Linux keeps at most 15 characters; longer names
// are cut. Naming never fails the caller.

#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace alluxio_fuse::common {

void name_this_thread(std::string_view name);

// A std::thread that names itself, then runs `fn`.
template <typename F>
std::thread named_thread(std::string_view name, F&& fn) {
  return std::thread([name = std::string(name), fn = std::forward<F>(fn)]() mutable {
    name_this_thread(name);
    fn();
  });
}

}  // namespace alluxio_fuse::common
