// etcd JSON-gateway encoding and decoding. nlohmann::json is used with exceptions disabled for
// parsing and every typed access is checked first; a stray type_error is still caught here,
// because exceptions must not leave this module. Hostile or half-written registrations
// (workers crash mid-write, other tools share the prefix) are skipped one by one, never
// failing the whole refresh.
#include "alluxio_fuse/cluster/etcd_wire.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>

namespace alluxio_fuse::cluster {
namespace {

using common::Code;
using common::make_status;
using common::Result;
using nlohmann::json;

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;  // '-' and '_': tolerate the URL-safe alphabet
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Printable, bounded rendering of untrusted bytes for log lines.
std::string printable(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 200; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 200) out += "...";
  return out;
}

// A 64-bit integer the gateway writes as a string ("42") or, from other tools, as a number.
bool read_int64(const json& obj, const char* name, int64_t* out) {
  auto it = obj.find(name);
  if (it == obj.end()) {
    *out = 0;
    return true;
  }
  if (it->is_number_integer()) {
    *out = it->get<int64_t>();
    return true;
  }
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && ptr == s.data() + s.size();
  }
  return false;
}

bool read_port(const json& obj, const char* name, int* out) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return true;  // keep the default
  if (!it->is_number_integer()) return false;
  int64_t v = it->get<int64_t>();
  if (v < 0 || v > 65535) return false;
  *out = static_cast<int>(v);
  return true;
}

bool read_string(const json& obj, const char* name, std::string* out) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

Result<WorkerRecord> parse_worker_record_unchecked(std::string_view value_json) {
  json j = json::parse(value_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return make_status(Code::kBadResponse, "worker record is not a JSON object");
  WorkerRecord rec;
  auto id = j.find("Identity");
  if (id == j.end() || !id->is_object()) {
    return make_status(Code::kBadResponse, "worker record has no Identity object");
  }
  auto version = id->find("version");
  auto identifier = id->find("identifier");
  if (version == id->end() || !version->is_number_integer() || identifier == id->end() ||
      !identifier->is_string()) {
    return make_status(Code::kBadResponse, "worker record has a malformed Identity");
  }
  int64_t v = version->get<int64_t>();
  if (v < 0 || v > 1) {
    return make_status(Code::kBadResponse,
                       "worker record has unsupported Identity version " + std::to_string(v));
  }
  auto identity =
      WorkerIdentity::from_hex(static_cast<int32_t>(v), identifier->get_ref<const std::string&>());
  if (!identity.ok()) return make_status(Code::kBadResponse, identity.status().message());
  rec.identity = std::move(identity).value();

  auto addr = j.find("WorkerNetAddress");
  if (addr != j.end() && !addr->is_null()) {
    if (!addr->is_object()) {
      return make_status(Code::kBadResponse, "worker record WorkerNetAddress is not an object");
    }
    WorkerNetAddress& n = rec.net;
    if (!read_string(*addr, "Host", &n.host) ||
        !read_string(*addr, "ContainerHost", &n.container_host) ||
        !read_port(*addr, "RpcPort", &n.rpc_port) || !read_port(*addr, "DataPort", &n.data_port) ||
        !read_port(*addr, "SecureRpcPort", &n.secure_rpc_port) ||
        !read_port(*addr, "NettyDataPort", &n.netty_data_port) ||
        !read_port(*addr, "WebPort", &n.web_port) ||
        !read_string(*addr, "DomainSocketPath", &n.domain_socket_path) ||
        !read_port(*addr, "HttpServerPort", &n.http_server_port)) {
      return make_status(Code::kBadResponse, "worker record WorkerNetAddress has a bad field");
    }
  }
  if (rec.net.host.empty()) return make_status(Code::kBadResponse, "worker record has no Host");
  if (rec.net.http_server_port == 0) {
    return make_status(Code::kBadResponse, "worker record has HttpServerPort 0");
  }
  if (!read_string(j, "State", &rec.state)) {
    return make_status(Code::kBadResponse, "worker record State is not a string");
  }
  return rec;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += kB64[n & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t n = byte(i) << 16;
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return make_status(Code::kBadResponse, "malformed base64 length");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = b64_value(c);
    if (v < 0) return make_status(Code::kBadResponse, "malformed base64 character");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFFU);
    }
  }
  return out;
}

std::string prefix_range_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xFF) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  // Every byte was 0xFF (or the prefix was empty): "\0" means "to the end of the key space".
  return std::string(1, '\0');
}

std::string range_request_body(std::string_view prefix) {
  json j = {{"key", base64_encode(prefix)}, {"range_end", base64_encode(prefix_range_end(prefix))}};
  return j.dump();
}

