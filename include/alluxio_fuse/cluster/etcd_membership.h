#pragma once
// etcd membership (routing.md §4): reads the live workers Alluxio registers under a key prefix
// through the etcd v3 JSON gateway, and refreshes them in a background thread.
//
// Thread-safety: snapshot()/stats() from any thread. start() and stop() from one owning thread.
// refresh_once() runs on the caller's thread; start() and the background thread never run it
// at the same time, and tests call it only while no background thread runs.
// Ownership: the http::Client and the Clock are injected, non-owning, and must outlive this
// object; the background thread is owned and joined by stop() or the destructor.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alluxio_fuse/cluster/etcd_wire.h"
#include "alluxio_fuse/cluster/membership.h"
#include "alluxio_fuse/common/clock.h"
#include "alluxio_fuse/http/client.h"

namespace alluxio_fuse::cluster {

struct EtcdOptions {
  std::vector<std::string> hosts;  // `etcd.hosts` items: host[:port] or http(s)://host:port
  int default_port = 2379;         // `etcd.port`
  std::string prefix = "/ServiceDiscovery/DefaultAlluxioCluster/";
  std::string username;  // both or neither
  std::string password;  // a secret: never logged, never in an error message
  common::Duration refresh_interval = std::chrono::seconds(120);  // <= 0 disables refresh
  common::Duration timeout = std::chrono::seconds(5);             // per request
  common::Duration startup_timeout = std::chrono::seconds(60);
  common::Duration startup_backoff_initial = std::chrono::milliseconds(250);
  common::Duration startup_backoff_max = std::chrono::seconds(5);
  int virtual_nodes = kDefaultVirtualNodes;
  uint64_t shuffle_seed = 0;  // 0: random; tests pin it
};

enum class RefreshResult { kChanged, kUnchanged, kError };

class EtcdMembership final : public Membership {
 public:
  // Waits `d` or until woken by stop(). The default waits on a condition variable in real
  // time; tests inject one that advances a FakeClock.
  using WaitFn = std::function<void(common::Duration d)>;

  // kInvalid for an empty host list, a bad host item, a prefix not ending in '/', or only one
  // of username/password.
  static common::Result<std::unique_ptr<EtcdMembership>> create(EtcdOptions options,
                                                                http::Client& client,
                                                                common::Clock& clock,
                                                                WaitFn wait = nullptr);
  ~EtcdMembership() override;

  // The first fetch must succeed with >= 1 worker within startup_timeout (retrying with
  // backoff), else kUnavailable naming etcd.hosts. Then starts the refresh thread.
  common::Status start() override;
  void stop() override;

  // One fetch; publishes a new snapshot when the identities or any address changed. Keeps
  // the last good ring on error or on zero workers. Updates stats().
  RefreshResult refresh_once();

  // Endpoint base URLs in the order they will be tried next (the shuffled list, rotated so
  // the last one that answered comes first).
  std::vector<std::string> endpoint_order() const;
  // Records of the last successful fetch, for diagnostics (`doctor`).
  std::vector<WorkerRecord> records() const;

 private:
  EtcdMembership(EtcdOptions options, std::vector<std::string> endpoints, http::Client& client,
                 common::Clock& clock, WaitFn wait);

  // Fetches the worker records from the first endpoint that answers.
  common::Result<std::vector<WorkerRecord>> fetch();
  // One endpoint: range request, with (re-)authentication when configured.
  common::Result<std::vector<WorkerRecord>> fetch_from(const std::string& base);
  common::Status authenticate(const std::string& base);
  http::Response post(const std::string& url, std::string body, std::string_view metric,
                      const std::string& token);
  void refresh_loop();
  void default_wait(common::Duration d);

  const EtcdOptions options_;
  http::Client& client_;
  common::Clock& clock_;
  WaitFn wait_;

  mutable std::mutex state_mu_;         // guards the members below; never held across I/O
  std::vector<std::string> endpoints_;  // GUARDED_BY(state_mu_), shuffled once
  size_t preferred_ = 0;                // GUARDED_BY(state_mu_)
  std::string token_;                   // GUARDED_BY(state_mu_), a secret
  std::vector<WorkerRecord> records_;   // GUARDED_BY(state_mu_)
  std::string last_error_;              // GUARDED_BY(state_mu_)

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // GUARDED_BY(stop_mu_)
  std::thread thread_;
};

}  // namespace alluxio_fuse::cluster
