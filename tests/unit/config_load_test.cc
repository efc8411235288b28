// Successful loads: defaults, modes, scheme-less roots, host lists, environment overrides,
// the shipped example, `-o` options and per-mount paths.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "alluxio_fuse/common/hash.h"
#include "alluxio_fuse/config/config.h"

namespace alluxio_fuse::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Config load_ok(const std::string& yaml, std::map<std::string, std::string> env = {},
               LoadResult* out = nullptr) {
  LoadResult r = load_config_string(yaml, "conf.yaml", map_environment(std::move(env)));
  EXPECT_TRUE(r.errors.empty()) << ::testing::PrintToString(r.errors);
  if (out != nullptr) *out = r;
  return r.config.value_or(Config{});
}

TEST(ConfigLoad, DefaultsMatchSpec) {
  Config c = load_ok("ufs_root: file:///srv/data/\n");
  EXPECT_EQ(c.ufs_root, "file:///srv/data");
  EXPECT_EQ(c.target_protocol, "file");
  EXPECT_EQ(c.mode, Mode::kStandalone);
  EXPECT_EQ(c.worker_http_port, 28080);
  EXPECT_EQ(c.etcd.port, 2379);
  EXPECT_EQ(c.etcd.prefix, "/ServiceDiscovery/DefaultAlluxioCluster/");
  EXPECT_EQ(c.etcd.refresh_interval, seconds(120));
  EXPECT_EQ(c.etcd.timeout, seconds(5));
  EXPECT_EQ(c.etcd.startup_timeout, seconds(60));
  EXPECT_EQ(c.options.page_size, 1048576u);
  EXPECT_EQ(c.options.virtual_nodes, 2000u);
  EXPECT_EQ(c.logger.level, LogLevel::kInfo);
  EXPECT_FALSE(c.logger.path);
  EXPECT_EQ(c.logger.slow_op_threshold, seconds(10));
  EXPECT_FALSE(c.mount.allow_other);
  EXPECT_TRUE(c.mount.default_permissions);
  EXPECT_EQ(c.mount.attr_timeout, seconds(60));
  EXPECT_EQ(c.mount.negative_timeout, seconds(5));
  EXPECT_EQ(c.mount.max_threads, 64u);
  EXPECT_EQ(c.mount.max_idle_threads, 16u);
  EXPECT_FALSE(c.mount.io_uring);
  EXPECT_EQ(c.mount.max_read, 1048576u);
  EXPECT_EQ(c.mount.file_mode, 0644u);
  EXPECT_EQ(c.mount.dir_mode, 0755u);
  EXPECT_EQ(c.mount.fsname, "alluxio");
  EXPECT_EQ(c.mount.subtype, "alluxio-fuse");
  EXPECT_TRUE(c.page_cache.enabled);
  EXPECT_EQ(c.page_cache.capacity, 10ull << 30);
  EXPECT_EQ(c.page_cache.memory_budget, 64ull << 20);
  EXPECT_EQ(c.page_cache.readahead.max_window, 32ull << 20);
  EXPECT_EQ(c.page_cache.readahead.per_file_fetches, 8u);
  EXPECT_EQ(c.metadata.ttl, seconds(60));
  EXPECT_EQ(c.metadata.max_entries, 100000u);
  EXPECT_EQ(c.write.staging_capacity, 20ull << 30);
  EXPECT_EQ(c.write.max_file_size, 20ull << 30);
  EXPECT_EQ(c.routing.candidates, 3u);
  EXPECT_EQ(c.routing.backoff_initial, milliseconds(100));
  EXPECT_EQ(c.routing.retries, 2u);
  EXPECT_TRUE(c.fallback.enabled);  // file has a UFS client
  EXPECT_TRUE(c.fallback.falls_back_on(common::Code::kMiss));
  EXPECT_FALSE(c.fallback.falls_back_on(common::Code::kNotFound));
  EXPECT_TRUE(c.metrics.enabled);
  EXPECT_EQ(c.metrics.listen.to_string(), "127.0.0.1:49999");
}

