// Design note: all families are created in build(), in the order of metrics.md, and every
// closed-set label combination is added right away; the accessors then only index arrays of
// child pointers (prometheus-cpp children have stable addresses for the registry's lifetime),
// so recording never touches a family mutex or a map. The one string lookup on a hot path is
// the HTTP method name of http::CallObserver, a scan of 26 short constants.
//
// Counters fed from components' own atomics are advanced to the published total by the delta
// (prometheus-cpp counters only increment); set_total runs under the scrape mutex, so two
// scrapes never race on the same delta.

#include "alluxio_fuse/metrics/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <array>
#include <exception>

#include "alluxio_fuse/common/build_info.h"
#include "process_stats.h"

namespace alluxio_fuse::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

constexpr std::array<double, 4> kHttpLatencyBucketsMs = {10, 40, 160, 640};
constexpr std::array<double, 18> kOpDurationBucketsS = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};

template <size_t N>
prometheus::Histogram::BucketBoundaries boundaries(const std::array<double, N>& a) {
  return {a.begin(), a.end()};
}

std::string str(std::string_view s) { return std::string(s); }

}  // namespace

Metrics::Metrics() : Metrics(BuildInfo{common::build_version(), common::build_revision()}) {}

Metrics::Metrics(BuildInfo build_info)
    : build_info_(std::move(build_info)), registry_(std::make_unique<prometheus::Registry>()) {
  build();
}

Metrics::~Metrics() = default;

