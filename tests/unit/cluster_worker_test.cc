// Worker identity forms, host:port items, static membership and `route` output.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "alluxio_fuse/cluster/membership.h"
#include "alluxio_fuse/cluster/route_format.h"
#include "alluxio_fuse/cluster/worker.h"

namespace alluxio_fuse::cluster {
namespace {

using common::Code;

TEST(WorkerIdentity, FromHostMatchesSpecExample) {
  WorkerIdentity id = WorkerIdentity::from_host("10.0.0.1");
  EXPECT_EQ(id.version, 1);
  EXPECT_EQ(id.identifier.size(), 16U);
  EXPECT_EQ(id.hex(), "190dafab69703a67a21c1226360de7dc");
  EXPECT_EQ(id.to_string(), "worker-190dafab-6970-3a67-a21c-1226360de7dc");
}

TEST(WorkerIdentity, ParsesEveryForm) {
  const std::string hex = "cb157baaafe04b988af01a4645d38456";
  auto a =
      WorkerIdentity::from_json(R"({"version":1,"identifier":"cb157baaafe04b988af01a4645d38456"})");
  auto b = WorkerIdentity::parse("worker-cb157baa-afe0-4b98-8af0-1a4645d38456");
  auto c = WorkerIdentity::parse("CB157BAAAFE04B988AF01A4645D38456");
  auto d = WorkerIdentity::parse("cb157baa-afe0-4b98-8af0-1a4645d38456");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(a->hex(), hex);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, *c);  // byte equality, not text equality
  EXPECT_EQ(*a, *d);
  EXPECT_EQ(b->to_string(), "worker-cb157baa-afe0-4b98-8af0-1a4645d38456");

  auto legacy = WorkerIdentity::from_json(R"({"version":0,"identifier":"00000000000004d2"})");
  ASSERT_TRUE(legacy.ok());
  EXPECT_EQ(legacy->version, 0);
  EXPECT_EQ(legacy->identifier.size(), 8U);
  EXPECT_NE(*legacy, *a);
}

TEST(WorkerIdentity, RejectsMalformed) {
  EXPECT_EQ(WorkerIdentity::from_hex(1, "abcd").status().code(), Code::kInvalid);
  EXPECT_FALSE(WorkerIdentity::from_hex(0, "cb157baaafe04b988af01a4645d38456").ok());
  EXPECT_FALSE(WorkerIdentity::from_hex(2, "cb157baaafe04b988af01a4645d38456").ok());
  EXPECT_FALSE(WorkerIdentity::from_hex(1, "zb157baaafe04b988af01a4645d38456").ok());
  EXPECT_FALSE(WorkerIdentity::from_json("{}").ok());
  EXPECT_FALSE(WorkerIdentity::from_json("not json").ok());
  EXPECT_FALSE(WorkerIdentity::from_json(R"({"version":"1","identifier":"x"})").ok());
  EXPECT_FALSE(WorkerIdentity::parse("worker-cb157baa-afe04b98-8af0-1a4645d384-56").ok());
}

TEST(WorkerIdentity, OrderIsVersionThenUnsignedBytes) {
  auto lo = *WorkerIdentity::from_hex(1, "7f000000000000000000000000000000");
  auto hi = *WorkerIdentity::from_hex(1, "80000000000000000000000000000000");
  auto v0 = *WorkerIdentity::from_hex(0, "ffffffffffffffff");
  EXPECT_LT(lo, hi);  // 0x80 sorts after 0x7f: unsigned comparison
  EXPECT_LT(v0, lo);
}

TEST(HostPort, ParsesItems) {
  auto a = parse_host_port(" h1 ", 28080);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, (WorkerAddress{"h1", 28080}));
  EXPECT_EQ(*parse_host_port("h2:28081", 28080), (WorkerAddress{"h2", 28081}));
  EXPECT_EQ(*parse_host_port("[fd00::5]:28090", 28080), (WorkerAddress{"fd00::5", 28090}));
  EXPECT_EQ(*parse_host_port("[fd00::5]", 28080), (WorkerAddress{"fd00::5", 28080}));
  EXPECT_EQ(parse_host_port("[fd00::5]:1", 1)->to_string(), "[fd00::5]:1");
  EXPECT_FALSE(parse_host_port("", 28080).ok());
  EXPECT_FALSE(parse_host_port("fd00::5", 28080).ok());
  EXPECT_FALSE(parse_host_port("h:0", 28080).ok());
  EXPECT_FALSE(parse_host_port("h:70000", 28080).ok());
  EXPECT_FALSE(parse_host_port("h:x", 28080).ok());
  EXPECT_FALSE(parse_host_port("h:", 28080).ok());
}

