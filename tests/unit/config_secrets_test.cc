// Secrets never appear in render_effective, error text or warnings (config.md §3), and the
// rendered configuration loads back to the same configuration.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "alluxio_fuse/config/config.h"

namespace alluxio_fuse::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kSecret = "Zq9-SUPER-SECRET-Xv7";

void expect_no_secret(const LoadResult& r) {
  for (const auto* list : {&r.errors, &r.warnings, &r.debug_notes, &r.env_keys_used}) {
    for (const auto& s : *list) EXPECT_THAT(s, Not(HasSubstr(kSecret)));
  }
}

TEST(ConfigSecrets, RenderMasksEverySecret) {
  const std::string s = kSecret;
  auto r = load_config_string(
      "ufs_root: s3://bkt/pre\netcd:\n  hosts: e1\n  username: alice\n  password: " + s +
          "\ntarget_options:\n  key: AKIAIOSFODNN7EXAMPLE\n  secret: " + s + "\n  token: " + s +
          "\n  endpoint_url: http://user:" + s + "@minio:9000\n  client_kwargs:\n" +
          "    aws_access_key_id: CKID1234\n    aws_secret_access_key: " + s +
          "\n    aws_session_token: " + s + "\n",
      "conf.yaml", map_environment({}));
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.errors);
  expect_no_secret(r);
  const std::string out = render_effective(*r.config);
  EXPECT_THAT(out, Not(HasSubstr(kSecret)));
  EXPECT_THAT(out, Not(HasSubstr("AKIAIOSFODNN7")));
  EXPECT_THAT(out, HasSubstr("key: \"***MPLE\""));
  EXPECT_THAT(out, HasSubstr("secret: \"***\""));
  EXPECT_THAT(out, HasSubstr("password: \"***\""));
  EXPECT_THAT(out, HasSubstr("endpoint_url: \"http://***@minio:9000\""));
  EXPECT_THAT(out, ::testing::StartsWith("# alluxio-fuse effective configuration; mode: cluster, "
                                         "routing: ring over etcd membership"));
}

TEST(ConfigSecrets, EnvSecretNotRendered) {
  auto r = load_config_string("ufs_root: s3://b\nworker_hosts: w\n", "conf.yaml",
                              map_environment({{"AWS_ACCESS_KEY_ID", "AKIAENVKEY0001"},
                                               {"AWS_SECRET_ACCESS_KEY", kSecret}}));
  ASSERT_TRUE(r.config);
  expect_no_secret(r);
  EXPECT_THAT(render_effective(*r.config), Not(HasSubstr(kSecret)));
}

TEST(ConfigSecrets, ErrorsNeverEchoSecrets) {
  const std::string s = kSecret;
  // A secret under a misspelt key, a secret as a map, a bad URL with userinfo, a secret
  // without its key, and an etcd URL with credentials.
  auto r = load_config_string(
      "ufs_root: s3://b\ntarget_options:\n  secrte: " + s + "\n  token: {a: " + s +
          "}\n  endpoint_url: ftp://u:" + s + "@h\n  client_kwargs:\n    aws_secret_access_key: " +
          s + "\netcd:\n  hosts: \"http://u:" + s + "@e1:2379\"\n  password: " + s + "\n",
      "conf.yaml", map_environment({}));
  EXPECT_GE(r.errors.size(), 5u) << ::testing::PrintToString(r.errors);
  expect_no_secret(r);
}

TEST(ConfigSecrets, UfsRootUserinfoMasked) {
  auto r = load_config_string(
      "ufs_root: s3://AK:" + std::string(kSecret) + "@bucket/p\nworker_hosts: w\n", "conf.yaml",
      map_environment({}));
  ASSERT_TRUE(r.config);
  EXPECT_THAT(render_effective(*r.config), Not(HasSubstr(kSecret)));
  EXPECT_THAT(describe_mode(*r.config), Not(HasSubstr(kSecret)));
  auto bad = load_config_string("ufs_root: \"bad root AK:" + std::string(kSecret) + "@x\"\n",
                                "conf.yaml", map_environment({}));
  expect_no_secret(bad);
}

TEST(ConfigRender, RoundTripsEveryKey) {
  auto r = load_config_string(
      "ufs_root: s3://b/p\nworker_hosts: \"h1,[fd00::1]:9\"\ntarget_options:\n  anon: true\n"
      "  config_kwargs: {s3: {addressing_style: path}}\noptions:\n"
      "  alluxio.worker.page.store.page.size: 4MB\n  alluxio.some.other: x\n"
      "logger: {path: /var/log/af, level: ERROR}\nmount:\n  uid: 1000\n  fuse_options: [a=1]\n"
      "page_cache:\n  readahead: {initial_window: 2MiB}\nfallback:\n  on: [miss, timeout]\n"
      "routing: {backoff_initial: 250ms}\nmetrics: {listen: \"[::]:0\"}\n",
      "conf.yaml", map_environment({}));
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.errors);
  const std::string first = render_effective(*r.config);
  auto again = load_config_string(first, "rendered.yaml", map_environment({}));
  ASSERT_TRUE(again.config) << ::testing::PrintToString(again.errors) << "\n" << first;
  EXPECT_EQ(render_effective(*again.config), first);
  const Config& c = *again.config;
  EXPECT_EQ(c.options.page_size, 4u << 20);
  EXPECT_EQ(c.mount.uid, 1000u);
  EXPECT_EQ(c.fallback.on.size(), 2u);
  EXPECT_EQ(c.metrics.listen.port, 0);
  EXPECT_EQ(c.page_cache.readahead.initial_window, 2u << 20);
  EXPECT_EQ(c.routing.backoff_initial, std::chrono::milliseconds(250));
  EXPECT_EQ(c.target_options.addressing_style, AddressingStyle::kPath);
}

TEST(ConfigRender, StandaloneHeader) {
  auto r = load_config_string("ufs_root: file:///d\n", "c", map_environment({}));
  ASSERT_TRUE(r.config);
  EXPECT_THAT(render_effective(*r.config),
              ::testing::StartsWith("# alluxio-fuse effective configuration; mode: standalone"));
}

}  // namespace
}  // namespace alluxio_fuse::config

namespace alluxio_fuse::config {
namespace {

TEST(ConfigSecrets, MountOptionErrorsDoNotEchoCredentials) {
  Config c;
  auto e = apply_mount_options(
      c, {std::string("frob=u:") + kSecret + "@h", std::string("max_threads=u:") + kSecret + "@h"});
  ASSERT_EQ(e.size(), 2u);
  for (const auto& s : e) EXPECT_THAT(s, Not(HasSubstr(kSecret)));
  EXPECT_THAT(e[0], HasSubstr("-o frob: unknown mount option"));
}

TEST(ConfigSecrets, HostItemWithCredentialsNotEchoed) {
  auto r =
      load_config_string("ufs_root: s3://b\nworker_hosts: \"u:" + std::string(kSecret) + "@h1\"\n",
                         "conf.yaml", map_environment({}));
  ASSERT_EQ(r.errors.size(), 1u);
  expect_no_secret(r);
}

}  // namespace
}  // namespace alluxio_fuse::config