TEST(ConfigLoad, SchemelessRootTakesTargetProtocol) {
  Config c = load_ok("target_protocol: s3\nufs_root: my-bucket//prefix/\nworker_hosts: w\n");
  EXPECT_EQ(c.ufs_root, "s3://my-bucket/prefix");
  EXPECT_EQ(c.target_protocol, "s3");
  Config f = load_ok("target_protocol: file\nufs_root: /srv/data\n");
  EXPECT_EQ(f.ufs_root, "file:///srv/data");
}

TEST(ConfigLoad, WorkerHostsParsed) {
  Config c = load_ok(
      "ufs_root: s3://b\nworker_http_port: 28081\n"
      "worker_hosts: \" h1, h2:9000,[fd00::5]:7000 ,[fd00::6]\"\n");
  EXPECT_EQ(c.mode, Mode::kRingStatic);
  EXPECT_THAT(c.worker_hosts, ElementsAre(HostPort{"h1", 28081}, HostPort{"h2", 9000},
                                          HostPort{"fd00::5", 7000}, HostPort{"fd00::6", 28081}));
  EXPECT_EQ(c.worker_hosts[2].to_string(), "[fd00::5]:7000");
  Config l = load_ok("ufs_root: s3://b\nworker_hosts: [a, \"b:1\"]\n");
  EXPECT_THAT(l.worker_hosts, ElementsAre(HostPort{"a", 28080}, HostPort{"b", 1}));
}

TEST(ConfigLoad, EtcdHostsAndPrefix) {
  Config c = load_ok(
      "ufs_root: s3://b\netcd:\n  port: 2380\n  cluster_name: prod\n"
      "  hosts: [\"e1\", \"https://e2:443/\", \"http://[::1]\"]\n"
      "  prefix: /alluxio/{cluster_name}/worker/\n");
  EXPECT_EQ(c.mode, Mode::kRingEtcd);
  ASSERT_EQ(c.etcd.hosts.size(), 3u);
  EXPECT_EQ(c.etcd.hosts[0].url(), "http://e1:2380");
  EXPECT_EQ(c.etcd.hosts[1].url(), "https://e2:443");
  EXPECT_EQ(c.etcd.hosts[2].url(), "http://[::1]:2380");
  EXPECT_EQ(c.etcd.prefix, "/alluxio/prod/worker/");
  Config d = load_ok("ufs_root: s3://b\netcd:\n  hosts: e1\n  cluster_name: c2\n");
  EXPECT_EQ(d.etcd.prefix, "/ServiceDiscovery/c2/");
}

TEST(ConfigLoad, ServerMode) {
  Config c = load_ok("ufs_root: s3://b\nload_balance_domain: lb.svc\nrouting:\n  mode: server\n");
  EXPECT_EQ(c.mode, Mode::kServer);
  EXPECT_EQ(*c.load_balance_domain, "lb.svc");
  EXPECT_THAT(describe_mode(c), HasSubstr("server via load_balance_domain lb.svc:28080"));
}

