#pragma once
// The one place where a common::Status becomes an errno (semantics.md §5).
// Thread-safety: pure functions.

#include "alluxio_fuse/common/status.h"

namespace alluxio_fuse::fuse {

int to_errno(const common::Status& status);
// Name of an errno in the closed set of metrics.md §2 ("OTHER" outside it).
const char* errno_name(int err);

}  // namespace alluxio_fuse::fuse
