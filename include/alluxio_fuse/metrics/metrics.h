#pragma once
// Metrics: the registry of every metric family of metrics.md §1 and §2 (plus the standard
// process_* series), with typed accessors over the closed label sets of labels.h.
//
// Responsibility: define each family once, pre-create every closed-set label combination so the
// first scrape is complete (counters at 0), and serialise the Prometheus text format 0.0.4.
// Components that keep their own atomics (page cache, file system, membership) register a
// collect hook that publishes those values (set / set_total) just before each scrape, so a
// scrape never waits for FUSE requests, the network or the disk.
//
// Thread-safety: every recording accessor may be called from any thread at any time; they use
// child-metric pointers resolved at construction (atomic adds; histograms take one uncontended
// per-series mutex inside prometheus-cpp). serialize() and the hook functions are safe to call
// concurrently with everything else; scrapes are serialised among themselves.
// Ownership: created once by the app and passed by reference to the components that record;
// it must outlive them and the metrics::Server. It is an http::CallObserver for the HTTP client.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alluxio_fuse/http/client.h"
#include "alluxio_fuse/metrics/labels.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace alluxio_fuse::metrics {

// Unlabelled counters of metrics.md §2.
enum class CounterId : uint8_t {
  kPageCacheHits,          // alluxio_fuse_page_cache_hits_total
  kPageCacheMisses,        // alluxio_fuse_page_cache_misses_total
  kPageCacheEvictions,     // alluxio_fuse_page_cache_evictions_total
  kPageCacheCorruptPages,  // alluxio_fuse_page_cache_corrupt_pages_total
  kReadaheadBytes,         // alluxio_fuse_readahead_bytes_total
  kReadaheadUnusedBytes,   // alluxio_fuse_readahead_unused_bytes_total
  kMetadataCacheMisses,    // alluxio_fuse_metadata_cache_misses_total
  kRouterFailovers,        // alluxio_fuse_router_failovers_total
  kWriteCommitBytes,       // alluxio_fuse_write_commit_bytes_total
  kBadEntries,             // alluxio_fuse_bad_entries_total
  kCount
};

// Unlabelled gauges of metrics.md §2.
enum class GaugeId : uint8_t {
  kPageCacheSizeBytes,        // alluxio_fuse_page_cache_size_bytes
  kPageCacheCapacityBytes,    // alluxio_fuse_page_cache_capacity_bytes
  kPageCachePages,            // alluxio_fuse_page_cache_pages
  kPageCacheEnabled,          // alluxio_fuse_page_cache_enabled (1, or 0 once disabled)
  kMetadataCacheEntries,      // alluxio_fuse_metadata_cache_entries
  kMembershipWorkers,         // alluxio_fuse_membership_workers
  kMembershipSuspectWorkers,  // alluxio_fuse_membership_suspect_workers
  kWriteStagingBytes,         // alluxio_fuse_write_staging_bytes
  kCount
};

struct BuildInfo {
  std::string version;
  std::string revision;
};

class Metrics final : public http::CallObserver {
 public:
  using CollectHook = std::function<void()>;
  using HookId = uint64_t;

  // build_info from the compile-time version and git revision.
  Metrics();
  explicit Metrics(BuildInfo build_info);
  ~Metrics() override;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // --- HTTP calls (metrics.md §1): one observation per attempt. ---
  void observe_http(HttpMethod method, http::State state, double latency_ms);
  // http::CallObserver. A method name outside the closed set is dropped (no new series) and
  // logged once: a missing Request::metric_method is a bug to fix, not a label to invent.
  void observe(std::string_view method, http::State state, double latency_ms) override;

  // --- FUSE requests. ---
  void op_started(Op op);
  // `error` is 0 for success, else the errno replied (sign ignored). Counts the duration,
  // ends the in-flight count and, on error, the errors counter under its closed-set name.
  void op_finished(Op op, double seconds, int error);

