// Composition of one mount. Standalone mode serves the UFS root directly (the embedded
// default); cluster mode puts the router over the workers in front of the UFS fallback.
#include "daemon.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>

#include "alluxio_fuse/common/errno_text.h"
#include "alluxio_fuse/common/uri.h"
#include "alluxio_fuse/router/backend.h"
#include "alluxio_fuse/ufs/local_store.h"
#include "alluxio_fuse/ufs/s3_store.h"

namespace alluxio_fuse::app {

using common::Code;
using common::Status;

namespace {

// FUSE op observations into the metrics registry (op names are the closed set).
class MetricsOpObserver final : public fuse::OpObserver {
 public:
  explicit MetricsOpObserver(metrics::Metrics& m) : metrics_(m) {}
  void op_started(std::string_view op) override { metrics_.op_started(metrics::op_from_name(op)); }
  void op_finished(std::string_view op, double seconds, int err) override {
    metrics_.op_finished(metrics::op_from_name(op), seconds, err);
  }

 private:
  metrics::Metrics& metrics_;
};

// Raises the soft descriptor limit to the hard one. systemd starts services with a soft limit
// of 1024 (hard 524288), and the page cache keeps at most a quarter of the soft limit of page
// files open; nothing here uses select(), so the hard limit is safe to take.
void raise_fd_limit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  const rlim_t before = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &rl) == 0) {
    spdlog::info("descriptor limit raised from {} to {}", before, rl.rlim_cur);
  } else {
    spdlog::warn("cannot raise the descriptor limit from {}: {}", before,
                 common::errno_text(errno));
  }
}

}  // namespace

Daemon::Daemon(config::Config config, std::string mountpoint)
    : config_(std::move(config)),
      mountpoint_(std::move(mountpoint)),
      clock_(common::SystemClock::instance()) {}

Daemon::~Daemon() {
  // The scrape server reads every component: stop it before they go away.
  if (metrics_server_) metrics_server_->stop();
  metrics_server_.reset();
  if (cluster_) cluster_->stop();
  // Readahead tasks use the core, the cache and the store: finish them first.
  if (fetch_pool_) fetch_pool_->stop();
}

void Daemon::publish_stats() {
  if (!fs_) return;
  const fs::FsStats& s = fs_->stats();
  auto& m = *metrics_;
  m.set_metadata_cache_hits_total(metrics::MetadataHit::kPositive, s.meta_hits_positive.load());
  m.set_metadata_cache_hits_total(metrics::MetadataHit::kNegative, s.meta_hits_negative.load());
  m.set_total(metrics::CounterId::kMetadataCacheMisses, static_cast<double>(s.meta_misses.load()));
  m.set_read_bytes_total(metrics::Source::kCache, s.read_bytes_cache.load());
  m.set_read_bytes_total(metrics::Source::kWorker, s.read_bytes_worker.load());
  m.set_read_bytes_total(metrics::Source::kUfs, s.read_bytes_ufs.load());
  m.set_fetch_bytes_total(metrics::Source::kWorker, s.fetch_bytes_worker.load());
  m.set_fetch_bytes_total(metrics::Source::kUfs, s.fetch_bytes_ufs.load());
  m.set_write_commits_total(metrics::CommitResult::kOk, s.commits_ok.load());
  m.set_write_commits_total(metrics::CommitResult::kError, s.commits_error.load());
  m.set_total(metrics::CounterId::kWriteCommitBytes, static_cast<double>(s.commit_bytes.load()));
  m.set(metrics::GaugeId::kWriteStagingBytes, static_cast<double>(fs_->staging_bytes()));
  m.set(metrics::GaugeId::kMetadataCacheEntries, static_cast<double>(fs_->metadata_cache().size()));
  if (cluster_) {
    const router::RouterStats& r = cluster_->stats();
    m.set_total(metrics::CounterId::kRouterFailovers, static_cast<double>(r.failovers.load()));
    m.set_total(metrics::CounterId::kBadEntries, static_cast<double>(r.bad_entries.load()));
    m.set_ufs_fallback_total(metrics::FallbackReason::kUnavailable, r.fallback_unavailable.load());
    m.set_ufs_fallback_total(metrics::FallbackReason::kTimeout, r.fallback_timeout.load());
    m.set_ufs_fallback_total(metrics::FallbackReason::kMiss, r.fallback_miss.load());
    m.set_ufs_fallback_total(metrics::FallbackReason::kServerError, r.fallback_server_error.load());
    m.set_ufs_fallback_total(metrics::FallbackReason::kUnsupported, r.fallback_unsupported.load());
    m.set(metrics::GaugeId::kMembershipWorkers,
          static_cast<double>(cluster_->membership_workers()));
    m.set(metrics::GaugeId::kMembershipSuspectWorkers,
          static_cast<double>(cluster_->suspect_workers()));
    if (const cluster::MembershipStats* ms = cluster_->membership_stats()) {
      m.set_membership_refresh_total(metrics::RefreshResult::kChanged, ms->refresh_changed.load());
      m.set_membership_refresh_total(metrics::RefreshResult::kUnchanged,
                                     ms->refresh_unchanged.load());
      m.set_membership_refresh_total(metrics::RefreshResult::kError, ms->refresh_error.load());
    }
  }
  if (page_cache_) {
    const cache::PageCacheStats& c = page_cache_->stats();
    auto total = [&](metrics::CounterId id, const std::atomic<uint64_t>& v) {
      m.set_total(id, static_cast<double>(v.load()));
    };
    total(metrics::CounterId::kPageCacheHits, c.hits);
    total(metrics::CounterId::kPageCacheMisses, c.misses);
    total(metrics::CounterId::kPageCacheEvictions, c.evictions);
    total(metrics::CounterId::kPageCacheCorruptPages, c.corrupt);
    total(metrics::CounterId::kReadaheadBytes, c.readahead_bytes);
    total(metrics::CounterId::kReadaheadUnusedBytes, c.readahead_unused_bytes);
    m.set(metrics::GaugeId::kPageCacheSizeBytes, static_cast<double>(c.bytes.load()));
    m.set(metrics::GaugeId::kPageCachePages, static_cast<double>(c.pages.load()));
    m.set(metrics::GaugeId::kPageCacheCapacityBytes, static_cast<double>(c.capacity.load()));
    m.set(metrics::GaugeId::kPageCacheEnabled, c.enabled.load() ? 1 : 0);
  }
}

