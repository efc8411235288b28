// Design: render_effective prints every key by walking the same tables the loader reads, so a
// new key cannot be forgotten here; the output loads back to the same configuration. Secrets
// are replaced before any text is produced: target_options.secret/token, the client_kwargs
// secrets and etcd.password print as "***", target_options.key keeps only its last 4
// characters, and userinfo in any URL is masked.
#include <sstream>

#include "alluxio_fuse/config/units.h"
#include "fields.h"

namespace alluxio_fuse::config {
namespace {

using internal::quote;

class Printer {
 public:
  void line(int depth, std::string_view key, const std::string& value) {
    out_ << std::string(size_t{2} * depth, ' ') << key << ": " << value << "\n";
  }
  void open(int depth, std::string_view key) {
    out_ << std::string(size_t{2} * depth, ' ') << key << ":\n";
  }
  template <typename S>
  void fields(int depth, const internal::Fields<S>& fields, const S& s) {
    for (const auto& f : fields) {
      std::string v = f.show(s);
      line(depth, f.name, v == "\"\"" ? "null" : v);  // unresolved paths print as null
    }
  }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

std::string opt(const std::optional<std::string>& v, bool secret = false) {
  if (!v) return "null";
  return quote(secret ? "***" : redact_url(*v));
}

std::string masked_key(const std::optional<std::string>& key) {
  if (!key) return "null";
  if (key->size() <= 4) return quote("***");
  return quote("***" + key->substr(key->size() - 4));
}

std::string list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i == 0 ? "" : ", ") + quote(items[i]);
  return out + "]";
}

void target_options(Printer& p, const Config& c) {
  const bool s3 = c.target_protocol == "s3" || c.target_protocol == "s3a";
  if (!s3) {
    std::string unused;
    for (const auto& k : c.target_options.raw_unused) unused += (unused.empty() ? "" : ", ") + k;
    p.line(0, "target_options", unused.empty() ? "{}" : "{}  # given but unused: " + unused);
    return;
  }
  const TargetOptions& t = c.target_options;
  p.open(0, "target_options");
  p.line(1, "key", masked_key(t.key));
  p.line(1, "secret", opt(t.secret, true));
  p.line(1, "token", opt(t.token, true));
  p.line(1, "endpoint_url", opt(t.endpoint_url));
  p.line(1, "anon", t.anon ? "true" : "false");
  p.line(1, "region", quote(t.effective_region()));
  const ClientKwargs& k = t.client_kwargs;
  p.open(1, "client_kwargs");
  p.line(2, "endpoint_url", opt(k.endpoint_url));
  p.line(2, "region_name", opt(k.region_name));
  p.line(2, "aws_access_key_id", masked_key(k.aws_access_key_id));
  p.line(2, "aws_secret_access_key", opt(k.aws_secret_access_key, true));
  p.line(2, "aws_session_token", opt(k.aws_session_token, true));
  p.line(2, "verify",
         k.verify_ca_bundle ? quote(*k.verify_ca_bundle)
         : k.verify         ? (*k.verify ? "true" : "false")
                            : "null");
  p.open(1, "config_kwargs");
  p.open(2, "s3");
  const char* style = t.addressing_style == AddressingStyle::kPath      ? "path"
                      : t.addressing_style == AddressingStyle::kVirtual ? "virtual"
                                                                        : "auto";
  p.line(3, "addressing_style", style);
}

}  // namespace

std::string describe_mode(const Config& c) {
  switch (c.mode) {
    case Mode::kStandalone:
      return "standalone (no cluster; serving " + redact_url(c.ufs_root) + " directly)";
    case Mode::kRingStatic:
      return "cluster, routing: ring over the static worker_hosts list (" +
             std::to_string(c.worker_hosts.size()) + " workers)";
    case Mode::kRingEtcd:
      return "cluster, routing: ring over etcd membership (" + std::to_string(c.etcd.hosts.size()) +
             " etcd endpoints, prefix " + c.etcd.prefix + ")";
    case Mode::kServer:
      return "cluster, routing: server via load_balance_domain " +
             HostPort{*c.load_balance_domain, c.worker_http_port}.to_string();
  }
  return "unknown";
}

std::string render_effective(const Config& c) {
  Printer p;
  std::string head = "# alluxio-fuse effective configuration; mode: " + describe_mode(c) + "\n";
  p.line(0, "ufs_root", quote(redact_url(c.ufs_root)));
  p.line(0, "target_protocol", quote(c.target_protocol));
  target_options(p, c);
  p.line(0, "load_balance_domain", opt(c.load_balance_domain));
  std::vector<std::string> hosts;
  for (const auto& h : c.worker_hosts) hosts.push_back(h.to_string());
  p.line(0, "worker_hosts", c.worker_hosts.empty() ? "null" : list(hosts));
  p.line(0, "worker_http_port", std::to_string(c.worker_http_port));

  p.open(0, "etcd");
  std::vector<std::string> etcd_hosts;
  for (const auto& e : c.etcd.hosts) etcd_hosts.push_back(e.url());
  p.line(1, "hosts", c.etcd.hosts.empty() ? "null" : list(etcd_hosts));
  p.fields(1, internal::etcd_fields(), c.etcd);

  p.open(0, "options");
  p.line(1, "alluxio.worker.page.store.page.size", quote(format_size(c.options.page_size)));
  p.line(1, "alluxio.user.worker.selection.policy.consistent.hash.virtual.node.count.per.worker",
         std::to_string(c.options.virtual_nodes));
  for (const auto& [k, v] : c.options.unused) p.line(1, k, quote(v) + "  # not used");

  p.open(0, "logger");
  p.fields(1, internal::logger_fields(), c.logger);
  p.open(0, "mount");
  p.fields(1, internal::mount_fields(), c.mount);
  p.line(1, "fuse_options", list(c.mount.fuse_options));
  p.open(0, "page_cache");
  p.fields(1, internal::page_cache_fields(), c.page_cache);
  p.open(1, "readahead");
  p.fields(2, internal::readahead_fields(), c.page_cache.readahead);
  p.open(0, "metadata");
  p.fields(1, internal::metadata_fields(), c.metadata);
  p.open(0, "write");
  p.fields(1, internal::write_fields(), c.write);
  p.open(0, "routing");
  p.fields(1, internal::routing_fields(), c.routing);
  p.open(0, "fallback");
  p.fields(1, internal::fallback_fields(), c.fallback);
  std::vector<std::string> on;
  for (auto code : c.fallback.on) on.emplace_back(common::fallback_class_name(code));
  p.line(1, "on", list(on));
  p.open(0, "metrics");
  p.fields(1, internal::metrics_fields(), c.metrics);
  return head + p.str();
}

}  // namespace alluxio_fuse::config
