// The cluster-mode factory and the `route` output: membership from worker_hosts, argument
// normalisation, the worked example of routing.md §2, standalone refusal, and an etcd start-up
// that fails within its deadline instead of hanging.
#include <gtest/gtest.h>

#include <chrono>

#include "alluxio_fuse/config/config.h"
#include "alluxio_fuse/router/backend.h"

namespace alluxio_fuse::router {
namespace {

using common::Code;

config::Config load(const std::string& yaml) {
  config::LoadResult r = config::load_config_string(yaml, "test.yaml", config::map_environment({}));
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors.front());
  return r.config.value_or(config::Config{});
}

const char* kStatic = R"(ufs_root: s3://my-bucket/datasets
worker_hosts: "10.0.0.1,10.0.0.2,10.0.0.3"
options:
  alluxio.user.worker.selection.policy.consistent.hash.virtual.node.count.per.worker: 5
)";

TEST(RouteOutputTest, WorkedExampleOfTheSpec) {
  config::Config c = load(kStatic);
  const std::string key = "s3://my-bucket/datasets/train/part-00000.parquet";
  const std::string expect = key + "\t10.0.0.3:28080,10.0.0.1:28080,10.0.0.2:28080";
  auto raw = route_output(c, {key}, std::nullopt, true, false);
  ASSERT_TRUE(raw.ok()) << raw.status().to_string();
  EXPECT_EQ(*raw, expect);
  // A path under the mount root, and an un-normalised full key, reach the same key.
  auto path = route_output(c, {"/train/part-00000.parquet"}, std::nullopt, false, false);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, expect);
  auto full = route_output(c, {"s3://my-bucket//datasets/train/part-00000.parquet"}, std::nullopt,
                           false, false);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(*full, expect);
  // --raw keeps the bytes: the doubled slash is another key.
  auto verbatim =
      route_output(c, {"s3://my-bucket//datasets/train/part-00000.parquet"}, 1, true, false);
  ASSERT_TRUE(verbatim.ok());
  EXPECT_EQ(verbatim->find("s3://my-bucket//datasets"), 0u);
}

TEST(RouteOutputTest, CountAndJson) {
  config::Config c = load(kStatic);
  auto j = route_output(c, {"s3://my-bucket/datasets/train/part-00000.parquet", ""}, 2, true, true);
  ASSERT_TRUE(j.ok()) << j.status().to_string();
  EXPECT_EQ(j->front(), '[');
  EXPECT_NE(j->find(R"("host":"10.0.0.3","port":28080)"), std::string::npos);
  EXPECT_EQ(j->find("10.0.0.2"), j->rfind("10.0.0.2"));  // count 2: not in the first entry
  EXPECT_NE(j->find(R"("key":"")"), std::string::npos);  // the empty key is a key too
}

TEST(RouteOutputTest, StandaloneIsInvalid) {
  config::Config c = load("ufs_root: file:///data\n");
  auto r = route_output(c, {"/a"}, std::nullopt, false, false);
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_EQ(make_cluster_backend(c, nullptr, nullptr).status().code(), Code::kInvalid);
}

TEST(ClusterBackendTest, StaticMembershipBuildsWithoutContactingWorkers) {
  config::Config c = load(kStatic);
  auto b = make_cluster_backend(c, nullptr, nullptr);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ((*b)->membership_workers(), 3);
  EXPECT_EQ((*b)->suspect_workers(), 0);
  ASSERT_NE((*b)->membership_stats(), nullptr);
  EXPECT_EQ((*b)->stats().failovers.load(), 0u);
  (*b)->stop();
  (*b)->stop();  // idempotent
}

TEST(ClusterBackendTest, ServerModeCountsTheDomainAsOneWorker) {
  config::Config c = load("ufs_root: s3://bkt\nload_balance_domain: alluxio.example\n");
  auto b = make_cluster_backend(c, nullptr, nullptr);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ((*b)->membership_workers(), 1);
  EXPECT_EQ((*b)->membership_stats(), nullptr);
  auto r = route_output(c, {"/x"}, std::nullopt, false, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "s3://bkt/x\talluxio.example:28080");
}

TEST(ClusterBackendTest, EtcdWithoutAnswerFailsWithinStartupTimeout) {
  // Port 1 on loopback refuses at once; the start-up deadline bounds the retries.
  config::Config c = load(
      "ufs_root: s3://bkt\netcd:\n  hosts: \"127.0.0.1:1\"\n  startup_timeout: 1s\n"
      "  timeout: 500ms\n");
  const auto start = std::chrono::steady_clock::now();
  auto b = make_cluster_backend(c, nullptr, nullptr);
  EXPECT_EQ(b.status().code(), Code::kUnavailable);
  EXPECT_NE(b.status().message().find("etcd.hosts"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
  EXPECT_EQ(route_output(c, {"/x"}, std::nullopt, false, false).status().code(),
            Code::kUnavailable);
}

}  // namespace
}  // namespace alluxio_fuse::router
