#pragma once
// ClusterStore: the store contract served by the Alluxio workers, with failover between the
// candidates the cluster::Router names and fallback to the UFS (routing.md §6, worker-rest.md
// §3.1 and §4, semantics.md §4).
//
// Per operation: take the candidates of the routing key, try them in order (moving on after
// refused, timeout, 503, and once after 500 or bad_response; stopping on any answer), repeat
// the list up to `retries` extra rounds with jittered exponential backoff, all inside the
// operation's deadline; then serve the operation from the UFS when the fallback rules allow it
// for the failure class, else fail with kIo (kReadOnly for mutations on open-source clusters).
// An open-source miss (kMiss) on a read or listing goes straight to the fallback; on /v1/info
// it triggers the parent check. Mutations whose outcome is unknown are verified with a fresh
// /v1/info and retried once.
//
// Thread-safety: every method may be called concurrently. Stats are atomics.
// Ownership: the Router, WorkerClient, AttemptTap, UFS store and Clock are non-owning and must
// outlive the ClusterStore. The AttemptTap must be the http::Client the WorkerClient calls.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "alluxio_fuse/cluster/router.h"
#include "alluxio_fuse/common/clock.h"
#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/log/rate_limit.h"
#include "alluxio_fuse/router/attempt_tap.h"
#include "alluxio_fuse/store/store.h"
#include "alluxio_fuse/worker/worker_client.h"

namespace alluxio_fuse::router {

using common::Result;
using common::Status;

// Counters read by the metrics module at scrape time (metrics.md §2).
struct RouterStats {
  std::atomic<uint64_t> failovers{0};  // alluxio_fuse_router_failovers_total
  // alluxio_fuse_ufs_fallback_total{reason=...}
  std::atomic<uint64_t> fallback_unavailable{0};
  std::atomic<uint64_t> fallback_timeout{0};
  std::atomic<uint64_t> fallback_miss{0};
  std::atomic<uint64_t> fallback_server_error{0};
  std::atomic<uint64_t> fallback_unsupported{0};
  std::atomic<uint64_t> bad_entries{0};  // alluxio_fuse_bad_entries_total (listings)
  // Not exported; for tests and `doctor`.
  std::atomic<uint64_t> attempts{0};  // worker calls made (one per try of a candidate)
  std::atomic<uint64_t> rounds{0};    // extra rounds started after a backoff
};

struct ClusterStoreOptions {
  size_t page_size = 1048576;
  common::Duration metadata_timeout = std::chrono::seconds(10);
  common::Duration data_timeout = std::chrono::seconds(30);
  uint32_t retries = 2;
  common::Duration backoff_initial = std::chrono::milliseconds(100);
  common::Duration backoff_max = std::chrono::seconds(2);
  // config::FallbackConfig, flattened so the store does not depend on the config module.
  bool fallback_enabled = true;
  std::set<common::Code> fallback_on = {common::Code::kUnavailable, common::Code::kTimeout,
                                        common::Code::kMiss, common::Code::kServerError,
                                        common::Code::kUnsupported};
  bool fallback_writes = false;
  bool oss = false;          // routing.worker_api: oss (mutations never go to a worker)
  uint64_t jitter_seed = 0;  // 0: random
};

class ClusterStore final : public store::Store {
 public:
  // Waits between rounds; the default sleeps on the real clock. Tests inject one that records
  // the requested backoff (and may advance a FakeClock).
  using SleepFn = std::function<void(common::Duration)>;

  ClusterStore(cluster::Router& router, worker::WorkerClient& workers, store::Store* ufs,
               ClusterStoreOptions options,
               const common::Clock& clock = common::SystemClock::instance(),
               SleepFn sleep = nullptr);

  Result<store::FileInfo> stat(const std::string& key) override;
  Result<std::vector<store::FileInfo>> list(const std::string& key) override;
  Result<store::ReadReply> read(const store::ReadRequest& request, char* buf) override;
  Status write_file(const std::string& key, int fd, uint64_t size) override;
  Status mkdir(const std::string& key) override;
  Status remove(const std::string& key, bool directory) override;
  Status rename(const std::string& src, const std::string& dst) override;

  const RouterStats& stats() const { return stats_; }
  // True between the first fallback of an episode and the next worker answer.
  bool in_fallback_episode() const { return in_fallback_.load(); }

 private:
  enum class Kind { kRead, kList, kInfo, kMutation };
  // One attempt against one worker; the caller captures its result.
  using Attempt = std::function<Status(const worker::WorkerAddress&)>;
  // What the candidate loop ended with: an answer from a worker (ok or authoritative error),
  // or the failure class that ended the search.
  struct Outcome {
    Status status;
    bool answered = false;
  };

  Outcome run(const std::string& key, Kind kind, common::TimePoint deadline,
              const Attempt& attempt);
  // Mutation loop with semantics.md §4 verification; `verify` returns true when the unknown
  // outcome is known to have succeeded, false when a retry is allowed, or an error (give up).
  using Verify = std::function<Result<bool>()>;
  Outcome run_mutation(const std::string& key, common::TimePoint deadline, const Attempt& attempt,
                       const Verify& verify);
  // A mutation end to end: oss short-cut, the search, then the UFS form or an error.
  Status mutate(const std::string& key, common::TimePoint deadline, const Attempt& attempt,
                const Verify& verify, const std::function<Status()>& on_ufs);

  // Fallback for a failed search: the UFS op when allowed, else kIo/kReadOnly.
  bool may_fall_back(common::Code failure, bool mutation) const;
  void note_fallback(common::Code failure, const std::string& key);
  Status failure_status(const Status& failure, bool mutation) const;
  void note_answer();
  void note_oss(const worker::WorkerAddress& addr);

  Result<store::FileInfo> stat_on_workers(const std::string& key, common::TimePoint deadline,
                                          Outcome* outcome);
  // A fresh /v1/info of `key` through the workers (no fallback), for mutation verification.
  Result<store::FileInfo> fresh_info(const std::string& key, common::TimePoint deadline);
  common::Duration backoff(uint32_t round);
  common::TimePoint deadline_after(common::Duration d) const;

  cluster::Router& router_;
  worker::WorkerClient& workers_;
  store::Store* ufs_;
  const ClusterStoreOptions options_;
  const common::Clock& clock_;
  SleepFn sleep_;
  RouterStats stats_;
  std::atomic<bool> in_fallback_{false};
  log::RateLimiter worker_errors_;  // one WARN per worker and error class per minute

  std::mutex mu_;                     // guards the members below; never held across I/O
  std::mt19937_64 rng_;               // GUARDED_BY(mu_), backoff jitter
  std::set<std::string> oss_logged_;  // GUARDED_BY(mu_), workers logged as open-source
};

}  // namespace alluxio_fuse::router
