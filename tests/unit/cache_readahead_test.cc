// Readahead window arithmetic (page-cache.md §5).
#include <gtest/gtest.h>

#include <set>

#include "alluxio_fuse/cache/readahead.h"

namespace alluxio_fuse::cache {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kK = 128 * 1024;  // max_read

ReadaheadOptions opts(uint64_t max_window = 4 * kMiB, uint32_t per_file = 8) {
  ReadaheadOptions o;
  o.page_size = kMiB;
  o.initial_window = kMiB;
  o.max_window = max_window;
  o.per_file_fetches = per_file;
  o.max_read = kK;
  return o;
}

using V = std::vector<uint64_t>;
const auto kNothingCached = [](uint64_t) { return false; };
constexpr uint64_t kSize = 100 * kMiB;

TEST(Readahead, WindowDoublesToMaxAndPrefetchesAhead) {
  Readahead ra(opts());
  // [128K, 128K + 1M) overlaps pages 0 and 1.
  EXPECT_EQ(ra.on_read(0, kK, kSize, kNothingCached), (V{0, 1}));
  EXPECT_EQ(ra.window(), kMiB);
  EXPECT_EQ(ra.on_read(kK, kK, kSize, kNothingCached), (V{2}));  // W = 2M: [256K, 2M+256K)
  EXPECT_EQ(ra.window(), 2 * kMiB);
  EXPECT_EQ(ra.on_read(2 * kK, kK, kSize, kNothingCached), (V{3, 4}));  // W = 4M
  EXPECT_EQ(ra.window(), 4 * kMiB);
  EXPECT_EQ(ra.on_read(3 * kK, kK, kSize, kNothingCached), (V{}));  // capped at max
  EXPECT_EQ(ra.window(), 4 * kMiB);
  EXPECT_EQ(ra.in_flight(), 5u);
  EXPECT_EQ(ra.next(), 4 * kK);
}

TEST(Readahead, JumpResetsWindow) {
  Readahead ra(opts());
  ra.on_read(0, kK, kSize, kNothingCached);
  ra.on_read(kK, kK, kSize, kNothingCached);
  EXPECT_EQ(ra.on_read(50 * kMiB, kK, kSize, kNothingCached), (V{}));
  EXPECT_EQ(ra.window(), 0u);
  // Sequential again from there: window restarts at the initial size.
  EXPECT_EQ(ra.on_read(50 * kMiB + kK, kK, kSize, kNothingCached), (V{50, 51}));
  EXPECT_EQ(ra.window(), kMiB);
  // Backward jump.
  EXPECT_EQ(ra.on_read(kMiB, kK, kSize, kNothingCached), (V{}));
  EXPECT_EQ(ra.window(), 0u);
}

TEST(Readahead, SequentialBounds) {
  // next − 2·max_read ≤ off ≤ next + W.
  {
    Readahead ra(opts());
    ra.on_read(10 * kMiB, kK, kSize, kNothingCached);  // jump (next was 0): W = 0
    const uint64_t next = 10 * kMiB + kK;
    ra.on_read(next - 2 * kK, kK, kSize, kNothingCached);  // slightly out of order: sequential
    EXPECT_EQ(ra.window(), kMiB);
  }
  {
    Readahead ra(opts());
    ra.on_read(10 * kMiB, kK, kSize, kNothingCached);
    const uint64_t next = 10 * kMiB + kK;
    ra.on_read(next - 2 * kK - 1, kK, kSize, kNothingCached);  // too far back
    EXPECT_EQ(ra.window(), 0u);
  }
  {
    Readahead ra(opts());
    ra.on_read(0, kK, kSize, kNothingCached);          // W = 1M, next = 128K
    ra.on_read(kK + kMiB, kK, kSize, kNothingCached);  // off = next + W: sequential
    EXPECT_EQ(ra.window(), 2 * kMiB);
  }
  {
    Readahead ra(opts());
    ra.on_read(0, kK, kSize, kNothingCached);
    ra.on_read(kK + kMiB + 1, kK, kSize, kNothingCached);  // one past next + W
    EXPECT_EQ(ra.window(), 0u);
  }
}

TEST(Readahead, StopsAtEof) {
  Readahead ra(opts());
  const uint64_t size = kMiB + kMiB / 2;
  EXPECT_EQ(ra.on_read(0, kK, size, kNothingCached), (V{0, 1}));
  EXPECT_EQ(ra.on_read(kK, size, size, kNothingCached), (V{}));  // read to EOF
  Readahead empty(opts());
  EXPECT_EQ(empty.on_read(0, 0, uint64_t{0}, kNothingCached), (V{}));
}

TEST(Readahead, PerFileLimitAndFetchDone) {
  Readahead ra(opts(32 * kMiB, 2));
  EXPECT_EQ(ra.on_read(0, kK, kSize, kNothingCached), (V{0, 1}));
  EXPECT_EQ(ra.on_read(kK, kK, kSize, kNothingCached), (V{}));  // 2 in flight
  ra.fetch_done(0);
  EXPECT_EQ(ra.on_read(2 * kK, kK, kSize, kNothingCached), (V{0}));  // page 0 not cached
  ra.fetch_done(0);
  ra.fetch_done(1);
  std::set<uint64_t> cached = {0, 1, 2};
  EXPECT_EQ(ra.on_read(3 * kK, kK, kSize, [&](uint64_t i) { return cached.count(i) != 0; }),
            (V{3, 4}));
}

TEST(Readahead, WindowsRoundUpToPages) {
  ReadaheadOptions o = opts();
  o.initial_window = 1000;
  o.max_window = 500;
  Readahead ra(o);
  EXPECT_EQ(ra.initial_window(), kMiB);
  EXPECT_EQ(ra.max_window(), kMiB);
}

TEST(Readahead, DisabledOrUnknownSize) {
  ReadaheadOptions o = opts();
  o.enabled = false;
  Readahead off(o);
  EXPECT_EQ(off.on_read(0, kK, kSize, kNothingCached), (V{}));
  Readahead unknown(opts());
  EXPECT_EQ(unknown.on_read(0, kK, std::nullopt, kNothingCached), (V{}));
  EXPECT_EQ(unknown.window(), kMiB);  // the state machine still tracks the reader
}

}  // namespace
}  // namespace alluxio_fuse::cache
