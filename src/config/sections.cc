// Design: the top-level walk and the two free-form sections. `target_options` is checked
// strictly only for s3/s3a (the one UFS client with options); for `file` it must be empty and
// for other schemes it is accepted and reported as unused (config.md §2.2). `options` takes any
// Alluxio property name, parses the two the daemon needs, and notes the rest for a DEBUG line
// (§2.3). Secret values are read here and marked, never echoed.
#include "alluxio_fuse/config/units.h"
#include "walker.h"

namespace alluxio_fuse::config::internal {
namespace {

constexpr std::string_view kPageSizeKey = "alluxio.worker.page.store.page.size";
constexpr std::string_view kVnodeKey =
    "alluxio.user.worker.selection.policy.consistent.hash.virtual.node.count.per.worker";
constexpr std::string_view kVnodeAliasKey =
    "alluxio.user.consistent.hash.virtual.node.count.per.worker";

bool is_property_name(std::string_view name) {
  constexpr std::string_view kPrefix = "alluxio.";
  if (name.size() <= kPrefix.size() || name.substr(0, kPrefix.size()) != kPrefix) return false;
  for (char c : name.substr(kPrefix.size())) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

bool is_http_url(std::string_view s) {
  for (std::string_view p : {"http://", "https://"}) {
    if (s.size() > p.size() && s.substr(0, p.size()) == p) return true;
  }
  return false;
}

}  // namespace

void Walker::document(const YAML::Node& root, Config& c) {
  if (root.IsNull()) {
    diag_.error_at(1, "missing required key \"ufs_root\" (the file is empty)");
    return;
  }
  static const std::vector<std::string> kTop = {"ufs_root",       "target_protocol",
                                                "target_options", "load_balance_domain",
                                                "worker_hosts",   "worker_http_port",
                                                "etcd",           "options",
                                                "logger",         "mount",
                                                "page_cache",     "metadata",
                                                "write",          "routing",
                                                "fallback",       "metrics"};
  auto top_opt = entries(root, "", 1, &kTop);
  if (!top_opt) return;
  const Entries& top = *top_opt;

  ufs_root(top, c);
  target_options(top, c);

  if (auto port = scalar(top, "worker_http_port")) {
    int64_t p = 0;
    if (parse_int_text(*port, 1, 65535, p)) {
      c.worker_http_port = static_cast<uint16_t>(p);
    } else {
      bad_value(top.at("worker_http_port"), "an integer from 1 to 65535");
    }
  }
  if (auto domain = scalar(top, "load_balance_domain")) {
    HostPort hp;
    if (parse_host_port(*domain, false, 0, 1, hp) && hp.port == 0) {
      c.load_balance_domain = hp.host;
    } else {
      bad_value(top.at("load_balance_domain"),
                "a host name or address without a port (the port is worker_http_port)");
    }
  }
  host_list(top, "worker_hosts", c.worker_http_port, c, false);

  if (is_set(top, "etcd")) {
    const Entry& e = top.at("etcd");
    Entries etcd = section(e.value, "etcd", e.line, etcd_fields(), {"hosts"}, c.etcd);
    host_list(etcd, "hosts", c.etcd.port, c, true);
    if (c.etcd.password) facts_.file_has_secret = true;
  }
  alluxio_options(top, c.options);

  if (is_set(top, "logger")) {
    const Entry& e = top.at("logger");
    section(e.value, "logger", e.line, logger_fields(), {}, c.logger);
  }
  if (is_set(top, "mount")) {
    const Entry& e = top.at("mount");
    Entries m = section(e.value, "mount", e.line, mount_fields(), {"fuse_options"}, c.mount);
    if (is_set(m, "fuse_options")) c.mount.fuse_options = string_list(m.at("fuse_options"), false);
  }
  if (is_set(top, "page_cache")) {
    const Entry& e = top.at("page_cache");
    Entries pc =
        section(e.value, "page_cache", e.line, page_cache_fields(), {"readahead"}, c.page_cache);
    if (is_set(pc, "readahead")) {
      const Entry& r = pc.at("readahead");
      section(r.value, r.key, r.line, readahead_fields(), {}, c.page_cache.readahead);
    }
  }
  if (is_set(top, "metadata")) {
    const Entry& e = top.at("metadata");
    section(e.value, "metadata", e.line, metadata_fields(), {}, c.metadata);
  }
  if (is_set(top, "write")) {
    const Entry& e = top.at("write");
    section(e.value, "write", e.line, write_fields(), {}, c.write);
  }
  if (is_set(top, "routing")) {
    const Entry& e = top.at("routing");
    section(e.value, "routing", e.line, routing_fields(), {}, c.routing);
  }
  if (is_set(top, "fallback")) {
    const Entry& e = top.at("fallback");
    Entries fb = section(e.value, "fallback", e.line, fallback_fields(), {"on"}, c.fallback);
    if (fb.count("on") > 0 && !fb.at("on").value.IsNull()) {
      const Entry& on = fb.at("on");
      c.fallback.on.clear();
      for (const std::string& item : string_list(on, true)) {
        common::Code code;
        if (common::parse_fallback_class(item, code)) {
          c.fallback.on.insert(code);
        } else {
          diag_.error_at(on.line,
                         "fallback.on: expected items from unavailable, timeout, miss, "
                         "server_error, unsupported, got " +
                             echo(item));
        }
      }
    }
  }
  if (is_set(top, "metrics")) {
    const Entry& e = top.at("metrics");
    section(e.value, "metrics", e.line, metrics_fields(), {}, c.metrics);
  }
}

void Walker::target_options(const Entries& top, Config& c) {
  if (!is_set(top, "target_options")) return;
  const Entry& e = top.at("target_options");
  const std::string& scheme = facts_.scheme;
  if (scheme == "s3" || scheme == "s3a") {
    s3_options(e, c.target_options);
    return;
  }
  auto en = entries(e.value, "target_options", e.line, nullptr);
  if (!en || scheme.empty()) return;  // ufs_root missing or bad: reported already
  if (scheme == "file") {
    if (!en->empty()) {
      diag_.error_at(e.line,
                     "target_options: must be empty for a file:// ufs_root (a local directory "
                     "needs no client options)");
    }
    return;
  }
  for (const auto& [name, entry] : *en) {
    c.target_options.raw_unused.push_back(name);
    for (std::string_view s : {"secret", "token", "password"}) {
      if (name.find(s) != std::string::npos) facts_.file_has_secret = true;
    }
  }
  if (!en->empty()) {
    diag_.warn_at(e.line, "target_options: accepted but unused for scheme \"" + scheme +
                              "\" (alluxio-fuse has no UFS client for it)");
  }
}

void Walker::s3_options(const Entry& e, TargetOptions& t) {
  static const std::vector<std::string> kKeys = {
      "key", "secret", "token", "endpoint_url", "anon", "region", "client_kwargs", "config_kwargs"};
  auto en_opt = entries(e.value, "target_options", e.line, &kKeys);
  if (!en_opt) return;
  const Entries& en = *en_opt;
  // Reads a non-empty string; an empty one is an error (it would silently mean "unset").
  auto str = [&](const Entries& m, const std::string& name) -> std::optional<std::string> {
    auto v = scalar(m, name);
    if (v && v->empty()) {
      bad_value(m.at(name), "a non-empty string");
      return std::nullopt;
    }
    return v;
  };
  auto url = [&](const Entries& m, const std::string& name) -> std::optional<std::string> {
    auto v = str(m, name);
    if (!v) return v;
    if (!is_http_url(*v)) {
      bad_value(m.at(name), "a URL like \"http://minio:9000\"");
      return std::nullopt;
    }
    if (redact_url(*v) != *v) facts_.file_has_secret = true;
    return v;
  };
  t.key = str(en, "key");
  t.secret = str(en, "secret");
  t.token = str(en, "token");
  if (t.secret || t.token) facts_.file_has_secret = true;
  t.endpoint_url = url(en, "endpoint_url");
  t.region = str(en, "region");
  if (auto anon = scalar(en, "anon")) {
    if (!parse_bool_text(*anon, t.anon)) bad_value(en.at("anon"), "true or false");
  }

  if (is_set(en, "client_kwargs")) {
    static const std::vector<std::string> kCk = {"endpoint_url",      "region_name",
                                                 "aws_access_key_id", "aws_secret_access_key",
                                                 "aws_session_token", "verify"};
    const Entry& ce = en.at("client_kwargs");
    if (auto ck_opt = entries(ce.value, ce.key, ce.line, &kCk)) {
      const Entries& ck = *ck_opt;
      ClientKwargs& k = t.client_kwargs;
      k.endpoint_url = url(ck, "endpoint_url");
      k.region_name = str(ck, "region_name");
      k.aws_access_key_id = str(ck, "aws_access_key_id");
      k.aws_secret_access_key = str(ck, "aws_secret_access_key");
      k.aws_session_token = str(ck, "aws_session_token");
      if (k.aws_secret_access_key || k.aws_session_token) facts_.file_has_secret = true;
      if (auto v = str(ck, "verify")) {
        bool b = false;
        if (parse_bool_text(*v, b)) {
          k.verify = b;
        } else {
          k.verify_ca_bundle = *v;  // botocore: a string is the CA bundle path
        }
      }
    }
  }
  if (is_set(en, "config_kwargs")) {
    const Entry& ce = en.at("config_kwargs");
    static const std::vector<std::string> kCfg = {"s3"};
    static const std::vector<std::string> kS3 = {"addressing_style"};
    auto cfg = entries(ce.value, ce.key, ce.line, &kCfg);
    if (cfg && is_set(*cfg, "s3")) {
      const Entry& s3e = cfg->at("s3");
      auto s3 = entries(s3e.value, s3e.key, s3e.line, &kS3);
      if (s3) {
        if (auto style = scalar(*s3, "addressing_style")) {
          if (*style == "auto") {
            t.addressing_style = AddressingStyle::kAuto;
          } else if (*style == "path") {
            t.addressing_style = AddressingStyle::kPath;
          } else if (*style == "virtual") {
            t.addressing_style = AddressingStyle::kVirtual;
          } else {
            bad_value(s3->at("addressing_style"), "one of auto, path, virtual");
          }
        }
      }
    }
  }
}

void Walker::alluxio_options(const Entries& top, AlluxioOptions& o) {
  if (!is_set(top, "options")) return;
  const Entry& e = top.at("options");
  auto en = entries(e.value, "options", e.line, nullptr);
  if (!en) return;
  const Entry* main_entry = nullptr;
  const Entry* alias_entry = nullptr;
  int64_t main_v = 0;
  int64_t alias_v = 0;
  for (const auto& [name, entry] : *en) {
    if (!is_property_name(name)) {
      diag_.error_at(entry.line, "options: key \"" + name +
                                     "\" is not an Alluxio property name (expected "
                                     "alluxio.[A-Za-z0-9._-]+)");
      continue;
    }
    if (!entry.value.IsScalar()) {
      bad_value(entry, "a string or a number");
      continue;
    }
    const std::string text = entry.value.Scalar();
    if (name == kPageSizeKey) {
      auto size = parse_size(text);
      if (size.ok() && *size >= 4 * kKiB && *size <= kGiB) {
        o.page_size = *size;
      } else {
        bad_value(entry, "a size from 4KiB to 1GiB like \"1MB\"");
      }
    } else if (name == kVnodeKey || name == kVnodeAliasKey) {
      int64_t v = 0;
      if (!parse_int_text(text, 1, 100000, v)) {
        bad_value(entry, "an integer from 1 to 100000");
      } else if (name == kVnodeKey) {
        main_entry = &entry;
        main_v = v;
      } else {
        alias_entry = &entry;
        alias_v = v;
      }
    } else {
      o.unused[name] = text;
      diag_.debug_notes.push_back("options: \"" + name + "\" is not used by alluxio-fuse");
    }
  }
  if (main_entry != nullptr && alias_entry != nullptr && main_v != alias_v) {
    diag_.error_at(alias_entry->line, alias_entry->key + " = " + std::to_string(alias_v) +
                                          " conflicts with " + main_entry->key + " = " +
                                          std::to_string(main_v) +
                                          " (the first is an alias of the second)");
  }
  if (main_entry != nullptr) {
    o.virtual_nodes = static_cast<uint32_t>(main_v);
  } else if (alias_entry != nullptr) {
    o.virtual_nodes = static_cast<uint32_t>(alias_v);
  }
}

}  // namespace alluxio_fuse::config::internal