TEST(ConfigLoad, EnvironmentOverridesFile) {
  LoadResult r;
  Config c = load_ok(
      "ufs_root: s3://b\nworker_hosts: w\ntarget_options:\n  key: FILEKEY\n  secret: FILESECRET\n"
      "  region: eu-west-1\nlogger:\n  level: INFO\n",
      {{"AWS_ACCESS_KEY_ID", "ENVKEY"},
       {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"},
       {"AWS_DEFAULT_REGION", "ap-south-1"},
       {"AWS_ENDPOINT_URL", "http://minio:9000"},
       {"AWS_SESSION_TOKEN", ""},  // set but empty: ignored
       {"ALLUXIO_FUSE_ETCD_USERNAME", "u"},
       {"ALLUXIO_FUSE_ETCD_PASSWORD", "p"},
       {"ALLUXIO_FUSE_LOG_LEVEL", "debug"}},
      &r);
  EXPECT_EQ(*c.target_options.key, "ENVKEY");
  EXPECT_EQ(*c.target_options.secret, "ENVSECRET");
  EXPECT_FALSE(c.target_options.token);
  EXPECT_EQ(c.target_options.effective_region(), "ap-south-1");
  EXPECT_TRUE(c.target_options.use_path_style());  // auto + endpoint_url
  EXPECT_EQ(*c.etcd.password, "p");
  EXPECT_EQ(c.logger.level, LogLevel::kDebug);
  EXPECT_THAT(r.env_keys_used, ::testing::Contains("AWS_ACCESS_KEY_ID -> target_options.key"));
  EXPECT_THAT(r.env_keys_used, ::testing::Contains("AWS_DEFAULT_REGION -> target_options.region"));
  EXPECT_THAT(r.env_keys_used, ::testing::Contains("ALLUXIO_FUSE_LOG_LEVEL -> logger.level"));
  for (const auto& s : r.env_keys_used) EXPECT_THAT(s, ::testing::Not(HasSubstr("ENVSECRET")));
  auto creds = c.target_options.effective_credentials();
  ASSERT_TRUE(creds);
  EXPECT_EQ(creds->access_key_id, "ENVKEY");
}

TEST(ConfigLoad, AwsEnvironmentIgnoredForFileRoot) {
  LoadResult r;
  Config c =
      load_ok("ufs_root: file:///d\n", {{"AWS_ACCESS_KEY_ID", "K"}, {"AWS_REGION", "x"}}, &r);
  EXPECT_FALSE(c.target_options.key);
  EXPECT_TRUE(r.env_keys_used.empty());
}

TEST(ConfigLoad, ClientKwargsAndPrecedence) {
  Config c = load_ok(
      "ufs_root: s3a://b\nworker_hosts: w\ntarget_options:\n  client_kwargs:\n"
      "    endpoint_url: http://ck:9000\n    region_name: r1\n    aws_access_key_id: CK\n"
      "    aws_secret_access_key: CS\n    verify: false\n"
      "  config_kwargs: {s3: {addressing_style: virtual}}\n");
  const TargetOptions& t = c.target_options;
  EXPECT_EQ(t.effective_region(), "r1");
  EXPECT_EQ(*t.effective_endpoint_url(), "http://ck:9000");
  EXPECT_FALSE(t.use_path_style());
  EXPECT_EQ(t.client_kwargs.verify, false);
  EXPECT_EQ(t.effective_credentials()->access_key_id, "CK");
  EXPECT_TRUE(c.fallback.enabled);
}

TEST(ConfigLoad, NoS3CredentialsDisablesFallbackWithWarning) {
  LoadResult r;
  Config c = load_ok("ufs_root: s3://b\nworker_hosts: w\n", {}, &r);
  EXPECT_FALSE(c.fallback.enabled);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_THAT(r.warnings[0], HasSubstr("UFS fallback is disabled"));
  Config anon = load_ok("ufs_root: s3://b\nworker_hosts: w\ntarget_options: {anon: true}\n");
  EXPECT_TRUE(anon.fallback.enabled);
}

TEST(ConfigLoad, OtherSchemeFallbackOffAndOptionsUnused) {
  LoadResult r;
  Config c = load_ok("ufs_root: gs://b/p\nworker_hosts: w\ntarget_options:\n  token: t\n", {}, &r);
  EXPECT_FALSE(c.fallback.enabled);
  EXPECT_THAT(c.target_options.raw_unused, ElementsAre("token"));
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_THAT(r.warnings[0], HasSubstr("conf.yaml:3: target_options: accepted but unused"));
}

TEST(ConfigLoad, OptionsAliasAndUnused) {
  LoadResult r;
  Config c = load_ok(
      "ufs_root: file:///d\noptions:\n  alluxio.worker.page.store.page.size: 4MB\n"
      "  alluxio.user.consistent.hash.virtual.node.count.per.worker: \"5\"\n"
      "  alluxio.user.file.replication.min: 2\n",
      {}, &r);
  EXPECT_EQ(c.options.page_size, 4194304u);
  EXPECT_EQ(c.options.virtual_nodes, 5u);
  EXPECT_EQ(c.options.unused.at("alluxio.user.file.replication.min"), "2");
  EXPECT_THAT(r.debug_notes, ElementsAre(HasSubstr("not used by alluxio-fuse")));
}

TEST(ConfigLoad, LogLevelNumbers) {
  EXPECT_EQ(load_ok("ufs_root: file:///d\nlogger: {level: 10}\n").logger.level, LogLevel::kDebug);
  EXPECT_EQ(load_ok("ufs_root: file:///d\nlogger: {level: 30}\n").logger.level, LogLevel::kWarning);
  EXPECT_EQ(load_ok("ufs_root: file:///d\nlogger: {level: warn}\n").logger.level,
            LogLevel::kWarning);
  EXPECT_EQ(load_ok("ufs_root: file:///d\nlogger: {level: 50}\n").logger.level,
            LogLevel::kCritical);
}

TEST(ConfigLoad, ShippedExampleLoadsCleanWithDefaults) {
  LoadResult r =
      load_config_file(std::string(AF_SOURCE_DIR) + "/conf/alluxio-fuse.yaml", map_environment({}));
  ASSERT_TRUE(r.errors.empty()) << ::testing::PrintToString(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << ::testing::PrintToString(r.warnings);
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->mode, Mode::kStandalone);
  // The example spells out every default: rendering it equals rendering a minimal file.
  Config minimal = load_ok("ufs_root: file:///srv/data\n");
  EXPECT_EQ(render_effective(*r.config), render_effective(minimal));
}

TEST(ConfigLoad, UnreadableFileIsOneError) {
  LoadResult r = load_config_file("/nonexistent/conf.yaml", map_environment({}));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0], HasSubstr("/nonexistent/conf.yaml: cannot read"));
}