void Metrics::build() {
  auto& reg = *registry_;

  // §1: the product document's families.
  auto& http_latency =
      BuildHistogram()
          .Name("alluxio_http_server_call_latency_ms")
          .Help("Latency of each HTTP call attempt to a worker, etcd or S3, in ms.")
          .Register(reg);
  auto& http_result = BuildCounter()
                          .Name("alluxio_http_server_result_total")
                          .Help("HTTP call attempts to a worker, etcd or S3, by reply class.")
                          .Register(reg);
  const auto http_buckets = boundaries(kHttpLatencyBucketsMs);
  for (size_t m = 0; m < kHttpMethodCount; ++m) {
    auto method = str(to_string(static_cast<HttpMethod>(m)));
    http_latency_[m][0] =
        &http_latency.Add({{"method", method}, {"success", "false"}}, http_buckets);
    http_latency_[m][1] =
        &http_latency.Add({{"method", method}, {"success", "true"}}, http_buckets);
    for (size_t s = 0; s < kHttpStateCount; ++s) {
      auto state = str(state_label(static_cast<http::State>(s)));
      http_result_[m][s] = &http_result.Add({{"method", method}, {"state", state}});
    }
  }

  // §2: FUSE requests.
  auto& op_duration = BuildHistogram()
                          .Name("alluxio_fuse_op_duration_seconds")
                          .Help("FUSE request latency from receipt to reply, in seconds.")
                          .Register(reg);
  auto& op_errors = BuildCounter()
                        .Name("alluxio_fuse_op_errors_total")
                        .Help("FUSE requests answered with an error, by errno.")
                        .Register(reg);
  auto& op_in_flight = BuildGauge()
                           .Name("alluxio_fuse_op_in_flight")
                           .Help("FUSE requests being served.")
                           .Register(reg);
  const auto op_buckets = boundaries(kOpDurationBucketsS);
  for (size_t o = 0; o < kOpCount; ++o) {
    auto op = str(to_string(static_cast<Op>(o)));
    op_duration_[o] = &op_duration.Add({{"op", op}}, op_buckets);
    op_in_flight_[o] = &op_in_flight.Add({{"op", op}});
    for (size_t e = 0; e < kErrnoLabelCount; ++e) {
      op_errors_[o][e] =
          &op_errors.Add({{"op", op}, {"errno", str(to_string(static_cast<ErrnoLabel>(e)))}});
    }
  }

  auto counter = [&](CounterId id, const char* name, const char* help) {
    counters_[static_cast<size_t>(id)] =
        &BuildCounter().Name(name).Help(help).Register(reg).Add({});
  };
  auto gauge = [&](GaugeId id, const char* name, const char* help) {
    gauges_[static_cast<size_t>(id)] = &BuildGauge().Name(name).Help(help).Register(reg).Add({});
  };

  // Page cache.
  counter(CounterId::kPageCacheHits, "alluxio_fuse_page_cache_hits_total",
          "Page lookups served from the local page cache.");
  counter(CounterId::kPageCacheMisses, "alluxio_fuse_page_cache_misses_total",
          "Page lookups that needed a fetch (demand and readahead).");
  counter(CounterId::kPageCacheEvictions, "alluxio_fuse_page_cache_evictions_total",
          "Pages evicted from the local page cache.");
  counter(CounterId::kPageCacheCorruptPages, "alluxio_fuse_page_cache_corrupt_pages_total",
          "Cached pages that failed verification (deleted and refetched).");
  gauge(GaugeId::kPageCacheSizeBytes, "alluxio_fuse_page_cache_size_bytes",
        "Bytes held in the local page cache.");
  gauge(GaugeId::kPageCacheCapacityBytes, "alluxio_fuse_page_cache_capacity_bytes",
        "Configured capacity of the local page cache in bytes.");
  gauge(GaugeId::kPageCachePages, "alluxio_fuse_page_cache_pages",
        "Pages held in the local page cache.");
  gauge(GaugeId::kPageCacheEnabled, "alluxio_fuse_page_cache_enabled",
        "1 while the page cache is in use, 0 after it disabled itself.");

  // Reads and fetches.
  auto& read_bytes = BuildCounter()
                         .Name("alluxio_fuse_read_bytes_total")
                         .Help("Bytes returned to applications, by where the page came from.")
                         .Register(reg);
  for (size_t s = 0; s < kSourceCount; ++s) {
    read_bytes_[s] = &read_bytes.Add({{"source", str(to_string(static_cast<Source>(s)))}});
  }
  auto& fetch_bytes = BuildCounter()
                          .Name("alluxio_fuse_fetch_bytes_total")
                          .Help("Bytes fetched over the network, including readahead.")
                          .Register(reg);
  for (Source s : {Source::kWorker, Source::kUfs}) {
    fetch_bytes_[static_cast<size_t>(s)] = &fetch_bytes.Add({{"source", str(to_string(s))}});
  }
  counter(CounterId::kReadaheadBytes, "alluxio_fuse_readahead_bytes_total",
          "Bytes fetched by readahead.");
  counter(CounterId::kReadaheadUnusedBytes, "alluxio_fuse_readahead_unused_bytes_total",
          "Readahead bytes evicted before any read used them.");

  // Metadata cache.
  auto& meta_hits = BuildCounter()
                        .Name("alluxio_fuse_metadata_cache_hits_total")
                        .Help("Lookups and getattrs answered from the metadata cache.")
                        .Register(reg);
  for (size_t k = 0; k < kMetadataHitCount; ++k) {
    metadata_hits_[k] = &meta_hits.Add({{"kind", str(to_string(static_cast<MetadataHit>(k)))}});
  }
  counter(CounterId::kMetadataCacheMisses, "alluxio_fuse_metadata_cache_misses_total",
          "Metadata lookups that went to a worker or the UFS.");
  gauge(GaugeId::kMetadataCacheEntries, "alluxio_fuse_metadata_cache_entries",
        "Entries held in the metadata cache.");

  // Routing and membership.
  auto& fallback = BuildCounter()
                       .Name("alluxio_fuse_ufs_fallback_total")
                       .Help("Operations served by the UFS instead of a worker, by reason.")
                       .Register(reg);
  for (size_t r = 0; r < kFallbackReasonCount; ++r) {
    ufs_fallback_[r] = &fallback.Add({{"reason", str(to_string(static_cast<FallbackReason>(r)))}});
  }
  counter(CounterId::kRouterFailovers, "alluxio_fuse_router_failovers_total",
          "Moves to the next candidate worker.");
  gauge(GaugeId::kMembershipWorkers, "alluxio_fuse_membership_workers",
        "Workers on the ring (1 in server mode).");
  gauge(GaugeId::kMembershipSuspectWorkers, "alluxio_fuse_membership_suspect_workers",
        "Workers in failure backoff.");
  auto& refresh = BuildCounter()
                      .Name("alluxio_fuse_membership_refresh_total")
                      .Help("Membership refreshes from etcd, by result.")
                      .Register(reg);
  for (size_t r = 0; r < kRefreshResultCount; ++r) {
    membership_refresh_[r] =
        &refresh.Add({{"result", str(to_string(static_cast<RefreshResult>(r)))}});
  }

  // Writes.
  auto& commits = BuildCounter()
                      .Name("alluxio_fuse_write_commits_total")
                      .Help("Commits of staged files (flush, fsync, release), by result.")
                      .Register(reg);
  for (size_t r = 0; r < kCommitResultCount; ++r) {
    write_commits_[r] = &commits.Add({{"result", str(to_string(static_cast<CommitResult>(r)))}});
  }
  counter(CounterId::kWriteCommitBytes, "alluxio_fuse_write_commit_bytes_total",
          "Bytes uploaded by successful commits.");
  gauge(GaugeId::kWriteStagingBytes, "alluxio_fuse_write_staging_bytes",
        "Bytes in the write staging directory.");
  counter(CounterId::kBadEntries, "alluxio_fuse_bad_entries_total",
          "Listing entries rejected by name or schema validation.");

  BuildGauge()
      .Name("alluxio_fuse_build_info")
      .Help("Build identification; always 1.")
      .Register(reg)
      .Add({{"version", build_info_.version}, {"revision", build_info_.revision}})
      .Set(1);

  // Standard process series.
  process_resident_ = &BuildGauge()
                           .Name("process_resident_memory_bytes")
                           .Help("Resident memory size in bytes.")
                           .Register(reg)
                           .Add({});
  process_virtual_ = &BuildGauge()
                          .Name("process_virtual_memory_bytes")
                          .Help("Virtual memory size in bytes.")
                          .Register(reg)
                          .Add({});
  process_open_fds_ = &BuildGauge()
                           .Name("process_open_fds")
                           .Help("Number of open file descriptors.")
                           .Register(reg)
                           .Add({});
  process_cpu_ = &BuildCounter()
                      .Name("process_cpu_seconds_total")
                      .Help("Total user and system CPU time spent in seconds.")
                      .Register(reg)
                      .Add({});
  process_start_time_ = &BuildGauge()
                             .Name("process_start_time_seconds")
                             .Help("Start time of the process since unix epoch in seconds.")
                             .Register(reg)
                             .Add({});
  boot_time_seconds_ = read_boot_time_seconds();
}

