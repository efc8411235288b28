// Design: generic walking (unknown keys with suggestions, duplicates, bad values) plus the
// keys whose syntax is not a single scalar: ufs_root with target_protocol, and the host lists of
// routing.md §3 and §4. Values are echoed only through redact_url; secret keys never.
#include "walker.h"

#include <cctype>

#include "alluxio_fuse/common/uri.h"

namespace alluxio_fuse::config::internal {

std::optional<Entries> Walker::entries(const YAML::Node& node, const std::string& prefix, int line,
                                       const std::vector<std::string>* valid) {
  if (!node.IsMap()) {
    diag_.error_at(line, (prefix.empty() ? std::string("the file") : prefix) +
                             ": expected a map of keys, got " + describe(node));
    return std::nullopt;
  }
  Entries out;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const int key_line = line_of(it->first, line);
    if (!it->first.IsScalar()) {
      diag_.error_at(key_line, (prefix.empty() ? std::string("top level") : prefix) +
                                   ": keys must be plain strings");
      continue;
    }
    const std::string name = it->first.Scalar();
    const std::string full = join_key_name(prefix, name);
    if (valid != nullptr && std::find(valid->begin(), valid->end(), name) == valid->end()) {
      unknown_key(prefix, name, *valid, key_line);
      continue;
    }
    if (out.count(name) > 0) {
      diag_.error_at(key_line, "duplicate key \"" + full + "\"");
      continue;
    }
    diag_.record(full, key_line);
    out.emplace(name, Entry{full, key_line, it->second});
  }
  return out;
}

void Walker::unknown_key(const std::string& prefix, const std::string& name,
                         const std::vector<std::string>& valid, int line) {
  const std::string full = join_key_name(prefix, name);
  const std::string* best = nullptr;
  size_t best_d = 4;
  for (const auto& v : valid) {
    const size_t d = edit_distance(name, v);
    if (d < best_d) {
      best_d = d;
      best = &v;
    }
  }
  if (best != nullptr) {
    diag_.error_at(line, "unknown key \"" + full + "\"; did you mean \"" +
                             join_key_name(prefix, *best) + "\"?");
    return;
  }
  std::string list;
  for (const auto& v : valid) list += (list.empty() ? "" : ", ") + join_key_name(prefix, v);
  diag_.error_at(line, "unknown key \"" + full + "\"; valid keys " +
                           (prefix.empty() ? std::string("at the top level") : "in " + prefix) +
                           ": " + list);
}

std::optional<std::string> Walker::scalar(const Entries& e, const std::string& name) {
  auto it = e.find(name);
  if (it == e.end() || it->second.value.IsNull()) return std::nullopt;
  if (!it->second.value.IsScalar()) {
    bad_value(it->second, "a string");
    return std::nullopt;
  }
  return it->second.value.Scalar();
}

