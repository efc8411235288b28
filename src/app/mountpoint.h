#pragma once
// Mount point checks before mounting: exists, is a directory, not a live mount; a dead FUSE
// mount ("Transport endpoint is not connected") left by a crashed daemon is cleared.

#include <string>

#include "alluxio_fuse/common/status.h"

namespace alluxio_fuse::app {

// Absolute, canonical mount point, or an error naming the problem.
common::Result<std::string> prepare_mountpoint(const std::string& mountpoint);

// True when `path` is listed as a mount point in /proc/self/mountinfo.
bool is_mountpoint(const std::string& path);

// fusermount3 -u (then umount2 for root), lazily if asked.
common::Status unmount_path(const std::string& path, bool lazy);

}  // namespace alluxio_fuse::app