  // --- Labelled counters: `add` from the code path, or `set_*_total` from a collect hook. ---
  void read_bytes(Source source, uint64_t n);
  void set_read_bytes_total(Source source, uint64_t total);
  // Source::kCache is not a fetch source and is ignored.
  void fetch_bytes(Source source, uint64_t n);
  void set_fetch_bytes_total(Source source, uint64_t total);
  void metadata_cache_hit(MetadataHit kind);
  void set_metadata_cache_hits_total(MetadataHit kind, uint64_t total);
  void ufs_fallback(FallbackReason reason);
  void set_ufs_fallback_total(FallbackReason reason, uint64_t total);
  void membership_refresh(RefreshResult result);
  void set_membership_refresh_total(RefreshResult result, uint64_t total);
  // One commit; `bytes` (uploaded) is counted only when the commit succeeded.
  void write_commit(CommitResult result, uint64_t bytes);
  // Commit counts kept by the core (scrape-time hook), like the other set_*_total calls.
  void set_write_commits_total(CommitResult result, uint64_t total);
  void router_failover() { add(CounterId::kRouterFailovers); }

  // --- Unlabelled counters and gauges. ---
  void add(CounterId id, double n = 1);
  // Publishes a component's own monotonic total. A series must be fed either by add() or by
  // set_total() from collect hooks, never both; a total below the exposed value is ignored
  // (counters never go down).
  void set_total(CounterId id, double total);
  void set(GaugeId id, double value);
  void gauge_add(GaugeId id, double delta);

  // --- Scrape. ---
  // Registers a hook run (in registration order) before each serialisation. Hooks must only
  // read memory (atomics) and call the setters above; they never block on I/O or locks held
  // across I/O. Exceptions are caught and logged. Hooks must not call add_collect_hook,
  // remove_collect_hook or serialize (they share the scrape mutex).
  HookId add_collect_hook(CollectHook hook);
  // After it returns, the hook is not running and never runs again.
  void remove_collect_hook(HookId id);

  // Runs the hooks, refreshes the process_* series and returns the Prometheus text exposition.
  std::string serialize();

 private:
  void build();
  void update_process_metrics();
  static void advance_counter(prometheus::Counter* counter, double total);

  BuildInfo build_info_;
  std::unique_ptr<prometheus::Registry> registry_;

  // Child series, indexed by the closed-set enums (pointers owned by registry_).
  std::array<std::array<prometheus::Histogram*, 2>, kHttpMethodCount> http_latency_{};  // [m][ok]
  std::array<std::array<prometheus::Counter*, kHttpStateCount>, kHttpMethodCount> http_result_{};
  std::array<prometheus::Histogram*, kOpCount> op_duration_{};
  std::array<std::array<prometheus::Counter*, kErrnoLabelCount>, kOpCount> op_errors_{};
  std::array<prometheus::Gauge*, kOpCount> op_in_flight_{};
  std::array<prometheus::Counter*, kSourceCount> read_bytes_{};
  std::array<prometheus::Counter*, kSourceCount> fetch_bytes_{};  // [kCache] stays null
  std::array<prometheus::Counter*, kMetadataHitCount> metadata_hits_{};
  std::array<prometheus::Counter*, kFallbackReasonCount> ufs_fallback_{};
  std::array<prometheus::Counter*, kRefreshResultCount> membership_refresh_{};
  std::array<prometheus::Counter*, kCommitResultCount> write_commits_{};
  std::array<prometheus::Counter*, static_cast<size_t>(CounterId::kCount)> counters_{};
  std::array<prometheus::Gauge*, static_cast<size_t>(GaugeId::kCount)> gauges_{};

  // process_* series, written only by update_process_metrics() under scrape_mutex_.
  prometheus::Gauge* process_resident_ = nullptr;
  prometheus::Gauge* process_virtual_ = nullptr;
  prometheus::Gauge* process_open_fds_ = nullptr;
  prometheus::Counter* process_cpu_ = nullptr;
  prometheus::Gauge* process_start_time_ = nullptr;
  double boot_time_seconds_ = 0;

  // Serialises scrapes and guards hooks_ (hooks run under it, which is what makes
  // remove_collect_hook a barrier). Never taken by the recording accessors.
  std::mutex scrape_mutex_;
  std::vector<std::pair<HookId, CollectHook>> hooks_;  // GUARDED_BY(scrape_mutex_)
  HookId next_hook_id_ = 1;                            // GUARDED_BY(scrape_mutex_)
  std::atomic<bool> warned_unknown_method_{false};
};

}  // namespace alluxio_fuse::metrics
