#pragma once
// Everything cluster mode needs, built from the configuration in one place (the app module
// wires it): the HTTP client, the membership (static worker_hosts, etcd, or server mode with
// load_balance_domain), the cluster::Router, the WorkerClient and the ClusterStore. Also the
// `alluxio-fuse route` command's output.
//
// Thread-safety: store() and the stats accessors may be used from any thread; stop() once,
// from the owning thread. Ownership: the backend owns all of the above; the UFS store and the
// CallObserver are non-owning and must outlive it.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alluxio_fuse/cluster/membership.h"
#include "alluxio_fuse/cluster/router.h"
#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/config/config.h"
#include "alluxio_fuse/http/client.h"
#include "alluxio_fuse/router/attempt_tap.h"
#include "alluxio_fuse/router/cluster_store.h"
#include "alluxio_fuse/store/store.h"
#include "alluxio_fuse/worker/worker_client.h"

namespace alluxio_fuse::router {

class ClusterBackend {
 public:
  ~ClusterBackend();
  ClusterBackend(const ClusterBackend&) = delete;
  ClusterBackend& operator=(const ClusterBackend&) = delete;

  // The store the core reads and writes through.
  store::Store& store() { return *store_; }
  const RouterStats& stats() const { return store_->stats(); }
  // etcd refresh counters and the worker gauge; null in server mode (no membership).
  const cluster::MembershipStats* membership_stats() const;
  // alluxio_fuse_membership_workers: workers on the ring (1 in server mode).
  int64_t membership_workers() const;
  // alluxio_fuse_membership_suspect_workers.
  int64_t suspect_workers() const { return router_->suspect_count(); }
  worker::WorkerClient& worker_client() { return *workers_; }

  // For unmount: stops the membership refresh and aborts HTTP calls in flight (later calls
  // fail fast). Idempotent.
  void stop();

 private:
  friend common::Result<std::unique_ptr<ClusterBackend>> make_cluster_backend(const config::Config&,
                                                                              store::Store*,
                                                                              http::CallObserver*);
  ClusterBackend() = default;

  // Destroyed in reverse order: the store first, the HTTP client last.
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<AttemptTap> tap_;
  std::unique_ptr<worker::WorkerClient> workers_;
  std::unique_ptr<cluster::Membership> membership_;  // null in server mode
  std::unique_ptr<cluster::Router> router_;
  std::unique_ptr<ClusterStore> store_;
  bool stopped_ = false;
};

// Builds and starts cluster mode. etcd membership blocks until the first membership or fails
// within etcd.startup_timeout (kUnavailable naming etcd.hosts: exit 1). kInvalid when the
// configuration is standalone or a membership item is malformed (exit 2).
common::Result<std::unique_ptr<ClusterBackend>> make_cluster_backend(const config::Config& config,
                                                                     store::Store* ufs,
                                                                     http::CallObserver* observer);

// Output of `alluxio-fuse route` (config.md §4), without the trailing newline: one line per
// key, or one JSON array. Arguments: "/a/b" or "a/b" is a path under the mount root (joined
// with ufs_root), "<scheme>://..." a full key (normalised), and with `raw` each argument is the
// key verbatim. `count` defaults to routing.candidates. Reads etcd once for etcd membership;
// never contacts a worker. kInvalid in standalone mode (exit 2); kUnavailable when etcd gives
// no membership (exit 1).
common::Result<std::string> route_output(const config::Config& config,
                                         const std::vector<std::string>& args,
                                         std::optional<unsigned> count, bool raw, bool json);

}  // namespace alluxio_fuse::router
