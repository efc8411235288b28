#pragma once
// The daemon's configuration: typed structs for every conf.yaml key (config.md §2), loading
// with full error collection (config.md §1), environment overrides (§3), `-o` mount options
// (§4), per-mount paths, and the secret-masked rendering `check-config` prints.
//
// Thread-safety: Config is a plain value type; the functions are pure except
// load_config_file (reads the file) and process_environment (reads the process environment).
// Ownership: everything is held by value.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "alluxio_fuse/common/status.h"

namespace alluxio_fuse::config {

using Duration = std::chrono::nanoseconds;

inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * kKiB;
inline constexpr uint64_t kGiB = 1024 * kMiB;

// A host and port; `host` holds an IPv6 literal without its brackets.
struct HostPort {
  std::string host;
  uint16_t port = 0;
  // "host:port", with brackets around an IPv6 literal.
  std::string to_string() const;
  bool operator==(const HostPort&) const = default;
};

// One etcd.hosts item (routing.md §4): `host[:port]` or `http(s)://host[:port]`.
struct EtcdEndpoint {
  std::string scheme = "http";  // "http" or "https"
  std::string host;             // IPv6 without brackets
  uint16_t port = 2379;
  // "http://host:port" (no trailing slash), the base of gateway requests.
  std::string url() const;
  bool operator==(const EtcdEndpoint&) const = default;
};

// The deployment mode derived from the membership key (config.md §2).
enum class Mode {
  kStandalone,  // no membership key: serve ufs_root directly
  kRingStatic,  // worker_hosts: consistent-hash ring over a fixed list
  kRingEtcd,    // etcd.hosts: consistent-hash ring over etcd membership
  kServer,      // load_balance_domain: ask a worker /v1/node
};
std::string_view to_string(Mode mode);

enum class AddressingStyle { kAuto, kPath, kVirtual };

// `target_options.client_kwargs` (boto-style names; the top-level keys take precedence).
struct ClientKwargs {
  std::optional<std::string> endpoint_url;
  std::optional<std::string> region_name;
  std::optional<std::string> aws_access_key_id;
  std::optional<std::string> aws_secret_access_key;  // secret
  std::optional<std::string> aws_session_token;      // secret
  std::optional<bool> verify;                        // `verify: true/false`
  std::optional<std::string> verify_ca_bundle;       // `verify: /path/to/ca.pem`
};

struct S3Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty when none
};

// `target_options` (config.md §2.2). Only meaningful for s3/s3a; empty for `file`; kept but
// unused for other schemes (see `raw_unused`).
struct TargetOptions {
  std::optional<std::string> key;
  std::optional<std::string> secret;  // secret
  std::optional<std::string> token;   // secret
  std::optional<std::string> endpoint_url;
  bool anon = false;
  std::optional<std::string> region;
  ClientKwargs client_kwargs;
  AddressingStyle addressing_style = AddressingStyle::kAuto;  // config_kwargs.s3.addressing_style
  // For schemes without a UFS client: the top-level key names given, accepted and unused.
  std::vector<std::string> raw_unused;

  // region > client_kwargs.region_name > "us-east-1".
  std::string effective_region() const;
  // endpoint_url > client_kwargs.endpoint_url.
  std::optional<std::string> effective_endpoint_url() const;
  // Path style when asked, or `auto` with an endpoint URL set.
  bool use_path_style() const;
  // key/secret/token > client_kwargs; nullopt when `anon` or when there are none. Environment
  // overrides were already folded into key/secret/token by the loader.
  std::optional<S3Credentials> effective_credentials() const;
};

struct EtcdConfig {
  std::vector<EtcdEndpoint> hosts;  // empty: etcd membership not used
  uint16_t port = 2379;
  std::string cluster_name = "DefaultAlluxioCluster";
  // Resolved: "{cluster_name}" substituted; ends with "/".
  std::string prefix = "/ServiceDiscovery/DefaultAlluxioCluster/";
  std::optional<std::string> username;
  std::optional<std::string> password;                    // secret
  Duration refresh_interval = std::chrono::seconds(120);  // <= 0 disables refresh
  Duration timeout = std::chrono::seconds(5);
  Duration startup_timeout = std::chrono::seconds(60);
};