TEST(ConfigLoad, WarnsWhenSecretFileIsGroupReadable) {
  char tmpl[] = "/tmp/af_cfg_XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  std::string path = tmpl;
  std::ofstream(path) << "ufs_root: s3://b\nworker_hosts: w\ntarget_options:\n  key: K\n"
                         "  secret: S\n";
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  LoadResult open = load_config_file(path, map_environment({}));
  EXPECT_THAT(open.warnings, ::testing::Contains(HasSubstr("holds a secret and is readable")));
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  LoadResult closed = load_config_file(path, map_environment({}));
  EXPECT_TRUE(closed.warnings.empty()) << ::testing::PrintToString(closed.warnings);
  unlink(path.c_str());
}

TEST(ConfigLoad, WarnsWhenSecretFileIsGroupWritableOnly) {
  char tmpl[] = "/tmp/af_cfg_XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  std::string path = tmpl;
  std::ofstream(path) << "ufs_root: s3://b\nworker_hosts: w\ntarget_options:\n  key: K\n"
                         "  secret: S\n";
  ASSERT_EQ(chmod(path.c_str(), 0620), 0);  // no read bit for others, still not private
  LoadResult r = load_config_file(path, map_environment({}));
  EXPECT_THAT(r.warnings, ::testing::Contains(HasSubstr("(mode 0620)")));
  // No secret in the file: its mode is nobody's business.
  std::ofstream(path) << "ufs_root: s3://b\nworker_hosts: w\n";
  ASSERT_EQ(chmod(path.c_str(), 0666), 0);
  LoadResult plain = load_config_file(path, map_environment({}));
  for (const auto& w : plain.warnings) EXPECT_THAT(w, ::testing::Not(HasSubstr("holds a secret")));
  unlink(path.c_str());
}

