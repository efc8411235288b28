// Static checks of the monitoring files shipped in conf/ (metrics.md §4): prometheus.yml is the
// spec's text, and the Grafana dashboard is a valid model whose every `expr` is filtered by
// $instance and uses only series the registry actually exposes.

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "alluxio_fuse/metrics/metrics.h"

namespace alluxio_fuse::metrics {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Names a PromQL expression may select: every exposed family, plus _bucket/_sum/_count of the
// histograms.
std::set<std::string> exposed_series_names() {
  Metrics metrics{BuildInfo{"v", "r"}};
  std::istringstream in(metrics.serialize());
  std::set<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::istringstream l(line.substr(7));
    std::string name, type;
    l >> name >> type;
    names.insert(name);
    if (type == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(name + suffix);
    }
  }
  return names;
}

std::vector<std::string> dashboard_exprs(const nlohmann::json& dash) {
  std::vector<std::string> exprs;
  for (const auto& panel : dash.at("panels")) {
    for (const auto& target : panel.at("targets")) exprs.push_back(target.at("expr"));
  }
  return exprs;
}

nlohmann::json load_dashboard() {
  return nlohmann::json::parse(
      read_file(std::string(AF_SOURCE_DIR) + "/conf/grafana/alluxio-fuse-dashboard.json"));
}

TEST(MetricsConf, PrometheusYmlIsTheSpecText) {
  std::string spec = read_file(std::string(AF_SHARED_DIR) + "/spec/metrics.md");
  auto anchor = spec.find("**`conf/prometheus.yml`**");
  ASSERT_NE(anchor, std::string::npos);
  auto start = spec.find("```yaml\n", anchor);
  ASSERT_NE(start, std::string::npos);
  start += 8;
  auto end = spec.find("```", start);
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(read_file(std::string(AF_SOURCE_DIR) + "/conf/prometheus.yml"),
            spec.substr(start, end - start));
}

TEST(MetricsConf, DashboardModelHasTheRequiredFields) {
  auto dash = load_dashboard();
  EXPECT_GE(dash.at("schemaVersion").get<int>(), 36);
  EXPECT_EQ(dash.at("uid"), "alluxio-fuse");
  EXPECT_EQ(dash.at("title"), "alluxio-fuse");
  bool has_input = false;
  for (const auto& input : dash.at("__inputs")) {
    if (input.at("name") == "DS_PROMETHEUS" && input.at("pluginId") == "prometheus") {
      has_input = true;
    }
  }
  EXPECT_TRUE(has_input);
  const nlohmann::json* instance = nullptr;
  for (const auto& var : dash.at("templating").at("list")) {
    if (var.at("name") == "instance") instance = &var;
  }
  ASSERT_NE(instance, nullptr);
  EXPECT_EQ(instance->at("query").at("query"), "label_values(alluxio_fuse_build_info, instance)");
  EXPECT_EQ(instance->at("datasource").at("uid"), "${DS_PROMETHEUS}");

  ASSERT_EQ(dash.at("panels").size(), 9u);
  std::set<int> ids;
  for (const auto& panel : dash.at("panels")) {
    ids.insert(panel.at("id").get<int>());
    EXPECT_FALSE(panel.at("title").get<std::string>().empty());
    EXPECT_EQ(panel.at("datasource").at("uid"), "${DS_PROMETHEUS}") << panel.at("title");
    EXPECT_FALSE(panel.at("targets").empty()) << panel.at("title");
    for (const auto& target : panel.at("targets")) {
      EXPECT_EQ(target.at("datasource").at("uid"), "${DS_PROMETHEUS}");
    }
  }
  EXPECT_EQ(ids.size(), 9u);
}

// A metric-like identifier in a PromQL expression with the selector that follows it.
struct NameUse {
  std::string name;
  bool is_selector = false;  // followed by '{' or '['
  std::string matchers;      // text between '{' and '}', when present
};

