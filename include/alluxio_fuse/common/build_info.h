#pragma once

// The build's version and git revision. The revision lives in one generated source file
// (build/generated/build_revision.cc) so a new commit recompiles that file only, not every
// module that prints a version.

namespace alluxio_fuse::common {

// "0.1.0"
const char* build_version();
// Short git revision of the source tree at configure time, or "unknown".
const char* build_revision();

}  // namespace alluxio_fuse::common
