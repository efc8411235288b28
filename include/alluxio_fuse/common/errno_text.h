#pragma once
// The text of an errno value, for messages and log lines ("No such file or directory").
// std::strerror may hand back a buffer that another thread's call overwrites; this uses
// strerror_r and returns its own copy. Thread-safe.

#include <string>

namespace alluxio_fuse::common {

// The same text std::strerror gives, "Unknown error N" for a value libc does not know.
std::string errno_text(int err);

}  // namespace alluxio_fuse::common
