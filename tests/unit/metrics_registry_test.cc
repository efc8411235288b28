// Unit tests of metrics::Metrics: the exposition a scraper sees (metrics.md §1, §2) — exact
// family names and types, buckets, pre-created closed-set series, recorded counts, collect
// hooks — parsed from serialize() rather than read from prometheus-cpp internals.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "alluxio_fuse/metrics/labels.h"
#include "alluxio_fuse/metrics/metrics.h"

namespace alluxio_fuse::metrics {
namespace {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family name -> counter/gauge/histogram
  std::vector<Sample> samples;
  std::vector<std::string> errors;  // lines that did not parse

  // Samples named `name` whose labels include every pair of `match`.
  std::vector<Sample> find(const std::string& name,
                           const std::map<std::string, std::string>& match = {}) const {
    std::vector<Sample> out;
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool ok = true;
      for (const auto& [k, v] : match) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) ok = false;
      }
      if (ok) out.push_back(s);
    }
    return out;
  }
  // The single sample's value, or -1 when there is not exactly one.
  double value(const std::string& name,
               const std::map<std::string, std::string>& match = {}) const {
    auto found = find(name, match);
    return found.size() == 1 ? found[0].value : -1;
  }
};

inline Exposition parse_exposition(const std::string& text) {
  Exposition e;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream l(line.substr(7));
      std::string name, type;
      l >> name >> type;
      e.types[name] = type;
      continue;
    }
    if (line[0] == '#') continue;
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name += line[i++];
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::string key, value;
        while (i < line.size() && line[i] != '=') key += line[i++];
        if (i + 1 >= line.size() || line[i + 1] != '"') break;
        i += 2;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) ++i;
          value += line[i++];
        }
        ++i;  // closing quote
        s.labels[key] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) {
        e.errors.push_back(line);
        continue;
      }
      ++i;  // '}'
    }
    try {
      std::string v = line.substr(i);
      s.value = v == " +Inf" ? 1e308 : std::stod(v);
      e.samples.push_back(s);
    } catch (...) {
      e.errors.push_back(line);
    }
  }
  return e;
}

using http::State;

const std::vector<std::string> kMethods = {
    "info",    "list",     "get_page",   "post_page",  "range",        "chunk_read", "chunk_write",
    "head",    "tail",     "mkdir",      "touch",      "rm",           "mv",         "copy",
    "load",    "node",     "ufs_info",   "etcd_range", "etcd_auth",    "ufs_head",   "ufs_get",
    "ufs_put", "ufs_list", "ufs_delete", "ufs_copy",   "ufs_multipart"};
const std::vector<std::string> kStates = {"ok",       "not_found", "timeout",  "refused",
                                          "http_4xx", "http_5xx",  "no_reply", "bad_response"};
const std::vector<std::string> kOps = {
    "lookup",     "forget",    "getattr",  "setattr",     "readdir", "readdirplus", "opendir",
    "releasedir", "open",      "create",   "read",        "write",   "flush",       "release",
    "fsync",      "fsyncdir",  "mkdir",    "rmdir",       "unlink",  "rename",      "statfs",
    "getxattr",   "listxattr", "setxattr", "removexattr", "symlink", "link",        "readlink",
    "mknod",      "fallocate", "other"};
const std::vector<std::string> kErrnos = {
    "ENOENT", "EEXIST",       "ENOTEMPTY", "ENOTDIR", "EISDIR", "EACCES", "EPERM",
    "EINVAL", "ENAMETOOLONG", "ENOTSUP",   "EROFS",   "ENOSPC", "EFBIG",  "EIO",
    "EBADF",  "ESTALE",       "EINTR",     "ENODATA", "ERANGE", "ENOSYS", "OTHER"};