std::string auth_request_body(std::string_view name, std::string_view password) {
  json j = {{"name", std::string(name)}, {"password", std::string(password)}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::string> etcd_endpoint_url(std::string_view item, int default_port) {
  std::string_view s = item;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '/')) s.remove_suffix(1);
  std::string scheme = "http://";
  if (s.starts_with("http://")) {
    s.remove_prefix(7);
  } else if (s.starts_with("https://")) {
    scheme = "https://";
    s.remove_prefix(8);
  }
  if (s.find('/') != std::string_view::npos || s.find('@') != std::string_view::npos) {
    // No paths; no userinfo (credentials go in etcd.username/password, never in a URL).
    return make_status(Code::kInvalid,
                       "etcd.hosts: item must be host[:port] or a URL without "
                       "path or user info");
  }
  auto addr = parse_host_port(s, default_port);
  if (!addr.ok()) return make_status(Code::kInvalid, "etcd.hosts: " + addr.status().message());
  return scheme + addr->to_string();
}

Result<EtcdRangeReply> parse_range_reply(std::string_view body) {
  try {
    json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object())
      return make_status(Code::kBadResponse, "etcd range: reply is not an object");
    EtcdRangeReply reply;
    auto header = j.find("header");
    if (header != j.end() && header->is_object() &&
        !read_int64(*header, "revision", &reply.revision)) {
      return make_status(Code::kBadResponse, "etcd range: bad header.revision");
    }
    auto kvs = j.find("kvs");
    if (kvs == j.end() || kvs->is_null()) return reply;
    if (!kvs->is_array()) return make_status(Code::kBadResponse, "etcd range: kvs is not an array");
    for (const json& kv : *kvs) {
      if (!kv.is_object())
        return make_status(Code::kBadResponse, "etcd range: kv is not an object");
      EtcdKv out;
      auto key = kv.find("key");
      auto value = kv.find("value");
      if (key == kv.end() || !key->is_string()) {
        return make_status(Code::kBadResponse, "etcd range: kv without key");
      }
      auto k = base64_decode(key->get_ref<const std::string&>());
      if (!k.ok())
        return make_status(Code::kBadResponse, "etcd range: key: " + k.status().message());
      out.key = std::move(k).value();
      // A key with an empty value omits "value" (proto3 JSON drops empty fields).
      if (value != kv.end() && !value->is_null()) {
        if (!value->is_string()) return make_status(Code::kBadResponse, "etcd range: bad value");
        auto v = base64_decode(value->get_ref<const std::string&>());
        if (!v.ok()) {
          return make_status(Code::kBadResponse, "etcd range: value: " + v.status().message());
        }
        out.value = std::move(v).value();
      }
      if (!read_int64(kv, "mod_revision", &out.mod_revision)) {
        return make_status(Code::kBadResponse, "etcd range: bad mod_revision");
      }
      reply.kvs.push_back(std::move(out));
    }
    return reply;
  } catch (const std::exception& e) {
    return make_status(Code::kBadResponse, std::string("etcd range: ") + e.what());
  }
}

Result<std::string> parse_auth_reply(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return make_status(Code::kBadResponse, "etcd auth: reply is not an object");
  auto token = j.find("token");
  if (token == j.end() || !token->is_string() || token->get_ref<const std::string&>().empty()) {
    return make_status(Code::kBadResponse, "etcd auth: reply has no token");
  }
  return token->get<std::string>();
}

bool is_auth_error(const http::Response& response) {
  if (response.status == 401) return true;
  if (response.status < 400) return false;
  json j = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  auto code = j.find("code");
  if (code != j.end() && code->is_number_integer() && code->get<int64_t>() == 16) return true;
  for (const char* field : {"error", "message"}) {
    auto m = j.find(field);
    if (m == j.end() || !m->is_string()) continue;
    const std::string& text = m->get_ref<const std::string&>();
    if (text.find("invalid auth token") != std::string::npos ||
        text.find("user name is empty") != std::string::npos ||
        text.find("auth token") != std::string::npos) {
      return true;
    }
  }
  return false;
}

Result<WorkerRecord> parse_worker_record(std::string_view value_json) {
  try {
    return parse_worker_record_unchecked(value_json);
  } catch (const std::exception& e) {
    return make_status(Code::kBadResponse, std::string("worker record: ") + e.what());
  }
}

std::vector<WorkerRecord> workers_from_kvs(const std::vector<EtcdKv>& kvs, size_t* skipped) {
  std::map<WorkerIdentity, WorkerRecord> by_identity;
  size_t bad = 0;
  for (const EtcdKv& kv : kvs) {
    auto rec = parse_worker_record(kv.value);
    if (!rec.ok()) {
      ++bad;
      spdlog::warn("etcd: skipping worker entry \"{}\": {}", printable(kv.key),
                   rec.status().message());
      continue;
    }
    rec->etcd_key = kv.key;
    rec->mod_revision = kv.mod_revision;
    // One record per identity: the first seen, replaced by any with a larger mod_revision.
    auto [it, inserted] = by_identity.try_emplace(rec->identity);
    if (inserted || rec->mod_revision > it->second.mod_revision) {
      it->second = std::move(rec).value();
    }
  }
  if (skipped != nullptr) *skipped = bad;
  std::vector<WorkerRecord> out;
  out.reserve(by_identity.size());
  for (auto& [identity, rec] : by_identity) out.push_back(std::move(rec));
  return out;
}

}  // namespace alluxio_fuse::cluster
