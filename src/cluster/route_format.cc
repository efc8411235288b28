// `route` output. The text form escapes with a UTF-8 decoder of its own because it must know
// where each invalid byte is, not just whether the whole key is valid; the JSON form uses the
// same decoder to decide on "key_hex", so both forms agree on what "invalid" means. The JSON form
// relies on nlohmann's replace handler for invalid bytes.
#include "alluxio_fuse/cluster/route_format.h"

#include <nlohmann/json.hpp>

#include "alluxio_fuse/common/hash.h"

namespace alluxio_fuse::cluster {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when the byte there does not start
// one (overlongs, surrogates and code points above U+10FFFF are invalid).
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = 0;
  uint32_t cp = 0;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1FU;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0FU;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07U;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0U) != 0x80U) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3FU);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void append_hex_byte(std::string* out, unsigned char c) {
  static const char kHex[] = "0123456789abcdef";
  *out += "\\x";
  *out += kHex[c >> 4];
  *out += kHex[c & 0xFU];
}

}  // namespace

std::string escape_route_key(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  size_t i = 0;
  while (i < key.size()) {
    auto c = static_cast<unsigned char>(key[i]);
    size_t n = utf8_sequence_length(key, i);
    if (n == 0) {
      append_hex_byte(&out, c);
      ++i;
      continue;
    }
    if (n == 1) {
      switch (c) {
        case '\\':
          out += "\\\\";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        default:
          if (c < 0x20 || c == 0x7F) {
            append_hex_byte(&out, c);
          } else {
            out += static_cast<char>(c);
          }
      }
    } else {
      out.append(key.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string format_route_text(std::string_view key, const std::vector<Worker>& candidates) {
  std::string out = escape_route_key(key);
  out += '\t';
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (i > 0) out += ',';
    out += candidates[i].address.to_string();
  }
  return out;
}

std::string format_route_json(const std::vector<RouteEntry>& entries) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const RouteEntry& e : entries) {
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["key"] = e.key;
    if (!is_valid_utf8(e.key)) entry["key_hex"] = common::to_hex(e.key);
    nlohmann::ordered_json cands = nlohmann::ordered_json::array();
    for (const Worker& w : e.candidates) {
      nlohmann::ordered_json c = nlohmann::ordered_json::object();
      c["host"] = w.address.host;
      c["port"] = w.address.port;
      if (w.identity.valid()) {
        c["identity"] = w.identity.hex();
      } else {
        c["identity"] = nullptr;
      }
      cands.push_back(std::move(c));
    }
    entry["candidates"] = std::move(cands);
    arr.push_back(std::move(entry));
  }
  // ordered_json keeps the documented member order (the default json sorts keys).
  return arr.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace alluxio_fuse::cluster
