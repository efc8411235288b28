// One test per bad configuration: each error names the full key and its line
// ("<file>:<line>: ..."), as config.md §1 shows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "alluxio_fuse/config/config.h"

namespace alluxio_fuse::config {
namespace {

using ::testing::HasSubstr;

LoadResult load(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return load_config_string(yaml, "conf.yaml", map_environment(std::move(env)));
}

// Asserts exactly one error, starting with "conf.yaml:<line>: " and containing `part`.
void expect_one_error(const LoadResult& r, int line, const std::string& part) {
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(r.errors);
  EXPECT_THAT(r.errors[0], ::testing::StartsWith("conf.yaml:" + std::to_string(line) + ": "));
  EXPECT_THAT(r.errors[0], HasSubstr(part));
}

TEST(ConfigErrors, UnknownTopLevelKeySuggests) {
  auto r = load("ufs_root: file:///d\nworker_host: a\n");
  expect_one_error(r, 2, "unknown key \"worker_host\"; did you mean \"worker_hosts\"?");
}

TEST(ConfigErrors, UnknownNestedKeySuggests) {
  auto r = load("ufs_root: file:///d\npage_cache:\n  enabled: true\n  capcity: 1GiB\n");
  expect_one_error(r, 4,
                   "unknown key \"page_cache.capcity\"; did you mean \"page_cache.capacity\"?");
}

TEST(ConfigErrors, UnknownKeyFarFromAnyListsValidKeys) {
  auto r = load("ufs_root: file:///d\nmetrics:\n  prometheus_port: 9\n");
  expect_one_error(r, 3,
                   "unknown key \"metrics.prometheus_port\"; valid keys in metrics: "
                   "metrics.enabled, metrics.listen");
}

TEST(ConfigErrors, BadSize) {
  auto r = load("ufs_root: file:///d\npage_cache:\n  capacity: ten gigs\n");
  expect_one_error(r, 3,
                   "page_cache.capacity: expected a size like \"10GiB\" or a number of "
                   "bytes, got \"ten gigs\"");
}

TEST(ConfigErrors, BadDuration) {
  auto r = load("ufs_root: file:///d\nmetadata:\n  ttl: 5 days\n");
  expect_one_error(r, 3, "metadata.ttl: expected a duration");
  EXPECT_THAT(r.errors[0], HasSubstr("got \"5 days\""));
}

TEST(ConfigErrors, NegativeDurationWhereNotAllowed) {
  auto r = load("ufs_root: file:///d\nrouting:\n  data_timeout: -1s\n");
  expect_one_error(r, 3, "routing.data_timeout: expected a duration");
}

TEST(ConfigErrors, NegativeRefreshIntervalIsAllowed) {
  auto r = load("ufs_root: file:///d\netcd:\n  refresh_interval: -1\n");
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.errors);
  EXPECT_EQ(r.config->etcd.refresh_interval, std::chrono::seconds(-1));
}

TEST(ConfigErrors, YamlOneOneBooleanRejected) {
  auto r = load("ufs_root: file:///d\nmount:\n  allow_other: yes\n");
  expect_one_error(r, 3, "mount.allow_other: expected true or false, got \"yes\"");
}

TEST(ConfigErrors, IoUringWantsABoolean) {
  auto r = load("ufs_root: file:///d\nmount:\n  io_uring: sometimes\n");
  expect_one_error(r, 3, "mount.io_uring: expected true or false, got \"sometimes\"");
}

TEST(ConfigErrors, TwoMembershipKeys) {
  auto r = load("ufs_root: s3://b\nworker_hosts: a,b\netcd:\n  hosts: e1\n");
  expect_one_error(r, 4,
                   "at most one of load_balance_domain, worker_hosts, etcd.hosts may be "
                   "set; found worker_hosts and etcd.hosts");
}

TEST(ConfigErrors, KeyWithoutSecret) {
  auto r = load("ufs_root: s3://b/p\ntarget_options:\n  region: eu-west-1\n  key: AKIAEXAMPLE\n");
  expect_one_error(r, 4, "target_options.key needs target_options.secret");
}

TEST(ConfigErrors, SecretWithoutKeyNamesKeyNotValue) {
  auto r = load("ufs_root: s3://b/p\ntarget_options:\n  secret: zz-SECRET-VALUE-zz\n");
  expect_one_error(r, 3, "target_options.secret needs target_options.key");
  EXPECT_THAT(r.errors[0], ::testing::Not(HasSubstr("zz-SECRET-VALUE-zz")));
}

TEST(ConfigErrors, BadLogLevel) {
  auto r = load("ufs_root: file:///d\nlogger:\n  level: LOUD\n");
  expect_one_error(r, 3, "logger.level: expected one of DEBUG, INFO");
  auto n = load("ufs_root: file:///d\nlogger:\n  level: 60\n");
  expect_one_error(n, 3, "logger.level");
}

TEST(ConfigErrors, OptionsKeyNotAnAlluxioProperty) {
  auto r = load("ufs_root: file:///d\noptions:\n  alluxio.ok.key: 1\n  fs.s3a.endpoint: x\n");
  expect_one_error(r, 4, "options: key \"fs.s3a.endpoint\" is not an Alluxio property name");
  auto bad_char = load("ufs_root: file:///d\noptions:\n  \"alluxio.a b\": 1\n");
  expect_one_error(bad_char, 3, "\"alluxio.a b\"");
}

TEST(ConfigErrors, ConflictingVnodeAliases) {
  auto r = load(
      "ufs_root: file:///d\noptions:\n"
      "  alluxio.user.worker.selection.policy.consistent.hash.virtual.node.count.per.worker: 5\n"
      "  alluxio.user.consistent.hash.virtual.node.count.per.worker: 2000\n");
  expect_one_error(r, 4,
                   "options.alluxio.user.consistent.hash.virtual.node.count.per.worker = "
                   "2000 conflicts with");
}

TEST(ConfigErrors, PageSizeOutOfRange) {
  auto small = load("ufs_root: file:///d\noptions:\n  alluxio.worker.page.store.page.size: 1KB\n");
  expect_one_error(small, 3,
                   "options.alluxio.worker.page.store.page.size: expected a size from "
                   "4KiB to 1GiB");
  auto big = load("ufs_root: file:///d\noptions:\n  alluxio.worker.page.store.page.size: 2GiB\n");
  expect_one_error(big, 3, "alluxio.worker.page.store.page.size");
}

TEST(ConfigErrors, FallbackEnabledWithSchemeWithoutClient) {
  auto r = load("ufs_root: gs://b/p\nworker_hosts: w1\nfallback:\n  enabled: true\n");
  expect_one_error(r, 4, "fallback.enabled: true needs a UFS client");
  EXPECT_THAT(r.errors[0], HasSubstr("\"gs\""));
}

TEST(ConfigErrors, PortOutOfRange) {
  auto r = load("ufs_root: file:///d\nworker_http_port: 70000\n");
  expect_one_error(r, 2, "worker_http_port: expected an integer from 1 to 65535, got \"70000\"");
  auto w = load("ufs_root: file:///d\nworker_hosts: \"h1:0\"\n");
  expect_one_error(w, 2, "worker_hosts: expected items like");
  auto m = load("ufs_root: file:///d\nmetrics:\n  listen: \"0.0.0.0:65536\"\n");
  expect_one_error(m, 3, "metrics.listen");
}

TEST(ConfigErrors, EtcdPrefixWithoutTrailingSlash) {
  auto r = load("ufs_root: s3://b\netcd:\n  hosts: e1\n  prefix: /ServiceDiscovery/x\n");
  expect_one_error(r, 4, "etcd.prefix: must end with \"/\"");
}

TEST(ConfigErrors, TargetProtocolDisagreesWithScheme) {
  auto r = load("target_protocol: s3a\nufs_root: s3://b/p\n");
  expect_one_error(r, 1, "target_protocol: \"s3a\" disagrees with the scheme \"s3\" of ufs_root");
}

TEST(ConfigErrors, MissingUfsRoot) {
  auto r = load("worker_hosts: a\n");
  expect_one_error(r, 1, "missing required key \"ufs_root\"");
  auto empty = load("");
  expect_one_error(empty, 1, "\"ufs_root\"");
}

TEST(ConfigErrors, SchemelessRootWithoutProtocol) {
  auto r = load("ufs_root: my-bucket/prefix\n");
  expect_one_error(r, 1, "ufs_root: expected a URI");
}

TEST(ConfigErrors, IPv6MustBeBracketed) {
  auto r = load("ufs_root: s3://b\nworker_hosts: \"fd00::5\"\n");
  expect_one_error(r, 2, "bracketed");
}

TEST(ConfigErrors, SameHostTwoPorts) {
  auto r = load("ufs_root: s3://b\nworker_hosts: [\"h1:1\", \"h2\", \"h1:2\"]\n");
  expect_one_error(r, 2, "host \"h1\" appears with two different ports");
}

TEST(ConfigErrors, EmptyHostItem) {
  auto r = load("ufs_root: s3://b\nworker_hosts: \"h1,,h2\"\n");
  expect_one_error(r, 2, "worker_hosts: empty item");
}

TEST(ConfigErrors, FileSchemeTargetOptionsMustBeEmpty) {
  auto r = load("ufs_root: file:///d\ntarget_options:\n  region: x\n");
  expect_one_error(r, 2, "target_options: must be empty");
}

TEST(ConfigErrors, RoutingModeDisagrees) {
  auto r = load("ufs_root: s3://b\nload_balance_domain: lb\nrouting:\n  mode: ring\n");
  expect_one_error(r, 4, "routing.mode: \"ring\" needs worker_hosts or etcd.hosts");
}

TEST(ConfigErrors, DuplicateKey) {
  auto r = load("ufs_root: file:///d\nmount:\n  ro: true\n  ro: false\n");
  expect_one_error(r, 4, "duplicate key \"mount.ro\"");
}

TEST(ConfigErrors, InvalidYaml) {
  auto r = load("ufs_root: file:///d\nmount: [\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0], HasSubstr("invalid YAML"));
  EXPECT_THAT(r.errors[0], ::testing::StartsWith("conf.yaml:"));
}

TEST(ConfigErrors, SectionNotAMap) {
  auto r = load("ufs_root: file:///d\nmount: 3\n");
  expect_one_error(r, 2, "mount: expected a map of keys, got \"3\"");
}

TEST(ConfigErrors, CapacityBelowFourPages) {
  auto r = load("ufs_root: file:///d\npage_cache:\n  capacity: 3MiB\n");
  expect_one_error(r, 3, "page_cache.capacity: expected at least 4 pages");
}

TEST(ConfigErrors, BadEnvLogLevelNamesVariable) {
  auto r = load("ufs_root: file:///d\n", {{"ALLUXIO_FUSE_LOG_LEVEL", "LOUD"}});
  expect_one_error(r, 1, "ALLUXIO_FUSE_LOG_LEVEL (overrides logger.level)");
}

TEST(ConfigErrors, AllErrorsCollected) {
  auto r = load(
      "ufs_root: file:///d\nmount:\n  ro: maybe\n  max_threads: 0\npage_cache:\n"
      "  capacity: lots\nbogus: 1\n");
  ASSERT_EQ(r.errors.size(), 4u) << ::testing::PrintToString(r.errors);
  EXPECT_THAT(r.errors[0], HasSubstr("bogus"));  // top level is checked first
  EXPECT_FALSE(r.config.has_value());
}

TEST(ConfigErrors, MountOptionUnknown) {
  auto r = load("ufs_root: file:///d\n");
  ASSERT_TRUE(r.config);
  auto errors = apply_mount_options(*r.config, {"ro,allow_othr"});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("-o allow_othr: unknown mount option \"allow_othr\"; did you "
                                   "mean \"allow_other\"?"));
  auto bad = apply_mount_options(*r.config, {"max_threads=lots", "frobnicate"});
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_THAT(bad[0], HasSubstr("mount.max_threads: expected an integer from 1 to 1024"));
  EXPECT_THAT(bad[1], HasSubstr("unknown mount option \"frobnicate\""));
}

}  // namespace
}  // namespace alluxio_fuse::config