void Metrics::observe_http(HttpMethod method, http::State state, double latency_ms) {
  auto m = static_cast<size_t>(method);
  auto s = static_cast<size_t>(state);
  if (m >= kHttpMethodCount || s >= kHttpStateCount) return;  // only reachable via casts
  http_latency_[m][is_success(state) ? 1 : 0]->Observe(latency_ms);
  http_result_[m][s]->Increment();
}

void Metrics::observe(std::string_view method, http::State state, double latency_ms) {
  auto m = http_method_from_name(method);
  if (!m) {
    if (!warned_unknown_method_.exchange(true)) {
      // The name is a programmer-chosen constant, never request data, so it is safe to log.
      spdlog::warn(
          "metrics: HTTP call with metric method '{}' outside the closed set; not "
          "recorded (further ones are dropped silently)",
          method.substr(0, 64));
    }
    return;
  }
  observe_http(*m, state, latency_ms);
}

void Metrics::op_started(Op op) {
  auto o = static_cast<size_t>(op);
  op_in_flight_[o < kOpCount ? o : static_cast<size_t>(Op::kOther)]->Increment();
}

void Metrics::op_finished(Op op, double seconds, int error) {
  auto o = static_cast<size_t>(op);
  if (o >= kOpCount) o = static_cast<size_t>(Op::kOther);
  op_in_flight_[o]->Decrement();
  op_duration_[o]->Observe(seconds);
  if (error != 0) op_errors_[o][static_cast<size_t>(errno_label(error))]->Increment();
}

void Metrics::read_bytes(Source source, uint64_t n) {
  auto s = static_cast<size_t>(source);
  if (s < kSourceCount) read_bytes_[s]->Increment(static_cast<double>(n));
}

void Metrics::set_read_bytes_total(Source source, uint64_t total) {
  auto s = static_cast<size_t>(source);
  if (s < kSourceCount) advance_counter(read_bytes_[s], static_cast<double>(total));
}

void Metrics::fetch_bytes(Source source, uint64_t n) {
  auto s = static_cast<size_t>(source);
  if (s < kSourceCount && fetch_bytes_[s] != nullptr) {
    fetch_bytes_[s]->Increment(static_cast<double>(n));
  }
}

void Metrics::set_fetch_bytes_total(Source source, uint64_t total) {
  auto s = static_cast<size_t>(source);
  if (s < kSourceCount) advance_counter(fetch_bytes_[s], static_cast<double>(total));
}

void Metrics::metadata_cache_hit(MetadataHit kind) {
  auto k = static_cast<size_t>(kind);
  if (k < kMetadataHitCount) metadata_hits_[k]->Increment();
}

