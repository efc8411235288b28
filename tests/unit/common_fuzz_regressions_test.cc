// Inputs the libFuzzer targets (tests/fuzz/uri_fuzzer.cc) found breaking common/uri.h promises,
// kept as regression tests.
#include <gtest/gtest.h>

#include "alluxio_fuse/common/uri.h"

namespace alluxio_fuse::common {
namespace {

// A file:// root without an absolute path mapped keys to paths relative to the daemon's
// working directory ("file://" + "t/d" -> "t/d").
TEST(UriFuzzRegression, FileRootWithoutAbsolutePathIsRefused) {
  EXPECT_EQ(local_path_for_key("file://", "file://t/d").status().code(), Code::kInvalid);
  EXPECT_EQ(local_path_for_key("file://", "file://").status().code(), Code::kInvalid);
  EXPECT_EQ(local_path_for_key("file://data/x", "file://data/x/a").status().code(), Code::kInvalid);
  auto ok = local_path_for_key("file:///data", "file:///data/a");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), "/data/a");
  auto root = local_path_for_key("file:///", "file:///a");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root.value(), "/a");
}

}  // namespace
}  // namespace alluxio_fuse::common