metrics::Health Daemon::health() const {
  if (!mounted_.load()) return {false, "not mounted"};
  if (stopping_.load()) return {false, "shutting down"};
  if (cluster_ && cluster_->membership_workers() == 0 && ufs_ == nullptr) {
    return {false, "no workers and no UFS fallback"};
  }
  return {true, ""};
}

Status Daemon::start_metrics() {
  if (!config_.metrics.enabled) return Status::Ok();
  auto server = metrics::Server::start(*metrics_, config_.metrics.listen.to_string(),
                                       [this] { return health(); });
  if (!server.ok()) return server.status();
  metrics_server_ = std::move(*server);
  if (config_.logger.path) {
    Status written = metrics_server_->write_address_file(*config_.logger.path + "/metrics.addr");
    if (!written.ok()) spdlog::warn("metrics: {}", written.to_string());
  }
  return Status::Ok();
}

Status Daemon::build_store(int* exit_code) {
  std::string_view scheme = common::uri_scheme(config_.ufs_root);
  // The UFS client: the root itself in standalone mode, the fallback in cluster mode.
  if (scheme == "file") {
    ufs_ = std::make_unique<ufs::LocalStore>(config_.ufs_root);
  } else if (scheme == "s3" || scheme == "s3a") {
    if (!config_.is_cluster() || config_.fallback.enabled) {
      ufs_http_ = http::make_curl_client(ufs::s3_client_options(config_), metrics_.get());
      auto s3 = ufs::make_s3_store(config_, *ufs_http_);
      if (!s3.ok()) {
        if (!config_.is_cluster()) {
          *exit_code = s3.status().code() == Code::kPermission ? 2 : 1;
          return Status(s3.status().code(), "target_options: " + s3.status().message());
        }
        spdlog::warn("UFS fallback disabled: {}", s3.status().to_string());
      } else {
        ufs_ = std::move(*s3);
      }
    }
  } else if (!config_.is_cluster()) {
    *exit_code = 2;
    return Status(Code::kUnsupported, "ufs_root: standalone mode has no UFS client for scheme \"" +
                                          std::string(scheme) + "\" (supported: file, s3, s3a)");
  }

  if (!config_.is_cluster()) {
    root_store_ = ufs_.get();
    return Status::Ok();
  }
  auto backend = router::make_cluster_backend(config_, ufs_.get(), metrics_.get());
  if (!backend.ok()) {
    *exit_code = backend.status().code() == Code::kInvalid ? 2 : 1;
    return backend.status();
  }
  cluster_ = std::move(*backend);
  root_store_ = &cluster_->store();
  spdlog::info("cluster mode: {} workers, virtual nodes per worker {}, UFS fallback {}",
               cluster_->membership_workers(), config_.options.virtual_nodes,
               ufs_ ? "enabled" : "disabled");
  return Status::Ok();
}

