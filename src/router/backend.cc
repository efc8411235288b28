// Design note: the composition of cluster mode, so the app module wires one object and the
// route command shares the membership construction with the daemon (the CLI and the mount
// must agree on who owns a key). Every piece that makes HTTP calls shares one curl client;
// the WorkerClient calls it through the AttemptTap so the ClusterStore sees each attempt's
// state and can bound it by the operation's deadline.
#include "alluxio_fuse/router/backend.h"

#include <spdlog/spdlog.h>

#include "alluxio_fuse/cluster/etcd_membership.h"
#include "alluxio_fuse/cluster/route_format.h"
#include "alluxio_fuse/common/build_info.h"
#include "alluxio_fuse/common/uri.h"

namespace alluxio_fuse::router {
namespace {

using common::Code;
using common::Result;
using common::Status;

template <typename To>
To ms(common::Duration d) {
  return std::chrono::duration_cast<To>(d);
}

cluster::EtcdOptions etcd_options(const config::Config& c) {
  cluster::EtcdOptions o;
  for (const config::EtcdEndpoint& e : c.etcd.hosts) o.hosts.push_back(e.url());
  o.default_port = c.etcd.port;
  o.prefix = c.etcd.prefix;
  o.username = c.etcd.username.value_or("");
  o.password = c.etcd.password.value_or("");
  o.refresh_interval = c.etcd.refresh_interval;
  o.timeout = c.etcd.timeout;
  o.startup_timeout = c.etcd.startup_timeout;
  o.virtual_nodes = static_cast<int>(c.options.virtual_nodes);
  return o;
}

cluster::RouterOptions router_options(const config::Config& c) {
  cluster::RouterOptions o;
  o.candidates = c.routing.candidates;
  o.suspect_backoff_initial = c.routing.suspect_backoff_initial;
  o.suspect_backoff_max = c.routing.suspect_backoff_max;
  o.node_lookup = c.routing.node_lookup;
  o.node_cache_ttl = c.routing.node_cache_ttl;
  o.node_cache_max_entries = c.routing.node_cache_max_entries;
  return o;
}

http::ClientOptions http_options(const config::Config& c) {
  http::ClientOptions o;
  o.max_connections_per_host = c.routing.max_connections_per_worker;
  o.user_agent = std::string("alluxio-fuse/") + common::build_version();
  // Verification is always on for workers (and etcd over https); the CA file only narrows
  // which CAs are trusted.
  o.verify_tls = true;
  if (c.routing.tls_ca_file) o.ca_file = *c.routing.tls_ca_file;
  return o;
}

// The static or etcd membership of a ring-mode config, not started.
Result<std::unique_ptr<cluster::Membership>> make_membership(const config::Config& c,
                                                             http::Client& http) {
  if (c.mode == config::Mode::kRingStatic) {
    std::vector<cluster::WorkerAddress> hosts;
    for (const config::HostPort& h : c.worker_hosts) {
      hosts.push_back(cluster::WorkerAddress{h.host, h.port != 0 ? h.port : c.worker_http_port});
    }
    auto m = cluster::StaticMembership::create(hosts, static_cast<int>(c.options.virtual_nodes));
    if (!m.ok()) return Status(m.status().code(), "worker_hosts: " + m.status().message());
    return std::unique_ptr<cluster::Membership>(std::move(m).value());
  }
  auto m = cluster::EtcdMembership::create(etcd_options(c), http, common::SystemClock::instance());
  if (!m.ok()) return Status(m.status().code(), "etcd: " + m.status().message());
  return std::unique_ptr<cluster::Membership>(std::move(m).value());
}

worker::WorkerApi worker_api(config::WorkerApi api) {
  switch (api) {
    case config::WorkerApi::kEnterprise:
      return worker::WorkerApi::kEnterprise;
    case config::WorkerApi::kOss:
      return worker::WorkerApi::kOss;
    default:
      return worker::WorkerApi::kAuto;
  }
}

}  // namespace

ClusterBackend::~ClusterBackend() { stop(); }

const cluster::MembershipStats* ClusterBackend::membership_stats() const {
  return membership_ ? &membership_->stats() : nullptr;
}

int64_t ClusterBackend::membership_workers() const {
  if (!membership_) return 1;  // server mode: the domain
  return static_cast<int64_t>(membership_->snapshot()->workers().size());
}

void ClusterBackend::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (membership_) membership_->stop();
  if (http_) http_->cancel_all();
}

