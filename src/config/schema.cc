// Design: every scalar key is one table row (name, expected form, setter, printer) so that the
// loader, the `-o` parser and check-config cannot disagree about a key's type, range or
// default. Ranges follow config.md §2; where the spec gives only a type, the range is the one
// that keeps the consumer sane (for example timeouts must be positive) and the form says so.
#include <cctype>
#include <charconv>
#include <limits>
#include <utility>

#include "alluxio_fuse/config/units.h"
#include "fields.h"

namespace alluxio_fuse::config::internal {
namespace {

enum class DurationRule { kAny, kNonNegative, kPositive };

template <typename S>
Field<S> bool_field(std::string_view name, bool S::*m) {
  return {name, "true or false", [m](S& s, std::string_view t) { return parse_bool_text(t, s.*m); },
          [m](const S& s) { return std::string(s.*m ? "true" : "false"); }};
}

template <typename S, typename T>
Field<S> int_field(std::string_view name, T S::*m, int64_t min, int64_t max) {
  std::string form = max == std::numeric_limits<int64_t>::max()
                         ? "an integer >= " + std::to_string(min)
                         : "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  return {name, std::move(form),
          [m, min, max](S& s, std::string_view t) {
            int64_t v = 0;
            if (!parse_int_text(t, min, max, v)) return false;
            s.*m = static_cast<T>(v);
            return true;
          },
          [m](const S& s) { return std::to_string(s.*m); }};
}

template <typename S>
Field<S> size_field(std::string_view name, uint64_t S::*m, uint64_t min, uint64_t max = 0) {
  std::string form = "a size like \"10GiB\" or a number of bytes";
  if (max != 0) {
    form = "a size from " + format_size(min) + " to " + format_size(max) + " (like \"" +
           format_size(min) + "\")";
  } else if (min == 1) {
    form += ", greater than 0";
  } else if (min > 1) {
    form += ", at least " + format_size(min);
  }
  return {name, std::move(form),
          [m, min, max](S& s, std::string_view t) {
            auto r = parse_size(t);
            if (!r.ok() || *r < min || (max != 0 && *r > max)) return false;
            s.*m = *r;
            return true;
          },
          [m](const S& s) { return quote(format_size(s.*m)); }};
}

template <typename S>
Field<S> duration_field(std::string_view name, Duration S::*m, DurationRule rule) {
  std::string form = "a duration like \"30s\", \"500ms\", \"2m\" or a number of seconds";
  if (rule == DurationRule::kPositive) form += ", greater than 0";
  if (rule == DurationRule::kNonNegative) form += ", 0 or more";
  return {name, std::move(form),
          [m, rule](S& s, std::string_view t) {
            auto r = parse_duration(t);
            if (!r.ok()) return false;
            if (rule == DurationRule::kPositive && r->count() <= 0) return false;
            if (rule == DurationRule::kNonNegative && r->count() < 0) return false;
            s.*m = *r;
            return true;
          },
          [m](const S& s) { return quote(format_duration(s.*m)); }};
}

template <typename S>
Field<S> string_field(std::string_view name, std::string S::*m) {
  return {name, "a non-empty string",
          [m](S& s, std::string_view t) {
            if (t.empty()) return false;
            s.*m = std::string(t);
            return true;
          },
          [m](const S& s) { return quote(s.*m); }};
}

template <typename S>
Field<S> opt_string_field(std::string_view name, std::optional<std::string> S::*m, bool secret) {
  return {name, "a non-empty string",
          [m](S& s, std::string_view t) {
            if (t.empty()) return false;
            s.*m = std::string(t);
            return true;
          },
          [m, secret](const S& s) {
            if (!(s.*m)) return std::string("null");
            return secret ? quote("***") : quote(*(s.*m));
          }};
}

template <typename S, typename E>
Field<S> enum_field(std::string_view name, E S::*m,
                    std::vector<std::pair<std::string_view, E>> values) {
  std::string form = "one of";
  for (size_t i = 0; i < values.size(); ++i) {
    form += (i == 0 ? " " : ", ") + std::string(values[i].first);
  }
  return {name, std::move(form),
          [m, values](S& s, std::string_view t) {
            for (const auto& [text, value] : values) {
              if (t == text) {
                s.*m = value;
                return true;
              }
            }
            return false;
          },
          [m, values](const S& s) {
            for (const auto& [text, value] : values) {
              if (s.*m == value) return std::string(text);
            }
            return std::string("null");
          }};
}

template <typename S>
Field<S> opt_id_field(std::string_view name, std::optional<uint32_t> S::*m) {
  return {name, "an integer from 0 to 4294967294",
          [m](S& s, std::string_view t) {
            int64_t v = 0;
            if (!parse_int_text(t, 0, 4294967294LL, v)) return false;
            s.*m = static_cast<uint32_t>(v);
            return true;
          },
          [m](const S& s) { return s.*m ? std::to_string(*(s.*m)) : std::string("null"); }};
}

template <typename S>
Field<S> mode_field(std::string_view name, uint32_t S::*m) {
  return {name, "an octal mode string like \"0644\"",
          [m](S& s, std::string_view t) {
            if (t.size() > 2 && t[0] == '0' && (t[1] == 'o' || t[1] == 'O')) t.remove_prefix(2);
            if (t.empty() || t.size() > 5) return false;
            uint32_t v = 0;
            auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v, 8);
            if (ec != std::errc() || p != t.data() + t.size() || v > 07777) return false;
            s.*m = v;
            return true;
          },
          [m](const S& s) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "%04o", s.*m);
            return quote(buf);
          }};
}

