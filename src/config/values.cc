// Small value helpers shared by the config module: scalar parsers, quoting, the derived
// accessors on the public structs, and the environment adapters.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "fields.h"

namespace alluxio_fuse::config {

using common::Code;

std::string HostPort::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string EtcdEndpoint::url() const { return scheme + "://" + HostPort{host, port}.to_string(); }

std::string_view to_string(Mode mode) {
  switch (mode) {
    case Mode::kStandalone:
      return "standalone";
    case Mode::kRingStatic:
      return "ring-static";
    case Mode::kRingEtcd:
      return "ring-etcd";
    case Mode::kServer:
      return "server";
  }
  return "unknown";
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARNING";
    case LogLevel::kError:
      return "ERROR";
    case LogLevel::kCritical:
      return "CRITICAL";
  }
  return "INFO";
}

common::Result<LogLevel> parse_log_level(std::string_view text) {
  std::string t(internal::trim(text));
  for (char& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (t == "DEBUG") return LogLevel::kDebug;
  if (t == "INFO") return LogLevel::kInfo;
  if (t == "WARNING" || t == "WARN") return LogLevel::kWarning;
  if (t == "ERROR") return LogLevel::kError;
  if (t == "CRITICAL") return LogLevel::kCritical;
  int64_t n = 0;
  if (internal::parse_int_text(t, 10, 50, n)) {
    // Python passes records with level >= n, so n between two named levels acts like the
    // next named level up.
    if (n <= 10) return LogLevel::kDebug;
    if (n <= 20) return LogLevel::kInfo;
    if (n <= 30) return LogLevel::kWarning;
    if (n <= 40) return LogLevel::kError;
    return LogLevel::kCritical;
  }
  return common::Status(Code::kInvalid, "not a log level");
}

std::string TargetOptions::effective_region() const {
  if (region) return *region;
  if (client_kwargs.region_name) return *client_kwargs.region_name;
  return "us-east-1";
}

std::optional<std::string> TargetOptions::effective_endpoint_url() const {
  if (endpoint_url) return endpoint_url;
  return client_kwargs.endpoint_url;
}

bool TargetOptions::use_path_style() const {
  if (addressing_style == AddressingStyle::kPath) return true;
  if (addressing_style == AddressingStyle::kVirtual) return false;
  return effective_endpoint_url().has_value();
}

std::optional<S3Credentials> TargetOptions::effective_credentials() const {
  if (anon) return std::nullopt;
  if (key && secret) return S3Credentials{*key, *secret, token.value_or("")};
  if (client_kwargs.aws_access_key_id && client_kwargs.aws_secret_access_key) {
    return S3Credentials{*client_kwargs.aws_access_key_id, *client_kwargs.aws_secret_access_key,
                         client_kwargs.aws_session_token.value_or("")};
  }
  return std::nullopt;
}

Environment process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Environment map_environment(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string redact_url(std::string_view s) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t sep = s.find("://", pos);
    if (sep == std::string_view::npos) break;
    size_t start = sep + 3;
    size_t end = s.find_first_of("/?#", start);
    if (end == std::string_view::npos) end = s.size();
    size_t at = s.substr(start, end - start).rfind('@');
    out.append(s.substr(pos, start - pos));
    if (at != std::string_view::npos) {
      out.append("***");
      start += at;  // keep the '@'
    }
    pos = start;
  }
  out.append(s.substr(pos));
  return out;
}

namespace internal {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool parse_bool_text(std::string_view text, bool& out) {
  // YAML 1.2 core schema: yes/no/on/off are strings, not booleans.
  if (text == "true" || text == "True" || text == "TRUE") {
    out = true;
    return true;
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    out = false;
    return true;
  }
  return false;
}

bool parse_int_text(std::string_view text, int64_t min, int64_t max, int64_t& out) {
  std::string_view t = trim(text);
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || p != t.data() + t.size() || v < min || v > max) {
    return false;
  }
  out = v;
  return true;
}

bool parse_host_port(std::string_view text, bool need_port, uint16_t default_port,
                     uint16_t min_port, HostPort& out) {
  std::string_view t = trim(text);
  std::string_view host;
  std::string_view rest;
  if (!t.empty() && t.front() == '[') {
    size_t close = t.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    host = t.substr(1, close - 1);
    if (host.find(':') == std::string_view::npos) return false;
    rest = t.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
  } else {
    size_t colon = t.find(':');
    if (colon != std::string_view::npos && t.find(':', colon + 1) != std::string_view::npos) {
      return false;  // an unbracketed IPv6 literal is ambiguous with a port
    }
    host = t.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : t.substr(colon);
  }
  if (host.empty()) return false;
  for (char c : host) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '/' || c == '@' || c == '[' ||
        c == ']' || c == ',' || c == '?' || c == '#') {
      return false;
    }
  }
  uint16_t port = default_port;
  if (rest.empty()) {
    if (need_port) return false;
  } else {
    int64_t p = 0;
    std::string_view digits = rest.substr(1);
    if (digits.empty() ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    if (!parse_int_text(digits, min_port, 65535, p)) return false;
    port = static_cast<uint16_t>(p);
  }
  out = HostPort{std::string(host), port};
  return true;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", u);
      out.append(buf);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

std::string echo(std::string_view value) {
  std::string v = redact_url(value);
  const size_t at = v.rfind('@');
  if (at != std::string::npos) v = "***" + v.substr(at);
  return quote(v);
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace internal
}  // namespace alluxio_fuse::config