// A tiny PromQL scanner (std::regex trips GCC 12 false warnings in sanitizer builds): skips
// string literals, numbers and range durations, and reports each identifier with what follows.
std::vector<NameUse> scan_identifiers(const std::string& expr) {
  std::vector<NameUse> out;
  auto ident_start = [](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
  };
  auto ident_char = [&](char c) {
    return ident_start(c) || std::isdigit(static_cast<unsigned char>(c));
  };
  size_t i = 0;
  while (i < expr.size()) {
    char c = expr[i];
    if (c == '"') {
      i = expr.find('"', i + 1);
      i = i == std::string::npos ? expr.size() : i + 1;
    } else if (c == '{') {
      // Label matchers belong to the preceding name (or to a bare selector): skip them.
      auto close = expr.find('}', i);
      i = close == std::string::npos ? expr.size() : close + 1;
    } else if (c == '[') {
      auto close = expr.find(']', i);
      i = close == std::string::npos ? expr.size() : close + 1;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      while (i < expr.size() &&
             (ident_char(expr[i]) || expr[i] == '.' ||
              ((expr[i] == '-' || expr[i] == '+') && (expr[i - 1] == 'e' || expr[i - 1] == 'E')))) {
        ++i;
      }
    } else if (ident_start(c)) {
      size_t b = i;
      while (i < expr.size() && ident_char(expr[i])) ++i;
      NameUse use;
      use.name = expr.substr(b, i - b);
      size_t j = i;
      while (j < expr.size() && expr[j] == ' ') ++j;
      if (j < expr.size() && (expr[j] == '{' || expr[j] == '[')) use.is_selector = true;
      if (j < expr.size() && expr[j] == '{') {
        auto close = expr.find('}', j);
        if (close != std::string::npos) use.matchers = expr.substr(j + 1, close - j - 1);
      }
      out.push_back(use);
    } else {
      ++i;
    }
  }
  return out;
}

TEST(MetricsConf, EveryDashboardExprUsesExposedSeriesFilteredByInstance) {
  auto exposed = exposed_series_names();
  auto exprs = dashboard_exprs(load_dashboard());
  ASSERT_FALSE(exprs.empty());
  std::set<std::string> used;
  for (const auto& expr : exprs) {
    // The integration test substitutes only $instance; Grafana-only variables would break it.
    EXPECT_EQ(expr.find("$__"), std::string::npos) << expr;
    for (const auto& use : scan_identifiers(expr)) {
      bool metric_like = use.name.find("uxio_") != std::string::npos ||
                         use.name.rfind("process_", 0) == 0 || use.is_selector;
      if (!metric_like) continue;  // functions, aggregation labels, keywords
      EXPECT_TRUE(exposed.count(use.name)) << "unknown series " << use.name << " in " << expr;
      used.insert(use.name);
      EXPECT_NE(use.matchers.find("instance=~\"$instance\""), std::string::npos)
          << use.name << " not filtered by instance in " << expr;
    }
  }
  // The panels of metrics.md §4 between them use these series.
  for (const char* required : {"alluxio_http_server_result_total",
                               "alluxio_http_server_call_latency_ms_bucket",
                               "alluxio_http_server_call_latency_ms_count",
                               "alluxio_fuse_op_duration_seconds_bucket",
                               "alluxio_fuse_op_in_flight",
                               "alluxio_fuse_op_errors_total",
                               "alluxio_fuse_page_cache_hits_total",
                               "alluxio_fuse_page_cache_misses_total",
                               "alluxio_fuse_page_cache_size_bytes",
                               "alluxio_fuse_page_cache_capacity_bytes",
                               "alluxio_fuse_page_cache_evictions_total",
                               "alluxio_fuse_page_cache_corrupt_pages_total",
                               "alluxio_fuse_read_bytes_total",
                               "alluxio_fuse_readahead_bytes_total",
                               "alluxio_fuse_readahead_unused_bytes_total",
                               "alluxio_fuse_ufs_fallback_total",
                               "alluxio_fuse_router_failovers_total",
                               "alluxio_fuse_membership_workers",
                               "alluxio_fuse_membership_suspect_workers",
                               "alluxio_fuse_membership_refresh_total",
                               "alluxio_fuse_write_commits_total",
                               "alluxio_fuse_write_staging_bytes",
                               "process_resident_memory_bytes"}) {
    EXPECT_TRUE(used.count(required)) << required << " is on no panel";
  }
}

TEST(MetricsConf, DashboardQueriesMatchTheSpecShapes) {
  auto exprs = dashboard_exprs(load_dashboard());
  auto any_contains = [&](const std::string& needle) {
    for (const auto& e : exprs) {
      if (e.find(needle) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(any_contains("sum by (method) (rate(alluxio_http_server_result_total{"));
  for (const char* q : {"histogram_quantile(0.5, sum by (le, method)",
                        "histogram_quantile(0.95, sum by (le, method)",
                        "histogram_quantile(0.99, sum by (le, method)"}) {
    EXPECT_TRUE(any_contains(q)) << q;
  }
  EXPECT_TRUE(any_contains("sum by (state) (rate(alluxio_http_server_result_total{"));
  EXPECT_TRUE(any_contains("alluxio_http_server_call_latency_ms_count{success=\"false\","));
  EXPECT_TRUE(any_contains("histogram_quantile(0.99, sum by (le, op)"));
  // FUSE errors exclude lookup/ENOENT (shown apart).
  EXPECT_TRUE(any_contains("op!=\"lookup\""));
  EXPECT_TRUE(any_contains("op=\"lookup\",errno!=\"ENOENT\""));
}

}  // namespace
}  // namespace alluxio_fuse::metrics