// Every family of metrics.md §1/§2 plus the process series, with its type.
const std::map<std::string, std::string> kFamilies = {
    {"alluxio_http_server_call_latency_ms", "histogram"},
    {"alluxio_http_server_result_total", "counter"},
    {"alluxio_fuse_op_duration_seconds", "histogram"},
    {"alluxio_fuse_op_errors_total", "counter"},
    {"alluxio_fuse_op_in_flight", "gauge"},
    {"alluxio_fuse_page_cache_hits_total", "counter"},
    {"alluxio_fuse_page_cache_misses_total", "counter"},
    {"alluxio_fuse_page_cache_evictions_total", "counter"},
    {"alluxio_fuse_page_cache_corrupt_pages_total", "counter"},
    {"alluxio_fuse_page_cache_size_bytes", "gauge"},
    {"alluxio_fuse_page_cache_capacity_bytes", "gauge"},
    {"alluxio_fuse_page_cache_pages", "gauge"},
    {"alluxio_fuse_page_cache_enabled", "gauge"},
    {"alluxio_fuse_read_bytes_total", "counter"},
    {"alluxio_fuse_fetch_bytes_total", "counter"},
    {"alluxio_fuse_readahead_bytes_total", "counter"},
    {"alluxio_fuse_readahead_unused_bytes_total", "counter"},
    {"alluxio_fuse_metadata_cache_hits_total", "counter"},
    {"alluxio_fuse_metadata_cache_misses_total", "counter"},
    {"alluxio_fuse_metadata_cache_entries", "gauge"},
    {"alluxio_fuse_ufs_fallback_total", "counter"},
    {"alluxio_fuse_router_failovers_total", "counter"},
    {"alluxio_fuse_membership_workers", "gauge"},
    {"alluxio_fuse_membership_suspect_workers", "gauge"},
    {"alluxio_fuse_membership_refresh_total", "counter"},
    {"alluxio_fuse_write_commits_total", "counter"},
    {"alluxio_fuse_write_commit_bytes_total", "counter"},
    {"alluxio_fuse_write_staging_bytes", "gauge"},
    {"alluxio_fuse_bad_entries_total", "counter"},
    {"alluxio_fuse_build_info", "gauge"},
    {"process_resident_memory_bytes", "gauge"},
    {"process_virtual_memory_bytes", "gauge"},
    {"process_open_fds", "gauge"},
    {"process_cpu_seconds_total", "counter"},
    {"process_start_time_seconds", "gauge"},
};

std::set<std::string> label_values(const Exposition& e, const std::string& prefix,
                                   const std::string& label) {
  std::set<std::string> out;
  for (const auto& s : e.samples) {
    if (s.name.rfind(prefix, 0) != 0) continue;
    auto it = s.labels.find(label);
    if (it != s.labels.end()) out.insert(it->second);
  }
  return out;
}

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

class MetricsTest : public ::testing::Test {
 protected:
  Exposition scrape() {
    auto e = parse_exposition(m_.serialize());
    EXPECT_TRUE(e.errors.empty()) << e.errors.front();
    return e;
  }
  Metrics m_{BuildInfo{"1.2.3", "abc123"}};
};

TEST_F(MetricsTest, ExposesExactlyTheSpecFamiliesWithTheirTypes) {
  auto e = scrape();
  EXPECT_EQ(e.types, kFamilies);
  // No series outside the declared families (histograms add _bucket/_sum/_count).
  for (const auto& s : e.samples) {
    std::string family = s.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string base = s.name.substr(0, s.name.size() - std::string(suffix).size());
      if (s.name.size() > std::string(suffix).size() && s.name.ends_with(suffix) &&
          e.types.count(base) && e.types[base] == "histogram") {
        family = base;
      }
    }
    EXPECT_TRUE(kFamilies.count(family)) << s.name;
  }
}

TEST_F(MetricsTest, HttpLatencyHistogramHasSpecBucketsAndLabels) {
  auto e = scrape();
  auto buckets = e.find("alluxio_http_server_call_latency_ms_bucket",
                        {{"method", "get_page"}, {"success", "true"}});
  std::vector<std::string> les;
  for (const auto& b : buckets) {
    les.push_back(b.labels.at("le"));
    EXPECT_EQ(b.labels.size(), 3u);  // method, success, le
  }
  EXPECT_EQ(les, (std::vector<std::string>{"10", "40", "160", "640", "+Inf"}));
  auto counts = e.find("alluxio_http_server_call_latency_ms_count");
  EXPECT_EQ(counts.size(), kMethods.size() * 2);
  for (const auto& c : counts) {
    EXPECT_EQ(c.labels.size(), 2u);
    EXPECT_EQ(c.value, 0);
  }
  EXPECT_EQ(label_values(e, "alluxio_http_server_call_latency_ms", "success"),
            (std::set<std::string>{"true", "false"}));
}

