// test-deps: af_store
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "alluxio_fuse/common/errno_text.h"
#include "alluxio_fuse/common/hash.h"
#include "alluxio_fuse/common/iov.h"
#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/common/uri.h"
#include "alluxio_fuse/store/store.h"  // NOLINT

namespace alluxio_fuse::common {
namespace {

TEST(Iov, ConsumeSkipsWrittenBuffersAndTrimsThePartOne) {
  char a[4] = {'a', 'b', 'c', 'd'};
  char b[3] = {'e', 'f', 'g'};
  iovec iov[2] = {{a, sizeof a}, {b, sizeof b}};
  iovec* cur = iov;
  int count = 2;
  consume_iov(cur, count, 2);  // inside the first buffer
  EXPECT_EQ(count, 2);
  EXPECT_EQ(cur, iov);
  EXPECT_EQ(static_cast<char*>(cur->iov_base), a + 2);
  EXPECT_EQ(cur->iov_len, 2u);
  consume_iov(cur, count, 3);  // the rest of the first and one byte of the second
  EXPECT_EQ(count, 1);
  EXPECT_EQ(cur, iov + 1);
  EXPECT_EQ(static_cast<char*>(cur->iov_base), b + 1);
  EXPECT_EQ(cur->iov_len, 2u);
  consume_iov(cur, count, 2);  // everything
  EXPECT_EQ(count, 0);
}

TEST(Iov, ConsumeSkipsEmptyBuffersOnAnExactBoundary) {
  char a[2] = {'a', 'b'};
  iovec iov[2] = {{a, sizeof a}, {nullptr, 0}};
  iovec* cur = iov;
  int count = 2;
  consume_iov(cur, count, 2);
  EXPECT_EQ(count, 0);
}

TEST(Hash, Sha256PathIdMatchesSpec) {
  EXPECT_EQ(sha256_hex("s3://bkt/a.csv"),
            "a8b55a1f22bb80550d0c0b40fb95b6998eab4f2c7bdd113cfdd0506a90af167a");
}

TEST(Hash, Crc32cKnownAnswer) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283U);
  EXPECT_EQ(crc32c("", 0), 0U);
  // Continuation equals one pass.
  uint32_t part = crc32c("12345", 5);
  EXPECT_EQ(crc32c("6789", 4, part), 0xE3069283U);
}

// The interleaved per-block CRCs equal one crc32c per block: every length around the block
// and three-block boundaries, blocks the hardware path takes (multiples of 8) and one it does
// not, data at every alignment.
TEST(Hash, Crc32cBlocksEqualsOneCrcPerBlock) {
  std::string data(3 * 4096 * 3 + 64, '\0');
  uint32_t x = 12345;
  for (char& c : data) {
    x = x * 1103515245U + 12345U;
    c = static_cast<char>(x >> 16);
  }
  for (size_t block : {size_t{4096}, size_t{8}, size_t{24}, size_t{20}}) {
    for (size_t len : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, block - 1, block, block + 1,
                       3 * block - 1, 3 * block, 3 * block + 5, 7 * block - 1, 9 * block}) {
      for (size_t align = 0; align < 8; ++align) {
        ASSERT_LE(align + len, data.size());
        const char* p = data.data() + align;
        const size_t n = (len + block - 1) / block;
        std::vector<uint32_t> got(n + 1, 0xDEADBEEFU);
        crc32c_blocks(p, len, block, got.data());
        for (size_t i = 0; i < n; ++i) {
          const size_t b = i * block;
          ASSERT_EQ(got[i], crc32c(p + b, std::min(block, len - b)))
              << "block " << block << " len " << len << " align " << align << " chunk " << i;
        }
        EXPECT_EQ(got[n], 0xDEADBEEFU) << "wrote past the last chunk";
      }
    }
  }
}

// One table serves config (fallback.on), its rendering and the router's fallback decision.
TEST(Status, FallbackClassesRoundTripByName) {
  int classes = 0;
  for (int i = 0; i <= static_cast<int>(Code::kRange); ++i) {
    const auto code = static_cast<Code>(i);
    Code parsed = Code::kOk;
    if (is_fallback_class(code)) {
      ++classes;
      EXPECT_EQ(fallback_class_name(code), to_string(code));
      ASSERT_TRUE(parse_fallback_class(to_string(code), parsed));
      EXPECT_EQ(parsed, code);
    } else {
      EXPECT_EQ(fallback_class_name(code), "");
      EXPECT_FALSE(parse_fallback_class(to_string(code), parsed)) << to_string(code);
    }
  }
  EXPECT_EQ(classes, 5);
  Code parsed = Code::kOk;
  EXPECT_FALSE(parse_fallback_class("", parsed));
  EXPECT_FALSE(parse_fallback_class("Timeout", parsed));
}