Result<std::unique_ptr<ClusterBackend>> make_cluster_backend(const config::Config& config,
                                                             store::Store* ufs,
                                                             http::CallObserver* observer) {
  if (!config.is_cluster()) {
    return Status(Code::kInvalid,
                  "cluster backend: no load_balance_domain, worker_hosts or "
                  "etcd.hosts configured (standalone mode)");
  }
  std::unique_ptr<ClusterBackend> b(new ClusterBackend());
  common::SystemClock& clock = common::SystemClock::instance();
  b->http_ = http::make_curl_client(http_options(config), observer);
  b->tap_ = std::make_unique<AttemptTap>(*b->http_, clock);

  worker::WorkerClientOptions wo;
  wo.page_size = config.options.page_size;
  wo.connect_timeout = ms<std::chrono::milliseconds>(config.routing.connect_timeout);
  wo.metadata_timeout = ms<std::chrono::milliseconds>(config.routing.metadata_timeout);
  wo.data_timeout = ms<std::chrono::milliseconds>(config.routing.data_timeout);
  wo.stall_timeout = ms<std::chrono::milliseconds>(config.routing.stall_timeout);
  wo.upload_chunk_size = config.write.upload_chunk_size;
  wo.api = worker_api(config.routing.worker_api);
  wo.tls = config.routing.tls;
  b->workers_ = std::make_unique<worker::WorkerClient>(*b->tap_, wo, clock);

  worker::WorkerClient* wc = b->workers_.get();
  cluster::NodeResolver resolver = [wc](const cluster::WorkerAddress& ask,
                                        std::string_view key) -> Result<cluster::WorkerAddress> {
    auto owner = wc->node(worker::WorkerAddress{ask.host, ask.port}, std::string(key));
    if (!owner.ok()) return owner.status();
    return cluster::WorkerAddress{owner->host, owner->port};
  };

  if (config.mode == config::Mode::kServer) {
    cluster::WorkerAddress domain{*config.load_balance_domain, config.worker_http_port};
    b->router_ = std::make_unique<cluster::Router>(domain, router_options(config), clock,
                                                   std::move(resolver));
  } else {
    auto m = make_membership(config, *b->http_);
    if (!m.ok()) return m.status();
    b->membership_ = std::move(m).value();
    AF_RETURN_IF_ERROR(b->membership_->start());
    b->router_ = std::make_unique<cluster::Router>(*b->membership_, router_options(config), clock,
                                                   std::move(resolver));
  }

  ClusterStoreOptions so;
  so.page_size = config.options.page_size;
  so.metadata_timeout = config.routing.metadata_timeout;
  so.data_timeout = config.routing.data_timeout;
  so.retries = config.routing.retries;
  so.backoff_initial = config.routing.backoff_initial;
  so.backoff_max = config.routing.backoff_max;
  so.fallback_enabled = config.fallback.enabled;
  so.fallback_on = config.fallback.on;
  so.fallback_writes = config.fallback.writes;
  so.oss = config.routing.worker_api == config::WorkerApi::kOss;
  b->store_ = std::make_unique<ClusterStore>(*b->router_, *b->workers_, ufs, so, clock);
  spdlog::info("cluster backend: {} workers, {} virtual nodes per worker, {} candidates per key",
               b->membership_workers(), config.options.virtual_nodes, config.routing.candidates);
  return b;
}

Result<std::string> route_output(const config::Config& config, const std::vector<std::string>& args,
                                 std::optional<unsigned> count, bool raw, bool json) {
  if (!config.is_cluster()) {
    return Status(Code::kInvalid,
                  "route: standalone mode (no load_balance_domain, worker_hosts "
                  "or etcd.hosts): there is no cluster to route to");
  }
  std::vector<std::string> keys;
  for (const std::string& arg : args) {
    if (raw) {
      keys.push_back(arg);
    } else if (arg.find("://") != std::string::npos) {
      auto key = common::normalize_root(arg);
      if (!key.ok()) return Status(Code::kInvalid, "route: " + key.status().message());
      keys.push_back(std::move(key).value());
    } else {
      keys.push_back(common::join_key(config.ufs_root, arg));
    }
  }
  const size_t n = count.value_or(config.routing.candidates);

  std::vector<cluster::RouteEntry> entries;
  if (config.mode == config::Mode::kServer) {
    // The domain decides per request; without contacting it, it is the one candidate.
    cluster::Worker domain{{}, {*config.load_balance_domain, config.worker_http_port}};
    for (std::string& k : keys) entries.push_back({std::move(k), {domain}});
  } else {
    config::Config c = config;
    c.etcd.refresh_interval = common::Duration::zero();  // one read, no refresh thread
    std::unique_ptr<http::Client> http = http::make_curl_client(http_options(c), nullptr);
    auto m = make_membership(c, *http);
    if (!m.ok()) return m.status();
    if (c.mode == config::Mode::kRingEtcd) {
      auto* etcd = static_cast<cluster::EtcdMembership*>(m->get());
      if (etcd->refresh_once() == cluster::RefreshResult::kError) {
        return Status(Code::kUnavailable,
                      "route: etcd.hosts gave no workers (see the warning above)");
      }
    }
    std::shared_ptr<const cluster::Snapshot> snap = (*m)->snapshot();
    for (std::string& k : keys) {
      std::vector<cluster::Worker> picks = snap->ring.pick(k, n);
      entries.push_back({std::move(k), std::move(picks)});
    }
  }
  if (json) return cluster::format_route_json(entries);
  std::string out;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out += '\n';
    out += cluster::format_route_text(entries[i].key, entries[i].candidates);
  }
  return out;
}

}  // namespace alluxio_fuse::router
