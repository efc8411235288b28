#pragma once
// The running daemon: every component of one mount, built in dependency order from the
// configuration and destroyed in reverse. Members are declared in build order, so the
// default destructor tears down in the reverse order without extra code.
//
// Thread-safety: build/serve/stop are called by the main thread; request_stop from the
// signal-handling thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "alluxio_fuse/cache/fetch_pool.h"
#include "alluxio_fuse/cache/page_cache.h"
#include "alluxio_fuse/common/clock.h"
#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/config/config.h"
#include "alluxio_fuse/fs/file_system.h"
#include "alluxio_fuse/fuse/session.h"
#include "alluxio_fuse/http/client.h"
#include "alluxio_fuse/metrics/metrics.h"
#include "alluxio_fuse/metrics/server.h"
#include "alluxio_fuse/store/store.h"

namespace alluxio_fuse::router {
class ClusterBackend;
}  // namespace alluxio_fuse::router

namespace alluxio_fuse::app {

class Daemon {
 public:
  Daemon(config::Config config, std::string mountpoint);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Builds stores, caches and the core, checks the UFS root answers, and mounts. On error the
  // status says which part failed; `exit_code` is 1 (runtime) or 2 (configuration).
  common::Status start(int* exit_code);
  // Serves until stopped by a signal or an external unmount.
  common::Status serve();
  // Graceful stop, first step (the first stop signal): /healthz reports "shutting down", new
  // opens fail with EIO, background commits of closed files finish. Serving goes on.
  void begin_stop();
  // No file open and no FUSE operation in flight: the graceful stop may unmount now.
  bool idle() const;
  size_t open_files() const;
  int64_t ops_in_flight() const;
  std::chrono::nanoseconds shutdown_timeout() const { return config_.mount.shutdown_timeout; }
  // The kernel readahead window to give the mount (its max_read).
  uint64_t kernel_readahead() const { return config_.mount.max_read; }
  // From any thread: stop serving and unmount.
  void request_stop();
  // The mount broke for good (an io_uring queue failed): the daemon stops without draining
  // and exits 1.
  bool failed() const { return failed_.load(); }
  // Commits every dirty staged file now (forced exit with the mount still busy). False when a
  // commit failed (its copy is kept under failed/ and logged).
  bool commit_staged();

 private:
  common::Status build_store(int* exit_code);
  common::Status start_metrics();
  void publish_stats();
  metrics::Health health() const;

  config::Config config_;
  std::string mountpoint_;
  common::SystemClock& clock_;
  std::unique_ptr<metrics::Metrics> metrics_;
  std::unique_ptr<fuse::OpObserver> op_observer_;
  std::unique_ptr<http::Client> ufs_http_;           // HTTP client of an S3 UFS
  std::unique_ptr<store::Store> ufs_;                // the UFS client (standalone root or fallback)
  std::unique_ptr<router::ClusterBackend> cluster_;  // cluster mode only
  store::Store* root_store_ = nullptr;               // what the core reads through
  std::unique_ptr<cache::PageCache> page_cache_;
  std::unique_ptr<cache::FetchPool> fetch_pool_;  // stopped before the core goes away
  std::unique_ptr<fs::FileSystem> fs_;
  std::unique_ptr<fuse::Session> session_;
  std::unique_ptr<metrics::Server> metrics_server_;  // stopped first: it reads the others
  std::atomic<bool> mounted_{false};
  std::atomic<bool> stopping_{false};        // begin_stop: refusing new opens
  std::atomic<bool> stop_requested_{false};  // request_stop: unmounting
  std::atomic<bool> failed_{false};          // set before the SIGTERM it sends itself
};

}  // namespace alluxio_fuse::app