TEST(ConfigLoad, RoutingTlsKeys) {
  Config d = load_ok("ufs_root: file:///d\nworker_hosts: w\n");
  EXPECT_FALSE(d.routing.tls);
  EXPECT_FALSE(d.routing.tls_ca_file.has_value());
  std::string rendered = render_effective(d);
  EXPECT_THAT(rendered, HasSubstr("  tls: false\n"));
  EXPECT_THAT(rendered, HasSubstr("  tls_ca_file: null\n"));

  char tmpl[] = "/tmp/af_ca_XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  std::string ca = tmpl;
  Config c = load_ok(
      "ufs_root: file:///d\nworker_hosts: w\nrouting:\n  tls: true\n  tls_ca_file: " + ca + "\n");
  EXPECT_TRUE(c.routing.tls);
  EXPECT_EQ(c.routing.tls_ca_file, ca);
  EXPECT_THAT(render_effective(c), HasSubstr("  tls_ca_file: \"" + ca + "\"\n"));
  unlink(ca.c_str());

  // Bad values and a CA file that is not there name the key (exit 2 at the CLI).
  LoadResult bad =
      load_config_string("ufs_root: file:///d\nworker_hosts: w\nrouting:\n  tls: yes\n",
                         "conf.yaml", map_environment({}));
  ASSERT_FALSE(bad.config.has_value());
  EXPECT_THAT(bad.errors, ::testing::Contains(HasSubstr("routing.tls")));
  LoadResult missing = load_config_string(
      "ufs_root: file:///d\nworker_hosts: w\nrouting:\n  tls: true\n  tls_ca_file: "
      "/nonexistent/ca.pem\n",
      "conf.yaml", map_environment({}));
  ASSERT_FALSE(missing.config.has_value());
  EXPECT_THAT(missing.errors,
              ::testing::Contains(AllOf(HasSubstr("conf.yaml:5: routing.tls_ca_file"),
                                        HasSubstr("/nonexistent/ca.pem"))));
  LoadResult dir =
      load_config_string("ufs_root: file:///d\nworker_hosts: w\nrouting:\n  tls_ca_file: /tmp\n",
                         "conf.yaml", map_environment({}));
  EXPECT_THAT(dir.errors, ::testing::Contains(HasSubstr("not a regular file")));
  // The S3 client's CA bundle (client_kwargs.verify as a path) is checked the same way.
  LoadResult s3 = load_config_string(
      "ufs_root: s3://b\ntarget_options:\n  anon: true\n  client_kwargs:\n"
      "    verify: /nonexistent/s3-ca.pem\n",
      "conf.yaml", map_environment({}));
  EXPECT_THAT(s3.errors, ::testing::Contains(HasSubstr("target_options.client_kwargs.verify")));
}

TEST(MountOptions, AllowOtherWithoutDefaultPermissionsWarns) {
  Config c = load_ok("ufs_root: file:///d\n");
  EXPECT_TRUE(c.mount.default_permissions);  // on unless turned off
  EXPECT_TRUE(mount_security_warnings(c).empty());
  ASSERT_TRUE(apply_mount_options(c, {"allow_other"}).empty());
  EXPECT_TRUE(c.mount.default_permissions);
  EXPECT_TRUE(mount_security_warnings(c).empty());
  ASSERT_TRUE(apply_mount_options(c, {"default_permissions=false"}).empty());
  auto w = mount_security_warnings(c);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0], HasSubstr("mount.allow_other"));
  EXPECT_THAT(w[0], HasSubstr("default_permissions is off"));
  // Without allow_other only the daemon's user reaches the mount: nothing to warn about.
  c.mount.allow_other = false;
  EXPECT_TRUE(mount_security_warnings(c).empty());
}

