#pragma once
// Names the calling thread, so `top -H`, `ps -L`, perf and gdb show which part of the daemon a
// thread belongs to (OPERATIONS.md lists the names). Linux keeps at most 15 characters; longer
// names are cut. Never fails the caller.

#include <string_view>

namespace alluxio_fuse::common {

void name_this_thread(std::string_view name);

}  // namespace alluxio_fuse::common