TEST_F(MetricsTest, OpDurationHistogramHasSpecBuckets) {
  auto e = scrape();
  std::vector<std::string> les;
  for (const auto& b : e.find("alluxio_fuse_op_duration_seconds_bucket", {{"op", "read"}})) {
    les.push_back(b.labels.at("le"));
  }
  EXPECT_EQ(les, (std::vector<std::string>{"0.0001", "0.00025", "0.0005", "0.001", "0.0025",
                                           "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                                           "1", "2.5", "5", "10", "30", "60", "+Inf"}));
}

TEST_F(MetricsTest, EveryClosedSetCombinationExistsFromTheFirstScrape) {
  auto e = scrape();
  auto results = e.find("alluxio_http_server_result_total");
  EXPECT_EQ(results.size(), kMethods.size() * kStates.size());
  for (const auto& r : results) EXPECT_EQ(r.value, 0);
  EXPECT_EQ(label_values(e, "alluxio_http_server_", "method"), as_set(kMethods));
  EXPECT_EQ(label_values(e, "alluxio_http_server_result_total", "state"), as_set(kStates));

  EXPECT_EQ(e.find("alluxio_fuse_op_errors_total").size(), kOps.size() * kErrnos.size());
  EXPECT_EQ(e.find("alluxio_fuse_op_in_flight").size(), kOps.size());
  EXPECT_EQ(e.find("alluxio_fuse_op_duration_seconds_count").size(), kOps.size());
  EXPECT_EQ(label_values(e, "alluxio_fuse_op_", "op"), as_set(kOps));
  EXPECT_EQ(label_values(e, "alluxio_fuse_op_errors_total", "errno"), as_set(kErrnos));

  EXPECT_EQ(label_values(e, "alluxio_fuse_read_bytes_total", "source"),
            (std::set<std::string>{"cache", "worker", "ufs"}));
  EXPECT_EQ(label_values(e, "alluxio_fuse_fetch_bytes_total", "source"),
            (std::set<std::string>{"worker", "ufs"}));
  EXPECT_EQ(label_values(e, "alluxio_fuse_metadata_cache_hits_total", "kind"),
            (std::set<std::string>{"positive", "negative"}));
  EXPECT_EQ(
      label_values(e, "alluxio_fuse_ufs_fallback_total", "reason"),
      (std::set<std::string>{"unavailable", "timeout", "miss", "server_error", "unsupported"}));
  EXPECT_EQ(label_values(e, "alluxio_fuse_membership_refresh_total", "result"),
            (std::set<std::string>{"changed", "unchanged", "error"}));
  EXPECT_EQ(label_values(e, "alluxio_fuse_write_commits_total", "result"),
            (std::set<std::string>{"ok", "error"}));
  for (const char* name :
       {"alluxio_fuse_page_cache_hits_total", "alluxio_fuse_router_failovers_total",
        "alluxio_fuse_bad_entries_total", "alluxio_fuse_write_staging_bytes"}) {
    EXPECT_EQ(e.value(name), 0) << name;
  }
}

TEST_F(MetricsTest, HttpObservationsLandInTheRightSeries) {
  m_.observe_http(HttpMethod::kGetPage, State::kOk, 5);
  m_.observe("get_page", State::kNotFound, 50);  // absence is an answer: success="true"
  m_.observe("get_page", State::kTimeout, 700);
  m_.observe("ufs_multipart", State::kHttp5xx, 12.5);
  auto e = scrape();
  const std::string b = "alluxio_http_server_call_latency_ms_bucket";
  EXPECT_EQ(e.value(b, {{"method", "get_page"}, {"success", "true"}, {"le", "10"}}), 1);
  EXPECT_EQ(e.value(b, {{"method", "get_page"}, {"success", "true"}, {"le", "40"}}), 1);
  EXPECT_EQ(e.value(b, {{"method", "get_page"}, {"success", "true"}, {"le", "160"}}), 2);
  EXPECT_EQ(e.value(b, {{"method", "get_page"}, {"success", "false"}, {"le", "640"}}), 0);
  EXPECT_EQ(e.value(b, {{"method", "get_page"}, {"success", "false"}, {"le", "+Inf"}}), 1);
  EXPECT_EQ(e.value("alluxio_http_server_call_latency_ms_count",
                    {{"method", "get_page"}, {"success", "true"}}),
            2);
  EXPECT_DOUBLE_EQ(e.value("alluxio_http_server_call_latency_ms_sum",
                           {{"method", "get_page"}, {"success", "true"}}),
                   55);
  const std::string r = "alluxio_http_server_result_total";
  EXPECT_EQ(e.value(r, {{"method", "get_page"}, {"state", "ok"}}), 1);
  EXPECT_EQ(e.value(r, {{"method", "get_page"}, {"state", "not_found"}}), 1);
  EXPECT_EQ(e.value(r, {{"method", "get_page"}, {"state", "timeout"}}), 1);
  EXPECT_EQ(e.value(r, {{"method", "ufs_multipart"}, {"state", "http_5xx"}}), 1);
  EXPECT_EQ(e.value("alluxio_http_server_call_latency_ms_count",
                    {{"method", "ufs_multipart"}, {"success", "false"}}),
            1);
  double total = 0;
  for (const auto& s : e.find(r)) total += s.value;
  EXPECT_EQ(total, 4);
}

TEST_F(MetricsTest, UnknownHttpMethodCreatesNoSeries) {
  auto before = scrape();
  m_.observe("other", State::kOk, 1);  // http::Request's default label
  m_.observe("/v1/file/secret-path", State::kOk, 1);
  m_.observe("", State::kTimeout, 1);
  auto after = scrape();
  EXPECT_EQ(after.find("alluxio_http_server_result_total").size(),
            before.find("alluxio_http_server_result_total").size());
  EXPECT_EQ(label_values(after, "alluxio_http_server_", "method"), as_set(kMethods));
  for (const auto& s : after.find("alluxio_http_server_result_total")) EXPECT_EQ(s.value, 0);
  for (const auto& s : after.find("alluxio_http_server_call_latency_ms_count")) {
    EXPECT_EQ(s.value, 0);
  }
}

TEST_F(MetricsTest, OpsCountDurationsInFlightAndErrnoNames) {
  m_.op_started(Op::kRead);
  m_.op_started(Op::kRead);
  m_.op_started(Op::kLookup);
  EXPECT_EQ(scrape().value("alluxio_fuse_op_in_flight", {{"op", "read"}}), 2);
  m_.op_finished(Op::kRead, 0.003, 0);
  m_.op_finished(Op::kRead, 0.5, -EIO);  // libfuse-style negative errno
  m_.op_finished(Op::kLookup, 0.0001, ENOENT);
  m_.op_started(op_from_name("not-an-op"));
  m_.op_finished(op_from_name("not-an-op"), 0.01, 12345);  // errno outside the set
  m_.op_started(Op::kSetxattr);
  m_.op_finished(Op::kSetxattr, 0.01, EOPNOTSUPP);
  auto e = scrape();
  EXPECT_EQ(e.value("alluxio_fuse_op_in_flight", {{"op", "read"}}), 0);
  EXPECT_EQ(e.value("alluxio_fuse_op_duration_seconds_count", {{"op", "read"}}), 2);
  EXPECT_DOUBLE_EQ(e.value("alluxio_fuse_op_duration_seconds_sum", {{"op", "read"}}), 0.503);
  EXPECT_EQ(e.value("alluxio_fuse_op_duration_seconds_bucket", {{"op", "read"}, {"le", "0.0025"}}),
            0);
  EXPECT_EQ(e.value("alluxio_fuse_op_duration_seconds_bucket", {{"op", "read"}, {"le", "0.005"}}),
            1);
  EXPECT_EQ(e.value("alluxio_fuse_op_errors_total", {{"op", "read"}, {"errno", "EIO"}}), 1);
  EXPECT_EQ(e.value("alluxio_fuse_op_errors_total", {{"op", "lookup"}, {"errno", "ENOENT"}}), 1);
  EXPECT_EQ(e.value("alluxio_fuse_op_errors_total", {{"op", "other"}, {"errno", "OTHER"}}), 1);
  EXPECT_EQ(e.value("alluxio_fuse_op_errors_total", {{"op", "setxattr"}, {"errno", "ENOTSUP"}}), 1);
  double errors = 0;
  for (const auto& s : e.find("alluxio_fuse_op_errors_total")) errors += s.value;
  EXPECT_EQ(errors, 4);
  EXPECT_EQ(label_values(e, "alluxio_fuse_op_", "op"), as_set(kOps));
  EXPECT_EQ(label_values(e, "alluxio_fuse_op_errors_total", "errno"), as_set(kErrnos));
}

TEST(MetricsLabels, NamesRoundTripAndMapFallbackCodes) {
  for (size_t i = 0; i < kHttpMethodCount; ++i) {
    auto m = static_cast<HttpMethod>(i);
    EXPECT_EQ(http_method_from_name(to_string(m)), m);
    EXPECT_EQ(to_string(m), kMethods[i]);
  }
  EXPECT_FALSE(http_method_from_name("other").has_value());
  for (size_t i = 0; i < kOpCount; ++i) EXPECT_EQ(op_from_name(kOps[i]), static_cast<Op>(i));
  EXPECT_EQ(errno_label(0), ErrnoLabel::kOTHER);
  EXPECT_EQ(to_string(errno_label(ENAMETOOLONG)), "ENAMETOOLONG");
  EXPECT_EQ(fallback_reason(common::Code::kMiss), FallbackReason::kMiss);
  EXPECT_EQ(fallback_reason(common::Code::kServerError), FallbackReason::kServerError);
  EXPECT_FALSE(fallback_reason(common::Code::kNotFound).has_value());
  EXPECT_FALSE(fallback_reason(common::Code::kPermission).has_value());
  EXPECT_TRUE(is_success(State::kNotFound));
  EXPECT_FALSE(is_success(State::kHttp4xx));
}

TEST_F(MetricsTest, CountersGaugesAndLabelledAccessors) {
  m_.read_bytes(Source::kCache, 4096);
  m_.read_bytes(Source::kWorker, 100);
  m_.fetch_bytes(Source::kUfs, 7);
  m_.fetch_bytes(Source::kCache, 9);  // not a fetch source: ignored
  m_.metadata_cache_hit(MetadataHit::kNegative);
  m_.ufs_fallback(FallbackReason::kTimeout);
  m_.router_failover();
  m_.router_failover();
  m_.membership_refresh(RefreshResult::kError);
  m_.write_commit(CommitResult::kOk, 1000);
  m_.write_commit(CommitResult::kError, 555);  // failed commits upload nothing
  m_.add(CounterId::kBadEntries, 3);
  m_.add(CounterId::kBadEntries, -1);  // counters never go down
  m_.set(GaugeId::kPageCacheEnabled, 1);
  m_.gauge_add(GaugeId::kWriteStagingBytes, 10);
  m_.gauge_add(GaugeId::kWriteStagingBytes, -4);
  auto e = scrape();
  EXPECT_EQ(e.value("alluxio_fuse_read_bytes_total", {{"source", "cache"}}), 4096);
  EXPECT_EQ(e.value("alluxio_fuse_read_bytes_total", {{"source", "worker"}}), 100);
  EXPECT_EQ(e.value("alluxio_fuse_fetch_bytes_total", {{"source", "ufs"}}), 7);
  EXPECT_EQ(e.find("alluxio_fuse_fetch_bytes_total").size(), 2u);
  EXPECT_EQ(e.value("alluxio_fuse_metadata_cache_hits_total", {{"kind", "negative"}}), 1);
  EXPECT_EQ(e.value("alluxio_fuse_ufs_fallback_total", {{"reason", "timeout"}}), 1);
  EXPECT_EQ(e.value("alluxio_fuse_router_failovers_total"), 2);
  EXPECT_EQ(e.value("alluxio_fuse_membership_refresh_total", {{"result", "error"}}), 1);
  EXPECT_EQ(e.value("alluxio_fuse_write_commits_total", {{"result", "ok"}}), 1);
  EXPECT_EQ(e.value("alluxio_fuse_write_commits_total", {{"result", "error"}}), 1);
  EXPECT_EQ(e.value("alluxio_fuse_write_commit_bytes_total"), 1000);
  EXPECT_EQ(e.value("alluxio_fuse_bad_entries_total"), 3);
  EXPECT_EQ(e.value("alluxio_fuse_page_cache_enabled"), 1);
  EXPECT_EQ(e.value("alluxio_fuse_write_staging_bytes"), 6);
  EXPECT_EQ(e.value("alluxio_fuse_build_info", {{"version", "1.2.3"}, {"revision", "abc123"}}), 1);
}

TEST_F(MetricsTest, CollectHooksPublishTotalsBeforeEachScrape) {
  uint64_t hits = 0;  // stands in for a component's own atomic
  int runs = 0;
  auto id = m_.add_collect_hook([&] {
    ++runs;
    m_.set_total(CounterId::kPageCacheHits, static_cast<double>(hits));
    m_.set_read_bytes_total(Source::kCache, hits * 10);
    m_.set_metadata_cache_hits_total(MetadataHit::kPositive, hits);
    m_.set(GaugeId::kPageCachePages, static_cast<double>(hits + 1));
  });
  m_.add_collect_hook([] { throw std::runtime_error("a broken hook must not break scrapes"); });
  hits = 5;
  auto e = scrape();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(e.value("alluxio_fuse_page_cache_hits_total"), 5);
  EXPECT_EQ(e.value("alluxio_fuse_read_bytes_total", {{"source", "cache"}}), 50);
  EXPECT_EQ(e.value("alluxio_fuse_metadata_cache_hits_total", {{"kind", "positive"}}), 5);
  EXPECT_EQ(e.value("alluxio_fuse_page_cache_pages"), 6);
  hits = 3;  // a lower total never makes a counter go down
  EXPECT_EQ(scrape().value("alluxio_fuse_page_cache_hits_total"), 5);
  hits = 9;
  EXPECT_EQ(scrape().value("alluxio_fuse_page_cache_hits_total"), 9);
  m_.remove_collect_hook(id);
  hits = 20;
  EXPECT_EQ(scrape().value("alluxio_fuse_page_cache_hits_total"), 9);
  EXPECT_EQ(runs, 3);
}

TEST_F(MetricsTest, ProcessSeriesComeFromProc) {
  auto e = scrape();
  EXPECT_GT(e.value("process_resident_memory_bytes"), 0);
  EXPECT_GT(e.value("process_virtual_memory_bytes"), e.value("process_resident_memory_bytes"));
  EXPECT_GE(e.value("process_open_fds"), 3);
  EXPECT_GE(e.value("process_cpu_seconds_total"), 0);
  double start = e.value("process_start_time_seconds");
  double now = static_cast<double>(std::time(nullptr));
  EXPECT_GT(start, now - 24 * 3600);  // this test process started recently
  EXPECT_LE(start, now + 5);
}

TEST_F(MetricsTest, ConcurrentRecordingLosesNothing) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < kPerThread; ++i) {
        m_.op_started(Op::kGetattr);
        m_.observe("info", State::kOk, 1);
        m_.op_finished(Op::kGetattr, 0.001, 0);
      }
    });
  }
  std::thread scraper([this] {
    for (int i = 0; i < 20; ++i) (void)m_.serialize();  // scrapes run alongside recording
  });
  for (auto& t : threads) t.join();
  scraper.join();
  auto e = scrape();
  EXPECT_EQ(e.value("alluxio_http_server_result_total", {{"method", "info"}, {"state", "ok"}}),
            kThreads * kPerThread);
  EXPECT_EQ(e.value("alluxio_fuse_op_duration_seconds_count", {{"op", "getattr"}}),
            kThreads * kPerThread);
  EXPECT_EQ(e.value("alluxio_fuse_op_in_flight", {{"op", "getattr"}}), 0);
}