constexpr int64_t kNoMax = std::numeric_limits<int64_t>::max();

}  // namespace

const Fields<EtcdConfig>& etcd_fields() {
  using S = EtcdConfig;
  static const Fields<S> kFields = {
      int_field("port", &S::port, 1, 65535),
      string_field("cluster_name", &S::cluster_name),
      string_field("prefix", &S::prefix),
      opt_string_field("username", &S::username, false),
      opt_string_field("password", &S::password, true),
      duration_field("refresh_interval", &S::refresh_interval, DurationRule::kAny),
      duration_field("timeout", &S::timeout, DurationRule::kPositive),
      duration_field("startup_timeout", &S::startup_timeout, DurationRule::kPositive),
  };
  return kFields;
}

const Fields<LoggerConfig>& logger_fields() {
  using S = LoggerConfig;
  static const Fields<S> kFields = {
      opt_string_field("path", &S::path, false),
      {"level", "one of DEBUG, INFO, WARNING (WARN), ERROR, CRITICAL or a number from 10 to 50",
       [](S& s, std::string_view t) {
         auto r = parse_log_level(t);
         if (!r.ok()) return false;
         s.level = *r;
         return true;
       },
       [](const S& s) { return std::string(to_string(s.level)); }},
      duration_field("slow_op_threshold", &S::slow_op_threshold, DurationRule::kPositive),
  };
  return kFields;
}

const Fields<MountConfig>& mount_fields() {
  using S = MountConfig;
  static const Fields<S> kFields = {
      bool_field("allow_other", &S::allow_other),
      bool_field("default_permissions", &S::default_permissions),
      bool_field("ro", &S::ro),
      duration_field("attr_timeout", &S::attr_timeout, DurationRule::kNonNegative),
      duration_field("entry_timeout", &S::entry_timeout, DurationRule::kNonNegative),
      duration_field("negative_timeout", &S::negative_timeout, DurationRule::kNonNegative),
      int_field("max_threads", &S::max_threads, 1, 1024),
      int_field("max_idle_threads", &S::max_idle_threads, 0, 1024),
      bool_field("io_uring", &S::io_uring),
      size_field("max_read", &S::max_read, 4 * kKiB, 1 * kGiB),
      size_field("max_write", &S::max_write, 4 * kKiB, 1 * kGiB),
      bool_field("direct_io", &S::direct_io),
      opt_id_field("uid", &S::uid),
      opt_id_field("gid", &S::gid),
      mode_field("file_mode", &S::file_mode),
      mode_field("dir_mode", &S::dir_mode),
      string_field("fsname", &S::fsname),
      string_field("subtype", &S::subtype),
      duration_field("shutdown_timeout", &S::shutdown_timeout, DurationRule::kNonNegative),
  };
  return kFields;
}

const Fields<PageCacheConfig>& page_cache_fields() {
  using S = PageCacheConfig;
  static const Fields<S> kFields = {
      bool_field("enabled", &S::enabled),
      string_field("dir", &S::dir),
      size_field("capacity", &S::capacity, 0),  // >= 4 pages: validate.cc
      int_field("max_inflight_fetches", &S::max_inflight_fetches, 1, 1024),
      size_field("memory_budget", &S::memory_budget, 1),
  };
  return kFields;
}