TEST(StaticMembership, BuildsRingFromHostsOnly) {
  auto hosts = parse_worker_hosts("10.0.0.1,10.0.0.2:28081, 10.0.0.3", 28080);
  ASSERT_TRUE(hosts.ok());
  auto m = StaticMembership::create(*hosts, 5);
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  ASSERT_TRUE((*m)->start().ok());
  auto snap = (*m)->snapshot();
  ASSERT_EQ(snap->workers().size(), 3U);
  EXPECT_EQ((*m)->stats().workers.load(), 3);
  // Worked example of routing.md §2: the ring ignores ports.
  std::vector<Worker> picks =
      snap->ring.pick("s3://my-bucket/datasets/train/part-00000.parquet", 3);
  ASSERT_EQ(picks.size(), 3U);
  EXPECT_EQ(picks[0].address.host, "10.0.0.3");
  EXPECT_EQ(picks[1].address.host, "10.0.0.1");
  EXPECT_EQ(picks[2].address, (WorkerAddress{"10.0.0.2", 28081}));
}

TEST(StaticMembership, RejectsBadLists) {
  EXPECT_FALSE(parse_worker_hosts("a,,b", 28080).ok());
  EXPECT_FALSE(parse_worker_hosts("", 28080).ok());
  EXPECT_FALSE(StaticMembership::create({}, 5).ok());
  auto two_ports = StaticMembership::create({{"a", 1}, {"a", 2}}, 5);
  EXPECT_EQ(two_ports.status().code(), Code::kInvalid);
  auto same = StaticMembership::create({{"a", 1}, {"a", 1}}, 5);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ((*same)->snapshot()->workers().size(), 1U);
}

TEST(RouteFormat, Text) {
  std::vector<Worker> c = {Worker{WorkerIdentity::from_host("a"), {"10.0.0.3", 28080}},
                           Worker{WorkerIdentity::from_host("b"), {"fd00::5", 28081}}};
  EXPECT_EQ(format_route_text("s3://bkt/a", c), "s3://bkt/a\t10.0.0.3:28080,[fd00::5]:28081");
  EXPECT_EQ(format_route_text("", {}), "\t");
}

TEST(RouteFormat, TextEscapesControlAndInvalidBytesButKeepsUtf8) {
  EXPECT_EQ(escape_route_key("a\tb\nc\rd\\e"), "a\\tb\\nc\\rd\\\\e");
  EXPECT_EQ(escape_route_key(std::string("x\x01y\x7f", 4)), "x\\x01y\\x7f");
  EXPECT_EQ(escape_route_key(std::string("\0", 1)), "\\x00");
  EXPECT_EQ(escape_route_key("s3://b/数据/😀"), "s3://b/数据/😀");
  EXPECT_EQ(escape_route_key("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(escape_route_key("\xe6\x95"), "\\xe6\\x95");           // truncated sequence
  EXPECT_EQ(escape_route_key("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(escape_route_key("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
}

TEST(RouteFormat, Json) {
  std::vector<RouteEntry> entries = {
      {"s3://b/\t数据\n😀", {Worker{WorkerIdentity::from_host("10.0.0.1"), {"10.0.0.1", 28080}}}},
      {std::string("bad\xff", 4), {Worker{WorkerIdentity{}, {"domain", 28080}}}},
  };
  std::string out = format_route_json(entries);
  EXPECT_EQ(out.find('\n'), std::string::npos);
  EXPECT_EQ(out.rfind(R"([{"key":"s3://b/\t数据\n😀","candidates":[{"host":"10.0.0.1","port":28080,)"
                      R"("identity":"190dafab69703a67a21c1226360de7dc"}]})",
                      0),
            0U)
      << out;
  auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j.size(), 2U);
  EXPECT_EQ(j[0]["key"], "s3://b/\t数据\n😀");
  EXPECT_FALSE(j[0].contains("key_hex"));
  EXPECT_EQ(j[1]["key"], "bad\xef\xbf\xbd");  // U+FFFD
  EXPECT_EQ(j[1]["key_hex"], "626164ff");
  EXPECT_TRUE(j[1]["candidates"][0]["identity"].is_null());
  EXPECT_EQ(format_route_json({}), "[]");
}

}  // namespace
}  // namespace alluxio_fuse::cluster