// promtool's linter: the only accepted findings are on the product document's fixed names
// (alluxio_http_server_call_latency_ms says "ms", which promlint flags as a non-base unit).
TEST_F(MetricsTest, PromtoolAcceptsTheExposition) {
  if (std::system("test -x /usr/bin/promtool") != 0) GTEST_SKIP() << "promtool not installed";
  m_.observe("get_page", State::kOk, 3);
  m_.op_started(Op::kRead);
  m_.op_finished(Op::kRead, 0.01, EIO);
  std::string base = ::testing::TempDir() + "/metrics_registry_test." + std::to_string(getpid());
  std::string in = base + ".prom";
  std::string out = base + ".out";
  {
    std::ofstream f(in);
    f << m_.serialize();
  }
  std::string cmd = "/usr/bin/promtool check metrics < " + in + " > " + out + " 2>&1";
  // Exit status is non-zero for lint findings too, so the verdict comes from the output.
  (void)std::system(cmd.c_str());
  std::ifstream f(out);
  std::string line;
  std::vector<std::string> findings;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    if (line.rfind("alluxio_http_server_call_latency_ms ", 0) == 0) continue;
    findings.push_back(line);
  }
  for (const auto& l : findings) ADD_FAILURE() << "promtool: " << l;
  std::remove(in.c_str());
  std::remove(out.c_str());
}

}  // namespace
}  // namespace alluxio_fuse::metrics