// `options`: Alluxio property names (config.md §2.3).
struct AlluxioOptions {
  uint64_t page_size = kMiB;                  // alluxio.worker.page.store.page.size
  uint32_t virtual_nodes = 2000;              // ...consistent.hash.virtual.node.count.per.worker
  std::map<std::string, std::string> unused;  // other alluxio.* keys, as given
};

enum class LogLevel { kDebug, kInfo, kWarning, kError, kCritical };
std::string_view to_string(LogLevel level);
// DEBUG, INFO, WARNING/WARN, ERROR, CRITICAL (case-insensitive) or Python's numbers 10-50 (a
// number between two levels means the next level up, as Python's filter would).
common::Result<LogLevel> parse_log_level(std::string_view text);

struct LoggerConfig {
  std::optional<std::string> path;  // directory; unset: stderr
  LogLevel level = LogLevel::kInfo;
  Duration slow_op_threshold = std::chrono::seconds(10);
};

struct MountConfig {
  bool allow_other = false;
  bool default_permissions = true;
  bool ro = false;
  Duration attr_timeout = std::chrono::seconds(60);
  Duration entry_timeout = std::chrono::seconds(60);
  Duration negative_timeout = std::chrono::seconds(5);
  uint32_t max_threads = 64;
  uint32_t max_idle_threads = 16;
  // FUSE over io_uring per-CPU queues when the kernel offers it (not in config.md: ours).
  bool io_uring = false;
  uint64_t max_read = kMiB;
  uint64_t max_write = kMiB;
  bool direct_io = false;
  std::optional<uint32_t> uid;  // unset: the daemon's uid
  std::optional<uint32_t> gid;  // unset: the daemon's gid
  uint32_t file_mode = 0644;
  uint32_t dir_mode = 0755;
  std::string fsname = "alluxio";
  std::string subtype = "alluxio-fuse";
  std::vector<std::string> fuse_options;
  // Graceful stop: how long the first SIGTERM/SIGINT/SIGHUP waits for open files to close and
  // operations in flight to finish before unmounting anyway (0: do not wait).
  Duration shutdown_timeout = std::chrono::seconds(30);
};

struct ReadaheadConfig {
  bool enabled = true;
  uint64_t initial_window = kMiB;
  uint64_t max_window = 32 * kMiB;
  uint32_t per_file_fetches = 8;
};

struct PageCacheConfig {
  bool enabled = true;
  std::string dir;  // empty until resolve_paths: /var/cache/alluxio-fuse/<mount id>
  uint64_t capacity = 10 * kGiB;
  uint32_t max_inflight_fetches = 32;
  uint64_t memory_budget = 64 * kMiB;
  ReadaheadConfig readahead;
};

struct MetadataConfig {
  Duration ttl = std::chrono::seconds(60);
  Duration negative_ttl = std::chrono::seconds(5);
  uint64_t max_entries = 100000;
};

struct WriteConfig {
  std::string staging_dir;  // empty until resolve_paths: /var/lib/alluxio-fuse/<id>/staging
  uint64_t staging_capacity = 20 * kGiB;
  uint64_t max_file_size = 20 * kGiB;  // defaults to staging_capacity
  uint64_t upload_chunk_size = kMiB;
  bool keep_failed = true;
};

enum class RoutingMode { kAuto, kRing, kServer };
enum class WorkerApi { kAuto, kEnterprise, kOss };

struct RoutingConfig {
  RoutingMode mode = RoutingMode::kAuto;  // as written; Config::mode is the derived one
  WorkerApi worker_api = WorkerApi::kAuto;
  uint32_t candidates = 3;
  Duration connect_timeout = std::chrono::seconds(2);
  Duration metadata_timeout = std::chrono::seconds(10);
  Duration data_timeout = std::chrono::seconds(30);
  Duration stall_timeout = std::chrono::seconds(30);
  uint32_t retries = 2;
  Duration backoff_initial = std::chrono::milliseconds(100);
  Duration backoff_max = std::chrono::seconds(2);
  uint32_t max_connections_per_worker = 32;
  Duration suspect_backoff_initial = std::chrono::seconds(5);
  Duration suspect_backoff_max = std::chrono::seconds(60);
  bool node_lookup = false;
  Duration node_cache_ttl = std::chrono::seconds(30);
  uint64_t node_cache_max_entries = 100000;
  // https:// to the workers, the server's certificate always verified (there is deliberately
  // no option to turn verification off).
  bool tls = false;
  // PEM bundle of the CAs that sign worker certificates; unset: the system CAs.
  std::optional<std::string> tls_ca_file;
};