Status Daemon::start(int* exit_code) {
  *exit_code = 1;
  spdlog::info("alluxio-fuse starting: mount point {}, ufs_root {}, mode: {}", mountpoint_,
               config_.ufs_root, config::describe_mode(config_));
  raise_fd_limit();
  metrics_ = std::make_unique<metrics::Metrics>();  // build_info from common/build_info.h
  op_observer_ = std::make_unique<MetricsOpObserver>(*metrics_);
  AF_RETURN_IF_ERROR(build_store(exit_code));
  *exit_code = 1;

  // The UFS root must answer before we mount: a mount that serves nothing is worse than a
  // clear start-up error.
  auto root = root_store_->stat(config_.ufs_root);
  if (!root.ok()) {
    return Status(root.status().code(),
                  "ufs_root " + config_.ufs_root + " is unreachable: " + root.status().to_string());
  }
  if (!root->is_dir()) {
    return Status(Code::kNotDir, "ufs_root " + config_.ufs_root + " is not a directory");
  }

  fs::Options fo;
  fo.root = config_.ufs_root;
  fo.page_size = config_.options.page_size;
  fo.uid = config_.mount.uid.value_or(::getuid());
  fo.gid = config_.mount.gid.value_or(::getgid());
  fo.file_mode = config_.mount.file_mode;
  fo.dir_mode = config_.mount.dir_mode;
  fo.read_only = config_.mount.ro;
  fo.direct_io = config_.mount.direct_io;
  fo.attr_timeout = config_.mount.attr_timeout;
  fo.entry_timeout = config_.mount.entry_timeout;
  fo.negative_timeout = config_.mount.negative_timeout;
  fo.metadata.ttl = config_.metadata.ttl;
  fo.metadata.negative_ttl = config_.metadata.negative_ttl;
  fo.metadata.max_entries = config_.metadata.max_entries;
  fo.readahead = config_.page_cache.readahead.enabled;
  fo.readahead_initial = config_.page_cache.readahead.initial_window;
  fo.readahead_max = config_.page_cache.readahead.max_window;
  fo.readahead_per_file = config_.page_cache.readahead.per_file_fetches;
  fo.max_read = config_.mount.max_read;
  fo.memory_budget = config_.page_cache.memory_budget;
  fo.staging_dir = config_.write.staging_dir;
  fo.staging_capacity = config_.write.staging_capacity;
  fo.max_file_size = config_.write.max_file_size;
  fo.keep_failed = config_.write.keep_failed;
  if (config_.page_cache.enabled) {
    cache::PageCacheOptions po;
    po.dir = config_.page_cache.dir;
    po.page_size = static_cast<uint32_t>(config_.options.page_size);
    po.capacity = config_.page_cache.capacity;
    po.enabled = true;
    po.clock = &clock_;
    page_cache_ = std::make_unique<cache::PageCache>(po);
    Status opened = page_cache_->open();
    if (!opened.ok()) return opened;
    fetch_pool_ = std::make_unique<cache::FetchPool>(config_.page_cache.max_inflight_fetches);
    spdlog::info("page cache: {} ({} bytes capacity, page size {})", po.dir, po.capacity,
                 po.page_size);
  } else {
    spdlog::info("page cache: disabled");
  }
  fs_ = std::make_unique<fs::FileSystem>(fo, *root_store_, clock_, page_cache_.get(),
                                         fetch_pool_.get());

  fuse::SessionOptions so;
  so.fsname = config_.mount.fsname;
  so.subtype = config_.mount.subtype;
  so.allow_other = config_.mount.allow_other;
  so.default_permissions = config_.mount.default_permissions;
  so.read_only = config_.mount.ro;
  so.max_read = config_.mount.max_read;
  so.max_write = config_.mount.max_write;
  so.max_threads = config_.mount.max_threads;
  so.max_idle_threads = config_.mount.max_idle_threads;
  so.io_uring = config_.mount.io_uring;
  so.extra_options = config_.mount.fuse_options;
  so.slow_op_threshold = config_.logger.slow_op_threshold;
  so.on_fatal = [this](const std::string& why) {
    // The signal thread does the rest: no drain (requests on the broken queue never end
    // otherwise), unmount, commit staged files, exit 1.
    spdlog::error("{}: the mount can no longer answer requests: stopping now", why);
    failed_ = true;
    ::kill(::getpid(), SIGTERM);
  };
  metrics_->add_collect_hook([this] { publish_stats(); });
  AF_RETURN_IF_ERROR(start_metrics());

  session_ = std::make_unique<fuse::Session>(*fs_, so, op_observer_.get());
  Status mounted = session_->mount(mountpoint_);
  if (!mounted.ok()) return mounted;
  mounted_ = true;
  *exit_code = 0;
  return Status::Ok();
}

Status Daemon::serve() {
  Status s = session_->run();
  session_->unmount();
  mounted_ = false;
  spdlog::info("alluxio-fuse stopped serving {}", mountpoint_);
  return s;
}

bool Daemon::commit_staged() {
  if (!fs_) return true;
  uint64_t errors_before = fs_->stats().commits_error.load();
  fs_->shutdown();
  return fs_->stats().commits_error.load() == errors_before;
}

void Daemon::begin_stop() {
  if (stopping_.exchange(true)) return;
  if (fs_) fs_->refuse_opens();
}

size_t Daemon::open_files() const { return fs_ ? fs_->open_files() : 0; }

int64_t Daemon::ops_in_flight() const { return session_ ? session_->ops_in_flight() : 0; }

bool Daemon::idle() const { return open_files() == 0 && ops_in_flight() == 0; }

void Daemon::request_stop() {
  stopping_ = true;
  if (stop_requested_.exchange(true)) return;
  spdlog::info("stop requested: unmounting {}", mountpoint_);
  if (session_) {
    session_->exit();
    session_->unmount();
  }
  // Calls still waiting on a worker return at once instead of holding the unmount.
  if (cluster_) cluster_->stop();
}

}  // namespace alluxio_fuse::app