TEST(Hash, Md5HostIdentityInput) {
  EXPECT_EQ(to_hex(md5_raw("10.0.0.1")), "190dafab69706a67221c1226360de7dc");
}

TEST(Uri, NormalizeRoot) {
  EXPECT_EQ(*normalize_root("s3://bkt/pre/"), "s3://bkt/pre");
  EXPECT_EQ(*normalize_root("s3://bkt"), "s3://bkt");
  EXPECT_EQ(*normalize_root("s3://bkt/"), "s3://bkt");
  EXPECT_EQ(*normalize_root("file:///"), "file:///");
  EXPECT_EQ(*normalize_root("file:///data//x///"), "file:///data/x");
  EXPECT_FALSE(normalize_root("/data").ok());
}

TEST(Uri, JoinKeyExamplesFromSpec) {
  EXPECT_EQ(join_key("s3://bkt/pre", "/x/y.parquet"), "s3://bkt/pre/x/y.parquet");
  EXPECT_EQ(join_key("s3://bkt", "/"), "s3://bkt");
  EXPECT_EQ(join_key("file:///data", "/a"), "file:///data/a");
  EXPECT_EQ(join_key("file:///", "/a"), "file:///a");
  EXPECT_EQ(child_key("file:///", "a"), "file:///a");
}

TEST(Uri, NameValidation) {
  EXPECT_TRUE(is_valid_name("a b.txt"));
  EXPECT_TRUE(is_valid_name("数据"));
  EXPECT_FALSE(is_valid_name(""));
  EXPECT_FALSE(is_valid_name("."));
  EXPECT_FALSE(is_valid_name(".."));
  EXPECT_FALSE(is_valid_name("a/b"));
  EXPECT_FALSE(is_valid_name(std::string("a\0b", 3)));
  EXPECT_FALSE(is_valid_name(std::string(256, 'x')));
  EXPECT_TRUE(is_valid_name(std::string(255, 'x')));
  EXPECT_FALSE(is_valid_name("\xed\xb2\x80"));  // surrogate U+DC80
  EXPECT_FALSE(is_valid_name("\xc0\xaf"));      // overlong '/'
  EXPECT_EQ(check_name(std::string(256, 'x')).code(), Code::kNameTooLong);
}

TEST(Uri, LocalPathForKey) {
  EXPECT_EQ(*local_path_for_key("file:///data", "file:///data/a/b"), "/data/a/b");
  EXPECT_EQ(*local_path_for_key("file:///data", "file:///data"), "/data");
  EXPECT_EQ(*local_path_for_key("file:///", "file:///a"), "/a");
  EXPECT_FALSE(local_path_for_key("file:///data", "file:///data/../etc").ok());
  EXPECT_FALSE(local_path_for_key("file:///data", "file:///database").ok());
  EXPECT_FALSE(local_path_for_key("s3://b", "s3://b/x").ok());
}

TEST(Status, ResultCarriesValueOrStatus) {
  Result<int> good(5);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 5);
  Result<int> bad(Status(Code::kNotFound, "x"));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kNotFound);
  EXPECT_EQ(bad.status().to_string(), "not_found: x");
}

// The thread-safe replacement says what strerror says, for known values and unknown ones.
TEST(ErrnoText, SameTextAsStrerror) {
  EXPECT_EQ(errno_text(ENOENT), "No such file or directory");
  for (int err : {0, EIO, ENOSPC, ENOTCONN, EDQUOT, 4095, -1}) {
    EXPECT_EQ(errno_text(err), std::strerror(err)) << err;
  }
}

TEST(Store, VersionTag) {
  store::FileInfo info;
  EXPECT_EQ(store::version_tag(info), "");
  info.mtime_ms = 1700000000000;
  info.size = 77;
  EXPECT_EQ(store::version_tag(info), "m:1700000000000:l:77");
  info.content_hash = "abc";
  EXPECT_EQ(store::version_tag(info), "h:abc");
}

}  // namespace
}  // namespace alluxio_fuse::common