struct FallbackConfig {
  bool enabled = true;  // default: the scheme has a UFS client (s3, s3a, file)
  // Failure classes that fall back; a subset of kUnavailable, kTimeout, kMiss, kServerError,
  // kUnsupported.
  std::set<common::Code> on = {common::Code::kUnavailable, common::Code::kTimeout,
                               common::Code::kMiss, common::Code::kServerError,
                               common::Code::kUnsupported};
  bool writes = false;
  bool warm_on_miss = false;
  bool credentials_from_cluster = false;

  bool falls_back_on(common::Code code) const { return enabled && on.count(code) > 0; }
};

struct MetricsConfig {
  bool enabled = true;
  HostPort listen{"127.0.0.1", 49999};  // port 0: ephemeral
};

struct Config {
  std::string ufs_root;         // normalised "<scheme>://<authority><path>"
  std::string target_protocol;  // scheme of ufs_root
  TargetOptions target_options;
  std::optional<std::string> load_balance_domain;
  std::vector<HostPort> worker_hosts;  // empty: static membership not used
  uint16_t worker_http_port = 28080;
  EtcdConfig etcd;
  AlluxioOptions options;
  LoggerConfig logger;
  MountConfig mount;
  PageCacheConfig page_cache;
  MetadataConfig metadata;
  WriteConfig write;
  RoutingConfig routing;
  FallbackConfig fallback;
  MetricsConfig metrics;

  Mode mode = Mode::kStandalone;  // derived from the membership key by the loader
  bool is_cluster() const { return mode != Mode::kStandalone; }
};

// Environment lookup: the value of a variable, or nullopt when unset.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;
// Reads the process environment (getenv).
Environment process_environment();
// A fixed map, for tests.
Environment map_environment(std::map<std::string, std::string> vars);

struct LoadResult {
  std::optional<Config> config;            // set exactly when `errors` is empty
  std::vector<std::string> errors;         // "<file>:<line>: <message>", secrets never included
  std::vector<std::string> warnings;       // same form; to be logged at WARN
  std::vector<std::string> env_keys_used;  // "AWS_REGION -> target_options.region" (names only)
  std::vector<std::string> debug_notes;    // e.g. unused `options` keys, for a DEBUG line
};

// Loads and validates `path`. An unreadable file is one error. Also warns when the file holds a
// secret and is readable by group or others.
LoadResult load_config_file(const std::string& path, const Environment& env);
// Same, from text; `name` stands for the file name in messages.
LoadResult load_config_string(std::string_view yaml_text, const std::string& name,
                              const Environment& env);

// The `config=<file>` value among `-o` options (each item may be a comma-separated list), so
// the caller can load that file before applying the rest.
std::optional<std::string> find_config_option(const std::vector<std::string>& opts);

// Applies `-o` options (config.md §4) over a loaded config: ro, rw, allow_other,
// default_permissions, `<mount key>=<value>` (also `mount.<key>=<value>`) for any mount.* key,
// `config=<file>` (stored in *config_file when given), and the ignored fstab words. Items may be
// comma-separated lists. Returns one message per bad option; the config is left partially
// updated then and must not be used.
std::vector<std::string> apply_mount_options(Config& config, const std::vector<std::string>& opts,
                                             std::string* config_file = nullptr);

// Warnings about the effective mount options (after `-o`), to be logged at WARN when mounting:
// allow_other with default_permissions off lets every local user past the mode bits.
std::vector<std::string> mount_security_warnings(const Config& config);

// First 12 hex characters of SHA-256 of the absolute mount point.
std::string mount_id(const std::string& absolute_mountpoint);
// Fills page_cache.dir and write.staging_dir when they were not configured.
void resolve_paths(Config& config, const std::string& absolute_mountpoint);

// YAML of the effective configuration with every key; secrets as "***", target_options.key
// masked but for its last 4 characters, URL userinfo masked. The first line is a comment naming
// the mode. This is what `alluxio-fuse check-config` prints.
std::string render_effective(const Config& config);

// A one-line description of the mode for the start-up log and check-config, e.g.
// "cluster, routing: ring (static worker_hosts, 3 workers)".
std::string describe_mode(const Config& config);

// `s` with any "user:password@" after "://" replaced by "***@", for log lines and messages.
std::string redact_url(std::string_view s);

}  // namespace alluxio_fuse::config
