#pragma once
// Internal to the config module: one table per conf.yaml section listing its scalar keys, each
// with the expected form (for error messages), a setter from text and a printer. The YAML
// loader, the `-o` parser and render_effective all walk these tables, so a key added here is
// parsed, overridable (mount.*) and printed without further edits.
// Thread-safety: the tables are immutable after first use (function-local statics).

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "alluxio_fuse/config/config.h"

namespace alluxio_fuse::config::internal {

template <typename S>
struct Field {
  std::string_view name;  // key within its section
  std::string form;       // "expected <form>" in messages
  std::function<bool(S&, std::string_view)> set;
  std::function<std::string(const S&)> show;  // YAML scalar text (already quoted if needed)
};

template <typename S>
using Fields = std::vector<Field<S>>;

// Scalar keys of each section. Keys that are lists or maps (etcd.hosts, mount.fuse_options,
// fallback.on, page_cache.readahead) are handled by the loader itself.
const Fields<EtcdConfig>& etcd_fields();
const Fields<LoggerConfig>& logger_fields();
const Fields<MountConfig>& mount_fields();
const Fields<PageCacheConfig>& page_cache_fields();
const Fields<ReadaheadConfig>& readahead_fields();
const Fields<MetadataConfig>& metadata_fields();
const Fields<WriteConfig>& write_fields();
const Fields<RoutingConfig>& routing_fields();
const Fields<FallbackConfig>& fallback_fields();
const Fields<MetricsConfig>& metrics_fields();

// Value parsers shared with the loader. Each returns false when `text` is not of the form.
bool parse_bool_text(std::string_view text, bool& out);  // YAML 1.2 core: true/false only
bool parse_int_text(std::string_view text, int64_t min, int64_t max, int64_t& out);
// "host:port" / "[v6]:port" with port in [min_port, 65535]; `need_port` false allows "host".
bool parse_host_port(std::string_view text, bool need_port, uint16_t default_port,
                     uint16_t min_port, HostPort& out);

// YAML double-quoted scalar (escapes '"', '\\' and control characters).
std::string quote(std::string_view s);
// A user-supplied value for an error message: quoted, URL userinfo masked, and anything before
// an '@' masked even when the value is not a well-formed URL (it may be credentials).
std::string echo(std::string_view value);
std::string_view trim(std::string_view s);

// Levenshtein edit distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace alluxio_fuse::config::internal
