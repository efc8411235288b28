#pragma once
// Internal to the config module: the YAML walk. Walker checks one section at a time against its
// key table (fields.h), records every key's line in Diagnostics and fills a Config.
// Thread-safety: none; one instance per load. Holds references to the caller's Diagnostics and
// ParseFacts, which outlive it.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fields.h"
#include "loader.h"

namespace alluxio_fuse::config::internal {

struct Entry {
  std::string key;  // full dotted key
  int line = 1;
  YAML::Node value;
};
using Entries = std::map<std::string, Entry>;  // by name within the section

inline std::string join_key_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

inline int line_of(const YAML::Node& n, int fallback) {
  const YAML::Mark m = n.Mark();
  return m.is_null() ? fallback : m.line + 1;
}

inline std::string describe(const YAML::Node& n) {
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  if (n.IsNull()) return "nothing";
  return echo(n.Scalar());
}

inline bool is_set(const Entries& e, const std::string& name) {
  auto it = e.find(name);
  return it != e.end() && !it->second.value.IsNull();
}

class Walker {
 public:
  Walker(Diagnostics& diag, ParseFacts& facts) : diag_(diag), facts_(facts) {}

  void document(const YAML::Node& root, Config& c);

 private:
  // Entries of a map node. Reports a non-map, duplicate keys and (when `valid` is given)
  // unknown keys with a suggestion. Returns nullopt for a non-map.
  std::optional<Entries> entries(const YAML::Node& node, const std::string& prefix, int line,
                                 const std::vector<std::string>* valid);
  void unknown_key(const std::string& prefix, const std::string& name,
                   const std::vector<std::string>& valid, int line);

  template <typename S>
  static std::vector<std::string> names(const Fields<S>& fields, std::vector<std::string> extra) {
    std::vector<std::string> out;
    for (const auto& f : fields) out.emplace_back(f.name);
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
  }

  // Walks a section map: unknown keys, then every scalar field. Returns the entries for the
  // caller's non-scalar keys.
  template <typename S>
  Entries section(const YAML::Node& node, const std::string& prefix, int line,
                  const Fields<S>& fields, const std::vector<std::string>& extra, S& out) {
    const auto valid = names(fields, extra);
    auto e = entries(node, prefix, line, &valid);
    if (!e) return {};
    for (const auto& f : fields) {
      auto it = e->find(std::string(f.name));
      if (it == e->end() || it->second.value.IsNull()) continue;
      const Entry& en = it->second;
      if (!en.value.IsScalar() || !f.set(out, en.value.Scalar())) bad_value(en, f.form);
    }
    return *e;
  }

  void bad_value(const Entry& e, const std::string& form) {
    std::string msg = e.key + ": expected " + form;
    if (!is_secret(e.key)) msg += ", got " + describe(e.value);
    diag_.error_at(e.line, msg);
  }
  static bool is_secret(const std::string& key) {
    return key == "target_options.secret" || key == "target_options.token" ||
           key == "target_options.client_kwargs.aws_secret_access_key" ||
           key == "target_options.client_kwargs.aws_session_token" || key == "etcd.password";
  }

  std::optional<std::string> scalar(const Entries& e, const std::string& name);
  void ufs_root(const Entries& top, Config& c);
  void target_options(const Entries& top, Config& c);
  void s3_options(const Entry& e, TargetOptions& t);
  void host_list(const Entries& e, const std::string& name, uint16_t default_port, Config& c,
                 bool etcd);
  void alluxio_options(const Entries& top, AlluxioOptions& o);
  std::vector<std::string> string_list(const Entry& e, bool split_commas);

  Diagnostics& diag_;
  ParseFacts& facts_;
};

}  // namespace alluxio_fuse::config::internal
