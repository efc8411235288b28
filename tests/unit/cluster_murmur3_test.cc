#include <gtest/gtest.h>

#include <string>

#include "alluxio_fuse/cluster/murmur3.h"

namespace alluxio_fuse::cluster {
namespace {

uint32_t h(const std::string& s, uint32_t seed) {
  return static_cast<uint32_t>(murmur3_x86_32(s, seed));
}
std::string bytes(std::initializer_list<unsigned char> b) {
  return std::string(b.begin(), b.end());
}

TEST(Murmur3, SpecKnownAnswers) {
  EXPECT_EQ(murmur3_x86_32(""), 0);
  EXPECT_EQ(murmur3_x86_32("abc"), -1277324294);
  EXPECT_EQ(h("", 1), 0x514E28B7U);
}

// The published MurmurHash3_x86_32 test values, covering every tail length 0-3 and aligned
// inputs, with several seeds.
TEST(Murmur3, PublishedValues) {
  EXPECT_EQ(h("", 0xffffffffU), 0x81F16F39U);
  EXPECT_EQ(h(bytes({0xff, 0xff, 0xff, 0xff}), 0), 0x76293B50U);
  EXPECT_EQ(h(bytes({0x21, 0x43, 0x65, 0x87}), 0), 0xF55B516BU);
  EXPECT_EQ(h(bytes({0x21, 0x43, 0x65, 0x87}), 0x5082EDEEU), 0x2362F9DEU);
  EXPECT_EQ(h(bytes({0x21, 0x43, 0x65}), 0), 0x7E4A8634U);
  EXPECT_EQ(h(bytes({0x21, 0x43}), 0), 0xA0F7B07AU);
  EXPECT_EQ(h(bytes({0x21}), 0), 0x72661CF4U);
  EXPECT_EQ(h(bytes({0, 0, 0, 0}), 0), 0x2362F9DEU);
  EXPECT_EQ(h(bytes({0, 0, 0}), 0), 0x85F0B427U);
  EXPECT_EQ(h(bytes({0, 0}), 0), 0x30F4C306U);
  EXPECT_EQ(h(bytes({0}), 0), 0x514E28B7U);

  EXPECT_EQ(h("Hello, world!", 1234), 0xFAF6CDB3U);
  EXPECT_EQ(h("The quick brown fox jumps over the lazy dog", 0), 0x2E4FF723U);

  const uint32_t seed = 0x9747b28cU;
  EXPECT_EQ(h("aaaa", seed), 0x5A97808AU);
  EXPECT_EQ(h("aaa", seed), 0x283E0130U);
  EXPECT_EQ(h("aa", seed), 0x5D211726U);
  EXPECT_EQ(h("a", seed), 0x7FA09EA6U);
  EXPECT_EQ(h("abcd", seed), 0xF0478627U);
  EXPECT_EQ(h("abc", seed), 0xC84A62DDU);
  EXPECT_EQ(h("ab", seed), 0x74875592U);
  EXPECT_EQ(h("Hello, world!", seed), 0x24884CBAU);
  EXPECT_EQ(h("\xcf\x80\xcf\x80\xcf\x80\xcf\x80\xcf\x80\xcf\x80\xcf\x80\xcf\x80", seed),
            0xD58063C1U);
  EXPECT_EQ(h(std::string(256, 'a'), seed), 0x37405BDCU);
}

TEST(Murmur3, UnalignedInputGivesSameHash) {
  std::string buf = "xabcdefgh";
  EXPECT_EQ(murmur3_x86_32(std::string_view(buf).substr(1)), murmur3_x86_32("abcdefgh"));
}

}  // namespace
}  // namespace alluxio_fuse::cluster