static bool valid_scheme(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

static bool has_userinfo(std::string_view url) { return redact_url(url) != url; }

void Walker::ufs_root(const Entries& top, Config& c) {
  auto protocol = scalar(top, "target_protocol");
  if (protocol && !valid_scheme(*protocol)) {
    bad_value(top.at("target_protocol"), "a URI scheme like \"s3\", \"file\" or \"gs\"");
    protocol.reset();
  }
  auto root = scalar(top, "ufs_root");
  if (!root) {
    if (!is_set(top, "ufs_root")) {
      diag_.error_at(1,
                     "missing required key \"ufs_root\" (the UFS URI to serve, like "
                     "\"s3://bucket/prefix\" or \"file:///srv/data\")");
    }
    return;
  }
  const Entry& e = top.at("ufs_root");
  std::string uri = *root;
  const size_t sep = uri.find("://");
  if (sep == std::string::npos) {
    if (!protocol) {
      bad_value(e,
                "a URI like \"s3://bucket/prefix\" (or a scheme-less path with "
                "target_protocol set)");
      return;
    }
    // The product document's "UFS-native path": `bucket/prefix` under target_protocol.
    uri = *protocol + "://" + uri;
  } else if (!valid_scheme(std::string_view(uri).substr(0, sep))) {
    bad_value(e, "a URI like \"s3://bucket/prefix\" or \"file:///srv/data\"");
    return;
  }
  auto norm = common::normalize_root(uri);
  if (!norm.ok()) {
    bad_value(e, "a URI like \"s3://bucket/prefix\" or \"file:///srv/data\"");
    return;
  }
  const std::string scheme(common::uri_scheme(*norm));
  if (protocol && *protocol != scheme) {
    diag_.error_at(top.at("target_protocol").line, "target_protocol: \"" + *protocol +
                                                       "\" disagrees with the scheme \"" + scheme +
                                                       "\" of ufs_root");
  }
  if (scheme == "file" && !norm->starts_with("file:///")) {
    // "file://" or "file://dir/x" would serve paths relative to the daemon's working directory.
    bad_value(e, "an absolute local path, like \"file:///srv/data\"");
    return;
  }
  if (scheme != "file" && norm->size() == scheme.size() + 3) {
    bad_value(e, "a URI with a bucket or authority, like \"s3://bucket/prefix\"");
    return;
  }
  if (has_userinfo(*norm)) facts_.file_has_secret = true;
  c.ufs_root = *norm;
  c.target_protocol = scheme;
  facts_.scheme = scheme;
}

std::vector<std::string> Walker::string_list(const Entry& e, bool split_commas) {
  std::vector<std::string> raw;
  if (e.value.IsScalar()) {
    raw.push_back(e.value.Scalar());
  } else if (e.value.IsSequence()) {
    for (const auto& item : e.value) {
      if (!item.IsScalar()) {
        diag_.error_at(line_of(item, e.line), e.key + ": expected a list of strings, got " +
                                                  describe(item) + " as an item");
        continue;
      }
      raw.push_back(item.Scalar());
    }
  } else {
    bad_value(e, "a string or a list of strings");
  }
  if (!split_commas) return raw;
  std::vector<std::string> out;
  for (const auto& r : raw) {
    size_t start = 0;
    while (true) {
      size_t comma = r.find(',', start);
      out.emplace_back(trim(std::string_view(r).substr(start, comma - start)));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

void Walker::host_list(const Entries& e, const std::string& name, uint16_t default_port, Config& c,
                       bool etcd) {
  auto it = e.find(name);
  if (it == e.end() || it->second.value.IsNull()) return;
  const Entry& en = it->second;
  const size_t errors_before = diag_.errors.size();
  std::map<std::string, uint16_t> seen;
  for (const std::string& item : string_list(en, true)) {
    if (item.empty()) {
      diag_.error_at(en.line, en.key + ": empty item in the host list");
      continue;
    }
    std::string_view rest = item;
    EtcdEndpoint ep;
    if (etcd) {
      for (std::string_view s : {"http://", "https://"}) {
        if (rest.substr(0, s.size()) == s) {
          ep.scheme = std::string(s.substr(0, s.size() - 3));
          rest.remove_prefix(s.size());
        }
      }
      while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
      if (rest.find('@') != std::string_view::npos) {
        facts_.file_has_secret = true;
        diag_.error_at(en.line, en.key +
                                    ": credentials in a URL are not accepted; use "
                                    "etcd.username and etcd.password");
        continue;
      }
    }
    HostPort hp;
    if (!parse_host_port(rest, false, default_port, 1, hp)) {
      std::string hint = std::count(rest.begin(), rest.end(), ':') > 1 && rest[0] != '['
                             ? " (an IPv6 literal must be bracketed, like \"[fd00::5]:28080\")"
                             : "";
      diag_.error_at(en.line, en.key + ": expected items like \"host\" or \"host:port\"" +
                                  std::string(etcd ? " or \"http://host:port\"" : "") +
                                  " with port 1 to 65535, got " + echo(item) + hint);
      continue;
    }
    auto [pos, inserted] = seen.emplace(hp.host, hp.port);
    if (!inserted) {
      if (pos->second != hp.port) {
        diag_.error_at(en.line,
                       en.key + ": host \"" + hp.host + "\" appears with two different ports (" +
                           std::to_string(pos->second) + " and " + std::to_string(hp.port) + ")");
      } else {
        diag_.warn_at(en.line, en.key + ": duplicate item " + quote(hp.to_string()) + " ignored");
      }
      continue;
    }
    if (etcd) {
      ep.host = hp.host;
      ep.port = hp.port;
      c.etcd.hosts.push_back(ep);
    } else {
      c.worker_hosts.push_back(hp);
    }
  }
  if (seen.empty() && diag_.errors.size() == errors_before) {
    diag_.error_at(en.line, en.key + ": the host list is empty");
  }
}

}  // namespace alluxio_fuse::config::internal
