// Configuration inputs found by fuzzing (tests/fuzz/config_fuzzer.cc, uri_fuzzer.cc) that broke
// a promise, kept as regression tests.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "alluxio_fuse/config/config.h"

namespace alluxio_fuse::config {
namespace {

using ::testing::HasSubstr;

LoadResult load(const std::string& yaml) {
  return load_config_string(yaml, "conf.yaml", map_environment({}));
}

// A file:// root without an absolute path named paths relative to the daemon's working
// directory; it is refused at load time with the key and line.
TEST(ConfigFuzzRegression, FileRootNeedsAnAbsolutePath) {
  for (const char* root : {"file://", "file://srv/data", "file://./x"}) {
    auto r = load(std::string("ufs_root: \"") + root + "\"\n");
    EXPECT_FALSE(r.config.has_value()) << root;
    ASSERT_EQ(r.errors.size(), 1u) << root << ": " << ::testing::PrintToString(r.errors);
    EXPECT_THAT(r.errors[0], HasSubstr("conf.yaml:1: "));
    EXPECT_THAT(r.errors[0], HasSubstr("ufs_root"));
    EXPECT_THAT(r.errors[0], HasSubstr("file:///srv/data"));
  }
  auto scheme_less = load("ufs_root: srv/data\ntarget_protocol: file\n");
  EXPECT_FALSE(scheme_less.config.has_value());
  auto ok = load("ufs_root: file:///srv/data\n");
  ASSERT_TRUE(ok.config.has_value()) << ::testing::PrintToString(ok.errors);
  EXPECT_EQ(ok.config->ufs_root, "file:///srv/data");
  auto slash = load("ufs_root: /srv/data\ntarget_protocol: file\n");
  ASSERT_TRUE(slash.config.has_value()) << ::testing::PrintToString(slash.errors);
  EXPECT_EQ(slash.config->ufs_root, "file:///srv/data");
}

}  // namespace
}  // namespace alluxio_fuse::config
