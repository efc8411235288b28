#pragma once
// Mount point checks before mounting: exists, is a directory, not a live mount; a dead FUSE
// mount ("Transport endpoint is not connected") left by a crashed daemon is cleared.

#include <cstdint>
#include <string>

#include "alluxio_fuse/common/status.h"

namespace alluxio_fuse::app {

// Absolute, canonical mount point, or an error naming the problem.
common::Result<std::string> prepare_mountpoint(const std::string& mountpoint);

// True when `path` is listed as a mount point in /proc/self/mountinfo.
bool is_mountpoint(const std::string& path);

// Sets the kernel readahead of the live mount's backing device (/sys/class/bdi/<maj>:<min>/
// read_ahead_kb) to `bytes`. FUSE starts every mount at 128 KiB; with max_read 1 MiB a larger
// window lets the kernel send 1 MiB reads ahead of a sequential reader instead of 128 KiB ones.
// Best effort: needs root (logs and returns the error otherwise). Call once the mount answers.
common::Status set_kernel_readahead(const std::string& mountpoint, uint64_t bytes);

// fusermount3 -u (then umount2 for root), lazily if asked.
common::Status unmount_path(const std::string& path, bool lazy);

}  // namespace alluxio_fuse::app