TEST(MountOptions, IoUringFromFileAndOption) {
  Config c = load_ok("ufs_root: file:///d\nmount:\n  io_uring: true\n");
  EXPECT_TRUE(c.mount.io_uring);
  ASSERT_TRUE(apply_mount_options(c, {"io_uring=false"}).empty());
  EXPECT_FALSE(c.mount.io_uring);
  ASSERT_TRUE(apply_mount_options(c, {"io_uring"}).empty());  // a bare flag means true
  EXPECT_TRUE(c.mount.io_uring);
}

TEST(MountOptions, ApplyOverridesFile) {
  Config c = load_ok("ufs_root: file:///d\nmount:\n  ro: true\n  max_threads: 8\n");
  std::string cfg;
  auto errors = apply_mount_options(
      c,
      {"rw,allow_other,default_permissions=false", "max_threads=16", "mount.attr_timeout=5s",
       "config=/etc/a.yaml", "defaults,_netdev,nofail,noauto,user,users,x-systemd.automount",
       "fuse_options=max_background=64", "file_mode=0600"},
      &cfg);
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
  EXPECT_FALSE(c.mount.ro);
  EXPECT_TRUE(c.mount.allow_other);
  EXPECT_FALSE(c.mount.default_permissions);
  EXPECT_EQ(c.mount.max_threads, 16u);
  EXPECT_EQ(c.mount.attr_timeout, seconds(5));
  EXPECT_EQ(c.mount.file_mode, 0600u);
  EXPECT_THAT(c.mount.fuse_options, ElementsAre("max_background=64"));
  EXPECT_EQ(cfg, "/etc/a.yaml");
  EXPECT_EQ(*find_config_option({"ro,config=/x.yaml"}), "/x.yaml");
  EXPECT_FALSE(find_config_option({"ro"}));
  EXPECT_TRUE(apply_mount_options(c, {"ro"}).empty());
  EXPECT_TRUE(c.mount.ro);
}

TEST(MountOptions, VfsFlagsFromMountHelperPassThrough) {
  // mount(8) / mount.fuse3 add generic flags to fstab mounts; libfuse forwards them.
  Config c = load_ok("ufs_root: file:///d\n");
  auto errors = apply_mount_options(c, {"dev,suid,nosuid,nodev,noatime,rw"});
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
  EXPECT_THAT(c.mount.fuse_options, ElementsAre("dev", "suid", "nosuid", "nodev", "noatime"));
  EXPECT_FALSE(apply_mount_options(c, {"dev=1"}).empty());
}

TEST(MountOptions, ValueErrorsNameKey) {
  Config c;
  auto e = apply_mount_options(c, {"max_threads", "allow_other=maybe", "config="});
  ASSERT_EQ(e.size(), 3u);
  EXPECT_THAT(e[0], HasSubstr("mount.max_threads needs a value"));
  EXPECT_THAT(e[1], HasSubstr("mount.allow_other: expected true or false, got \"maybe\""));
  EXPECT_THAT(e[2], HasSubstr("-o config"));
}

TEST(ResolvePaths, MountIdAndDefaults) {
  Config c = load_ok("ufs_root: file:///d\n");
  resolve_paths(c, "/mnt/alluxio");
  const std::string id = common::sha256_hex("/mnt/alluxio").substr(0, 12);
  EXPECT_EQ(mount_id("/mnt/alluxio"), id);
  EXPECT_EQ(c.page_cache.dir, "/var/cache/alluxio-fuse/" + id);
  EXPECT_EQ(c.write.staging_dir, "/var/lib/alluxio-fuse/" + id + "/staging");
  Config set =
      load_ok("ufs_root: file:///d\npage_cache: {dir: /nvme/c}\nwrite: {staging_dir: /nvme/s}\n");
  resolve_paths(set, "/mnt/alluxio");
  EXPECT_EQ(set.page_cache.dir, "/nvme/c");
  EXPECT_EQ(set.write.staging_dir, "/nvme/s");
}

}  // namespace
}  // namespace alluxio_fuse::config
