// parse_size / parse_duration edge cases (page-cache.md §1, config.md §1).
#include <gtest/gtest.h>

#include "alluxio_fuse/config/units.h"

namespace alluxio_fuse::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

uint64_t size_of(std::string_view s) {
  auto r = parse_size(s);
  EXPECT_TRUE(r.ok()) << s;
  return r.ok() ? *r : 0;
}

TEST(ParseSize, BinaryUnitsLikeHumanfriendly) {
  EXPECT_EQ(size_of("1MB"), 1048576u);
  EXPECT_EQ(size_of("4MB"), 4194304u);
  EXPECT_EQ(size_of("20MB"), 20971520u);
  EXPECT_EQ(size_of("10GiB"), 10737418240u);
  EXPECT_EQ(size_of("512KB"), 524288u);
  EXPECT_EQ(size_of("1k"), 1024u);
  EXPECT_EQ(size_of("1 kib"), 1024u);
  EXPECT_EQ(size_of("2 G"), 2147483648u);
  EXPECT_EQ(size_of("1TB"), 1099511627776u);
  EXPECT_EQ(size_of("1tib"), 1099511627776u);
  EXPECT_EQ(size_of("  7B "), 7u);
  EXPECT_EQ(size_of("7 bytes"), 7u);
}

TEST(ParseSize, BareIntegerIsBytes) {
  EXPECT_EQ(size_of("0"), 0u);
  EXPECT_EQ(size_of("4096"), 4096u);
  EXPECT_EQ(size_of("18446744073709551615"), UINT64_MAX);
}

TEST(ParseSize, DecimalsRoundDown) {
  EXPECT_EQ(size_of("1.5KB"), 1536u);
  EXPECT_EQ(size_of("1.5"), 1u);       // Python int(1.5)
  EXPECT_EQ(size_of("0.1KiB"), 102u);  // int(0.1 * 1024) = int(102.4)
  EXPECT_EQ(size_of("1.1GiB"), 1181116006u);
}

TEST(ParseSize, Rejects) {
  for (const char* s : {"", " ", "ten gigs", "-1", "-1MB", "1XB", "MB", ".5MB", "1.MB", "1 M B",
                        "1PB", "1e3", "0x10", "18446744073709551616", "16777216TiB"}) {
    EXPECT_FALSE(parse_size(s).ok()) << s;
  }
}

TEST(ParseDuration, Units) {
  EXPECT_EQ(*parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(*parse_duration("120s"), seconds(120));
  EXPECT_EQ(*parse_duration("2m"), seconds(120));
  EXPECT_EQ(*parse_duration("1h"), seconds(3600));
  EXPECT_EQ(*parse_duration("120"), seconds(120));  // bare integer = seconds
  EXPECT_EQ(*parse_duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(*parse_duration(" 3 S "), seconds(3));
  EXPECT_EQ(*parse_duration("0"), nanoseconds(0));
  EXPECT_EQ(*parse_duration("-1"), seconds(-1));
  EXPECT_EQ(*parse_duration("-5m"), seconds(-300));
}

TEST(ParseDuration, Rejects) {
  for (const char* s : {"", "s", "ten", "5d", "5 sec", "1e3s", "--1", "5us", "99999999999999h"}) {
    EXPECT_FALSE(parse_duration(s).ok()) << s;
  }
}

TEST(Format, RoundTrips) {
  for (uint64_t v : {0ull, 1ull, 4096ull, 1048576ull, 1536ull, 10737418240ull, 1099511627776ull}) {
    EXPECT_EQ(*parse_size(format_size(v)), v) << v;
  }
  EXPECT_EQ(format_size(10737418240ull), "10GiB");
  EXPECT_EQ(format_size(1536), "1536");
  for (int64_t ns : {0ll, 1ll, 1'500'000ll, 100'000'000ll, 120'000'000'000ll, 7'200'000'000'000ll,
                     -1'000'000'000ll}) {
    EXPECT_EQ(parse_duration(format_duration(nanoseconds(ns)))->count(), ns) << ns;
  }
  EXPECT_EQ(format_duration(seconds(120)), "2m");
  EXPECT_EQ(format_duration(milliseconds(100)), "100ms");
  EXPECT_EQ(format_duration(seconds(30)), "30s");
}

}  // namespace
}  // namespace alluxio_fuse::config