const Fields<ReadaheadConfig>& readahead_fields() {
  using S = ReadaheadConfig;
  static const Fields<S> kFields = {
      bool_field("enabled", &S::enabled),
      size_field("initial_window", &S::initial_window, 1),
      size_field("max_window", &S::max_window, 1),
      int_field("per_file_fetches", &S::per_file_fetches, 1, 1024),
  };
  return kFields;
}

const Fields<MetadataConfig>& metadata_fields() {
  using S = MetadataConfig;
  static const Fields<S> kFields = {
      duration_field("ttl", &S::ttl, DurationRule::kNonNegative),
      duration_field("negative_ttl", &S::negative_ttl, DurationRule::kNonNegative),
      int_field("max_entries", &S::max_entries, 0, kNoMax),
  };
  return kFields;
}

const Fields<WriteConfig>& write_fields() {
  using S = WriteConfig;
  static const Fields<S> kFields = {
      string_field("staging_dir", &S::staging_dir),
      size_field("staging_capacity", &S::staging_capacity, 1),
      size_field("max_file_size", &S::max_file_size, 1),
      size_field("upload_chunk_size", &S::upload_chunk_size, 1),
      bool_field("keep_failed", &S::keep_failed),
  };
  return kFields;
}

const Fields<RoutingConfig>& routing_fields() {
  using S = RoutingConfig;
  using D = DurationRule;
  static const Fields<S> kFields = {
      enum_field<S, RoutingMode>("mode", &S::mode,
                                 {{"auto", RoutingMode::kAuto},
                                  {"ring", RoutingMode::kRing},
                                  {"server", RoutingMode::kServer}}),
      enum_field<S, WorkerApi>("worker_api", &S::worker_api,
                               {{"auto", WorkerApi::kAuto},
                                {"enterprise", WorkerApi::kEnterprise},
                                {"oss", WorkerApi::kOss}}),
      int_field("candidates", &S::candidates, 1, 16),
      duration_field("connect_timeout", &S::connect_timeout, D::kPositive),
      duration_field("metadata_timeout", &S::metadata_timeout, D::kPositive),
      duration_field("data_timeout", &S::data_timeout, D::kPositive),
      duration_field("stall_timeout", &S::stall_timeout, D::kPositive),
      int_field("retries", &S::retries, 0, 10),
      duration_field("backoff_initial", &S::backoff_initial, D::kNonNegative),
      duration_field("backoff_max", &S::backoff_max, D::kNonNegative),
      int_field("max_connections_per_worker", &S::max_connections_per_worker, 1, 100000),
      duration_field("suspect_backoff_initial", &S::suspect_backoff_initial, D::kNonNegative),
      duration_field("suspect_backoff_max", &S::suspect_backoff_max, D::kNonNegative),
      bool_field("node_lookup", &S::node_lookup),
      duration_field("node_cache_ttl", &S::node_cache_ttl, D::kNonNegative),
      int_field("node_cache_max_entries", &S::node_cache_max_entries, 0, kNoMax),
      bool_field("tls", &S::tls),
      opt_string_field("tls_ca_file", &S::tls_ca_file, false),
  };
  return kFields;
}

const Fields<FallbackConfig>& fallback_fields() {
  using S = FallbackConfig;
  static const Fields<S> kFields = {
      bool_field("enabled", &S::enabled),
      bool_field("writes", &S::writes),
      bool_field("warm_on_miss", &S::warm_on_miss),
      bool_field("credentials_from_cluster", &S::credentials_from_cluster),
  };
  return kFields;
}

const Fields<MetricsConfig>& metrics_fields() {
  using S = MetricsConfig;
  static const Fields<S> kFields = {
      bool_field("enabled", &S::enabled),
      {"listen", "host:port like \"127.0.0.1:49999\" or \"[::1]:49999\" (port 0 to 65535)",
       [](S& s, std::string_view t) { return parse_host_port(t, true, 0, 0, s.listen); },
       [](const S& s) { return quote(s.listen.to_string()); }},
  };
  return kFields;
}

}  // namespace alluxio_fuse::config::internal
