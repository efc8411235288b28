// Identity derivation and parsing. Identities arrive from etcd as JSON written by Java (Gson),
// and from operators as strings; all forms reduce to (version, raw bytes) so equality is a
// byte comparison, never a text comparison (case differences in hex do not make new workers).
#include "alluxio_fuse/cluster/worker.h"

#include <nlohmann/json.hpp>

#include "alluxio_fuse/common/hash.h"

namespace alluxio_fuse::cluster {
namespace {

using common::Code;
using common::make_status;
using common::Result;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool decode_hex(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  out->clear();
  out->reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_value(hex[i]);
    int lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>((hi << 4) | lo));
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

WorkerIdentity WorkerIdentity::from_host(std::string_view host) {
  std::string b = common::md5_raw(host);
  // UUID version 3 and the RFC 4122 variant, exactly as java.util.UUID.nameUUIDFromBytes.
  b[6] = static_cast<char>((static_cast<unsigned char>(b[6]) & 0x0FU) | 0x30U);
  b[8] = static_cast<char>((static_cast<unsigned char>(b[8]) & 0x3FU) | 0x80U);
  return WorkerIdentity{1, std::move(b)};
}

Result<WorkerIdentity> WorkerIdentity::from_hex(int32_t version, std::string_view hex) {
  size_t want = 0;
  if (version == 1) {
    want = 32;
  } else if (version == 0) {
    want = 16;
  } else {
    return make_status(Code::kInvalid,
                       "worker identity: unsupported version " + std::to_string(version));
  }
  std::string bytes;
  if (hex.size() != want || !decode_hex(hex, &bytes)) {
    return make_status(Code::kInvalid, "worker identity: version " + std::to_string(version) +
                                           " needs " + std::to_string(want) +
                                           " hex digits, got \"" + std::string(hex) + "\"");
  }
  return WorkerIdentity{version, std::move(bytes)};
}

Result<WorkerIdentity> WorkerIdentity::from_json(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return make_status(Code::kInvalid, "worker identity: not a JSON object");
  auto v = j.find("version");
  auto id = j.find("identifier");
  if (v == j.end() || !v->is_number_integer() || id == j.end() || !id->is_string()) {
    return make_status(Code::kInvalid,
                       "worker identity: needs integer version and string identifier");
  }
  int64_t version = v->get<int64_t>();
  if (version < 0 || version > 1) {
    return make_status(Code::kInvalid,
                       "worker identity: unsupported version " + std::to_string(version));
  }
  return from_hex(static_cast<int32_t>(version), id->get_ref<const std::string&>());
}

Result<WorkerIdentity> WorkerIdentity::parse(std::string_view text) {
  std::string_view s = trim(text);
  if (s.starts_with("worker-")) s.remove_prefix(7);
  if (s.size() == 16) return from_hex(0, s);
  std::string hex;
  if (s.size() == 36) {
    // 8-4-4-4-12 with dashes at fixed positions.
    for (size_t i = 0; i < s.size(); ++i) {
      bool dash_pos = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash_pos != (s[i] == '-')) {
        return make_status(Code::kInvalid,
                           "worker identity: malformed UUID \"" + std::string(text) + "\"");
      }
      if (!dash_pos) hex.push_back(s[i]);
    }
  } else {
    hex = std::string(s);
  }
  return from_hex(1, hex);
}

std::string WorkerIdentity::hex() const { return common::to_hex(identifier); }

std::string WorkerIdentity::to_string() const {
  std::string h = hex();
  if (version == 1 && h.size() == 32) {
    return "worker-" + h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" +
           h.substr(16, 4) + "-" + h.substr(20);
  }
  return "worker-" + h;
}

std::strong_ordering operator<=>(const WorkerIdentity& a, const WorkerIdentity& b) {
  if (auto c = a.version <=> b.version; c != 0) return c;
  // std::string compares as unsigned bytes (char_traits<char>::compare uses memcmp semantics).
  int c = a.identifier.compare(b.identifier);
  return c < 0 ? std::strong_ordering::less
               : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
}

std::string WorkerAddress::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<WorkerAddress> parse_host_port(std::string_view item, int default_port) {
  std::string_view s = trim(item);
  if (s.empty()) return make_status(Code::kInvalid, "empty host item");
  std::string_view host = s;
  std::string_view port_text;
  if (s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close == 1) {
      return make_status(Code::kInvalid, "malformed bracketed host \"" + std::string(s) + "\"");
    }
    host = s.substr(1, close - 1);
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return make_status(Code::kInvalid, "malformed host item \"" + std::string(s) + "\"");
      }
      port_text = rest.substr(1);
      if (port_text.empty()) {
        return make_status(Code::kInvalid, "empty port in \"" + std::string(s) + "\"");
      }
    }
  } else {
    size_t colon = s.find(':');
    if (colon != std::string_view::npos) {
      if (s.find(':', colon + 1) != std::string_view::npos) {
        return make_status(Code::kInvalid,
                           "IPv6 literal must be bracketed: \"" + std::string(s) + "\"");
      }
      host = s.substr(0, colon);
      port_text = s.substr(colon + 1);
      if (host.empty() || port_text.empty()) {
        return make_status(Code::kInvalid, "malformed host item \"" + std::string(s) + "\"");
      }
    }
  }
  int port = default_port;
  if (!port_text.empty()) {
    port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) {
        port = -1;
        break;
      }
      port = port * 10 + (c - '0');
    }
  }
  if (port < 1 || port > 65535) {
    return make_status(Code::kInvalid, "bad port in \"" + std::string(s) + "\"");
  }
  return WorkerAddress{std::string(host), port};
}

}  // namespace alluxio_fuse::cluster
