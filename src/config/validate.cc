// Design: rules that span keys run after the whole file is read and the environment is folded
// in, so each is checked once against final values: the membership key decides the mode, pairs
// of credentials must be complete, derived defaults (etcd.prefix, fallback.enabled,
// write.max_file_size) are filled, and orderings (backoff initial <= max) hold. Errors point at
// the line of the key at fault; values of secret keys are never echoed.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "alluxio_fuse/common/errno_text.h"
#include "alluxio_fuse/config/units.h"
#include "fields.h"
#include "loader.h"

namespace alluxio_fuse::config::internal {
namespace {

// A CA bundle that cannot be read is a configuration error at start, not a TLS failure on the
// first request.
void check_readable_file(const std::optional<std::string>& path, const std::string& key,
                         Diagnostics& diag) {
  if (!path) return;
  struct stat st {};
  const bool found = ::stat(path->c_str(), &st) == 0;
  if (found && !S_ISREG(st.st_mode)) {
    diag.error(key, key + ": " + quote(*path) + " is not a regular file (expected a PEM file)");
  } else if (!found || ::access(path->c_str(), R_OK) != 0) {  // errno of the call that failed
    diag.error(key, key + ": cannot read " + quote(*path) + ": " + common::errno_text(errno));
  }
}

bool has_ufs_client(const std::string& scheme) {
  return scheme == "s3" || scheme == "s3a" || scheme == "file";
}

// Both or neither of a pair; the error sits at the key that is present.
void check_pair(bool a, bool b, const std::string& a_key, const std::string& b_key,
                Diagnostics& diag) {
  if (a == b) return;
  const std::string& present = a ? a_key : b_key;
  const std::string& missing = a ? b_key : a_key;
  diag.error(present, present + " needs " + missing + " (give both or neither)");
}

void check_order(Duration lo, Duration hi, const std::string& lo_key, const std::string& hi_key,
                 Diagnostics& diag) {
  if (lo <= hi) return;
  diag.error(lo_key, lo_key + " (" + format_duration(lo) + ") must not exceed " + hi_key + " (" +
                         format_duration(hi) + ")");
}

}  // namespace

void apply_environment(Config& c, const ParseFacts& facts, const Environment& env,
                       Diagnostics& diag, std::vector<std::string>* used) {
  auto get = [&](const char* var) -> std::optional<std::string> {
    auto v = env(var);
    if (!v || v->empty()) return std::nullopt;
    return v;
  };
  auto take = [&](std::initializer_list<const char*> vars, const char* key,
                  std::optional<std::string>& out) {
    for (const char* var : vars) {
      if (auto v = get(var)) {
        out = std::move(v);
        used->push_back(std::string(var) + " -> " + key);
        return;
      }
    }
  };
  // AWS variables apply only to the S3 client; on a file:// or gs:// root they are someone
  // else's settings and must not trip the "target_options must be empty" rule.
  if (facts.scheme == "s3" || facts.scheme == "s3a") {
    TargetOptions& t = c.target_options;
    take({"AWS_ACCESS_KEY_ID"}, "target_options.key", t.key);
    take({"AWS_SECRET_ACCESS_KEY"}, "target_options.secret", t.secret);
    take({"AWS_SESSION_TOKEN"}, "target_options.token", t.token);
    take({"AWS_REGION", "AWS_DEFAULT_REGION"}, "target_options.region", t.region);
    take({"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}, "target_options.endpoint_url",
         t.endpoint_url);
  }
  take({"ALLUXIO_FUSE_ETCD_USERNAME"}, "etcd.username", c.etcd.username);
  take({"ALLUXIO_FUSE_ETCD_PASSWORD"}, "etcd.password", c.etcd.password);
  if (auto level = get("ALLUXIO_FUSE_LOG_LEVEL")) {
    auto parsed = parse_log_level(*level);
    if (parsed.ok()) {
      c.logger.level = *parsed;
      used->push_back("ALLUXIO_FUSE_LOG_LEVEL -> logger.level");
    } else {
      diag.error_at(1,
                    "ALLUXIO_FUSE_LOG_LEVEL (overrides logger.level): expected one of DEBUG, "
                    "INFO, WARNING (WARN), ERROR, CRITICAL or a number from 10 to 50, got " +
                        echo(*level));
    }
  }
}

void validate(Config& c, const ParseFacts& facts, Diagnostics& diag) {
  // Membership: at most one key, and it decides the mode.
  std::vector<std::string> members;
  if (c.load_balance_domain) members.push_back("load_balance_domain");
  if (!c.worker_hosts.empty()) members.push_back("worker_hosts");
  if (!c.etcd.hosts.empty()) members.push_back("etcd.hosts");
  if (members.size() > 1) {
    std::string found;
    for (size_t i = 0; i < members.size(); ++i) {
      found += (i == 0 ? "" : i + 1 == members.size() ? " and " : ", ") + members[i];
    }
    diag.error(members[1],
               "at most one of load_balance_domain, worker_hosts, etcd.hosts may be "
               "set; found " +
                   found);
  }
  if (c.load_balance_domain) {
    c.mode = Mode::kServer;
  } else if (!c.worker_hosts.empty()) {
    c.mode = Mode::kRingStatic;
  } else if (!c.etcd.hosts.empty()) {
    c.mode = Mode::kRingEtcd;
  } else {
    c.mode = Mode::kStandalone;
  }
  if (members.size() <= 1) {
    const bool ring = c.mode == Mode::kRingStatic || c.mode == Mode::kRingEtcd;
    if (c.routing.mode == RoutingMode::kRing && !ring) {
      diag.error(
          "routing.mode",
          "routing.mode: \"ring\" needs worker_hosts or etcd.hosts" +
              std::string(c.load_balance_domain ? " (load_balance_domain means server)" : ""));
    }
    if (c.routing.mode == RoutingMode::kServer && c.mode != Mode::kServer) {
      diag.error("routing.mode", "routing.mode: \"server\" needs load_balance_domain");
    }
  }

  // Credentials come in pairs.
  const TargetOptions& t = c.target_options;
  check_pair(t.key.has_value(), t.secret.has_value(), "target_options.key", "target_options.secret",
             diag);
  check_pair(t.client_kwargs.aws_access_key_id.has_value(),
             t.client_kwargs.aws_secret_access_key.has_value(),
             "target_options.client_kwargs.aws_access_key_id",
             "target_options.client_kwargs.aws_secret_access_key", diag);
  check_pair(c.etcd.username.has_value(), c.etcd.password.has_value(), "etcd.username",
             "etcd.password", diag);

  // etcd.prefix: default from the cluster name, "{cluster_name}" substituted, trailing '/'.
  if (!diag.has("etcd.prefix")) {
    c.etcd.prefix = "/ServiceDiscovery/" + c.etcd.cluster_name + "/";
  } else {
    constexpr std::string_view kVar = "{cluster_name}";
    for (size_t pos; (pos = c.etcd.prefix.find(kVar)) != std::string::npos;) {
      c.etcd.prefix.replace(pos, kVar.size(), c.etcd.cluster_name);
    }
    if (c.etcd.prefix.back() != '/') {
      diag.error("etcd.prefix", "etcd.prefix: must end with \"/\", got " + quote(c.etcd.prefix));
    }
  }

  // UFS fallback depends on having a client for the scheme.
  const std::string& scheme = facts.scheme;
  if (!scheme.empty()) {
    if (!diag.has("fallback.enabled")) {
      c.fallback.enabled = has_ufs_client(scheme);
    } else if (c.fallback.enabled && !has_ufs_client(scheme)) {
      diag.error("fallback.enabled",
                 "fallback.enabled: true needs a UFS client, and alluxio-fuse "
                 "has none for scheme \"" +
                     scheme + "\" (only s3, s3a, file)");
    }
    if (c.mode == Mode::kStandalone && !has_ufs_client(scheme)) {
      diag.error("ufs_root",
                 "ufs_root: standalone mode serves the UFS directly, and alluxio-fuse "
                 "has no client for scheme \"" +
                     scheme + "\"; set worker_hosts, etcd.hosts or load_balance_domain");
    }
    const bool s3 = scheme == "s3" || scheme == "s3a";
    if (s3 && !t.anon && !t.effective_credentials()) {
      if (c.mode == Mode::kStandalone) {
        diag.warn("target_options",
                  "target_options: no S3 credentials and anon is false; "
                  "requests will be refused unless credentials are given "
                  "(or set anon: true for a public bucket)");
      } else if (c.fallback.enabled && !c.fallback.credentials_from_cluster) {
        c.fallback.enabled = false;
        diag.warn("target_options",
                  "target_options: no S3 credentials and anon is false; UFS "
                  "fallback is disabled");
      }
    }
  }

  // Sizes and orderings that span keys.
  if (c.page_cache.capacity < 4 * c.options.page_size) {
    diag.error("page_cache.capacity", "page_cache.capacity: expected at least 4 pages (" +
                                          format_size(4 * c.options.page_size) +
                                          " with page size " + format_size(c.options.page_size) +
                                          "), got " + quote(format_size(c.page_cache.capacity)));
  }
  if (!diag.has("write.max_file_size")) c.write.max_file_size = c.write.staging_capacity;
  check_order(c.routing.backoff_initial, c.routing.backoff_max, "routing.backoff_initial",
              "routing.backoff_max", diag);
  check_order(c.routing.suspect_backoff_initial, c.routing.suspect_backoff_max,
              "routing.suspect_backoff_initial", "routing.suspect_backoff_max", diag);
  check_readable_file(c.routing.tls_ca_file, "routing.tls_ca_file", diag);
  check_readable_file(c.target_options.client_kwargs.verify_ca_bundle,
                      "target_options.client_kwargs.verify", diag);
  const ReadaheadConfig& ra = c.page_cache.readahead;
  if (ra.initial_window > ra.max_window) {
    diag.error("page_cache.readahead.initial_window",
               "page_cache.readahead.initial_window (" + format_size(ra.initial_window) +
                   ") must not exceed page_cache.readahead.max_window (" +
                   format_size(ra.max_window) + ")");
  }
}

}  // namespace alluxio_fuse::config::internal