void Metrics::set_metadata_cache_hits_total(MetadataHit kind, uint64_t total) {
  auto k = static_cast<size_t>(kind);
  if (k < kMetadataHitCount) advance_counter(metadata_hits_[k], static_cast<double>(total));
}

void Metrics::ufs_fallback(FallbackReason reason) {
  auto r = static_cast<size_t>(reason);
  if (r < kFallbackReasonCount) ufs_fallback_[r]->Increment();
}

void Metrics::set_ufs_fallback_total(FallbackReason reason, uint64_t total) {
  auto r = static_cast<size_t>(reason);
  if (r < kFallbackReasonCount) advance_counter(ufs_fallback_[r], static_cast<double>(total));
}

void Metrics::set_write_commits_total(CommitResult result, uint64_t total) {
  auto r = static_cast<size_t>(result);
  if (r < kCommitResultCount) advance_counter(write_commits_[r], static_cast<double>(total));
}

void Metrics::membership_refresh(RefreshResult result) {
  auto r = static_cast<size_t>(result);
  if (r < kRefreshResultCount) membership_refresh_[r]->Increment();
}

void Metrics::set_membership_refresh_total(RefreshResult result, uint64_t total) {
  auto r = static_cast<size_t>(result);
  if (r < kRefreshResultCount) {
    advance_counter(membership_refresh_[r], static_cast<double>(total));
  }
}

void Metrics::write_commit(CommitResult result, uint64_t bytes) {
  auto r = static_cast<size_t>(result);
  if (r >= kCommitResultCount) return;
  write_commits_[r]->Increment();
  if (result == CommitResult::kOk) add(CounterId::kWriteCommitBytes, static_cast<double>(bytes));
}

void Metrics::add(CounterId id, double n) {
  auto i = static_cast<size_t>(id);
  // Negative or NaN increments would throw inside prometheus-cpp; counters never go down.
  if (i < counters_.size() && n > 0) counters_[i]->Increment(n);
}

void Metrics::set_total(CounterId id, double total) {
  auto i = static_cast<size_t>(id);
  if (i < counters_.size()) advance_counter(counters_[i], total);
}

void Metrics::set(GaugeId id, double value) {
  auto i = static_cast<size_t>(id);
  if (i < gauges_.size()) gauges_[i]->Set(value);
}

void Metrics::gauge_add(GaugeId id, double delta) {
  auto i = static_cast<size_t>(id);
  if (i < gauges_.size()) gauges_[i]->Increment(delta);
}

void Metrics::advance_counter(prometheus::Counter* counter, double total) {
  if (counter == nullptr) return;
  double delta = total - counter->Value();
  if (delta > 0) counter->Increment(delta);
}

Metrics::HookId Metrics::add_collect_hook(CollectHook hook) {
  std::lock_guard<std::mutex> lock(scrape_mutex_);
  HookId id = next_hook_id_++;
  hooks_.emplace_back(id, std::move(hook));
  return id;
}

void Metrics::remove_collect_hook(HookId id) {
  std::lock_guard<std::mutex> lock(scrape_mutex_);
  std::erase_if(hooks_, [id](const auto& entry) { return entry.first == id; });
}

void Metrics::update_process_metrics() {
  ProcessStats stats = read_process_stats(boot_time_seconds_);
  if (stats.resident_bytes >= 0) process_resident_->Set(stats.resident_bytes);
  if (stats.virtual_bytes >= 0) process_virtual_->Set(stats.virtual_bytes);
  if (stats.open_fds >= 0) process_open_fds_->Set(stats.open_fds);
  if (stats.cpu_seconds >= 0) advance_counter(process_cpu_, stats.cpu_seconds);
  if (stats.start_time_seconds >= 0) process_start_time_->Set(stats.start_time_seconds);
}

std::string Metrics::serialize() {
  std::lock_guard<std::mutex> lock(scrape_mutex_);
  for (auto& [id, hook] : hooks_) {
    try {
      hook();
    } catch (const std::exception& e) {
      spdlog::warn("metrics: collect hook {} failed: {}", id, e.what());
    } catch (...) {
      spdlog::warn("metrics: collect hook {} failed with a non-standard exception", id);
    }
  }
  update_process_metrics();
  try {
    return prometheus::TextSerializer().Serialize(registry_->Collect());
  } catch (const std::exception& e) {
    // Only an allocation failure can get here; an empty scrape is better than a crash.
    spdlog::error("metrics: serialisation failed: {}", e.what());
    return {};
  }
}

}  // namespace alluxio_fuse::metrics
