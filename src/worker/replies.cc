// Parsing of the non-file-info replies (/v1/node, /v1/load, /v1/ufsInfo) and the single mapping
// from a reply class to a core error code (worker-rest.md §4.2).
#include <nlohmann/json.hpp>

#include "alluxio_fuse/worker/wire.h"

namespace alluxio_fuse::worker {
namespace {

using common::Code;
using common::Result;
using common::Status;
using nlohmann::json;

constexpr size_t kErrorTextBytes = 200;

Result<json> parse_json(std::string_view body, std::string_view what) {
  auto clean = sanitize_json(body);
  if (!clean.ok())
    return Status(Code::kBadResponse, std::string(what) + ": " + clean.status().message());
  json doc = json::parse(clean.value(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status(Code::kBadResponse, std::string(what) + ": malformed JSON");
  return doc;
}

std::string escape_controls(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) {
      out.append("\\x").push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

std::string strip_trailing_slashes(std::string s) {
  while (s.size() > 1 && s.back() == '/' && !s.ends_with(":///") && !s.ends_with("://")) {
    s.pop_back();
  }
  return s;
}

const json* find_path(const json& root, std::initializer_list<const char*> keys) {
  const json* cur = &root;
  for (const char* k : keys) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(k);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

}  // namespace

std::string error_text(std::string_view body) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    auto it = doc.find("message");
    if (it != doc.end() && it->is_string()) {
      std::string msg = it->get<std::string>();
      if (msg.size() > kErrorTextBytes) msg.resize(kErrorTextBytes);
      return escape_controls(msg);
    }
  }
  return escape_controls(body.substr(0, kErrorTextBytes));
}

Status map_reply(const http::Response& response, bool enterprise, std::string_view op,
                 std::string_view key) {
  Code code = Code::kOk;
  switch (response.state) {
    case http::State::kOk:
      return Status::Ok();
    case http::State::kNotFound:
      code = Code::kNotFound;
      break;
    case http::State::kHttp4xx:
      switch (response.status) {
        case 401:
        case 403:
          code = Code::kPermission;
          break;
        case 409:
          code = Code::kExists;
          break;
        case 412:
          code = Code::kPrecondition;
          break;
        case 413:
          code = Code::kTooLarge;
          break;
        default:
          code = Code::kInvalid;  // 400 and any other 4xx: the request is wrong for this path
      }
      break;
    case http::State::kHttp5xx:
      code = response.status == 503   ? Code::kUnavailable
             : response.status == 507 ? Code::kNoSpace
                                      : Code::kServerError;
      break;
    case http::State::kRefused:
      code = Code::kUnavailable;
      break;
    case http::State::kTimeout:
      code = Code::kTimeout;
      break;
    case http::State::kNoReply:
      code = enterprise ? Code::kBadResponse : Code::kMiss;
      break;
    case http::State::kBadResponse:
      code = Code::kBadResponse;
      break;
  }
  // §3.11: a non-empty directory is refused with 409 or 400.
  if (op == "rm" && (code == Code::kExists || code == Code::kInvalid)) code = Code::kNotEmpty;

  std::string msg(op);
  msg.append(" ").append(key).append(": ").append(http::to_string(response.state));
  if (response.status != 0) msg.append(" HTTP ").append(std::to_string(response.status));
  std::string detail = response.status != 0 && response.state != http::State::kBadResponse
                           ? error_text(response.body)
                           : escape_controls(response.error);
  if (!detail.empty()) msg.append(": ").append(detail);
  return Status(code, std::move(msg));
}

Result<WorkerAddress> parse_node(std::string_view body, int default_port) {
  auto doc = parse_json(body, "node");
  if (!doc.ok()) return doc.status();
  const json* addr = &doc.value();
  if (addr->is_array()) {  // the 2025-08 shape
    if (addr->empty()) return Status(Code::kBadResponse, "node: empty array");
    addr = find_path((*addr)[0], {"mBlockInfo", "mBlockInfo", "mLocations"});
    if (addr == nullptr || !addr->is_array() || addr->empty()) {
      return Status(Code::kBadResponse, "node: no block locations");
    }
    addr = find_path((*addr)[0], {"mWorkerAddress"});
    if (addr == nullptr) return Status(Code::kBadResponse, "node: no worker address");
  }
  if (!addr->is_object()) return Status(Code::kBadResponse, "node: reply is not an object");
  WorkerAddress out;
  out.port = default_port;
  auto host = addr->find("Host");
  if (host == addr->end() || !host->is_string() || host->get<std::string>().empty()) {
    return Status(Code::kBadResponse, "node: missing Host");
  }
  out.host = host->get<std::string>();
  auto port = addr->find("HttpServerPort");
  if (port != addr->end() && !port->is_null()) {
    if (!port->is_number_integer() || port->get<int64_t>() < 1 || port->get<int64_t>() > 65535) {
      return Status(Code::kBadResponse, "node: invalid HttpServerPort");
    }
    out.port = static_cast<int>(port->get<int64_t>());
  }
  return out;
}

std::string_view to_string(LoadState state) {
  switch (state) {
    case LoadState::kRunning:
      return "RUNNING";
    case LoadState::kVerifying:
      return "VERIFYING";
    case LoadState::kStopped:
      return "STOPPED";
    case LoadState::kSucceeded:
      return "SUCCEEDED";
    case LoadState::kFailed:
      return "FAILED";
    case LoadState::kUnknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

Result<LoadProgress> parse_load_progress(std::string_view body) {
  auto doc = parse_json(body, "load progress");
  if (!doc.ok()) return doc.status();
  if (!doc->is_object()) return Status(Code::kBadResponse, "load progress: not an object");
  auto state = doc->find("jobState");
  if (state == doc->end() || !state->is_string()) {
    return Status(Code::kBadResponse, "load progress: missing jobState");
  }
  LoadProgress out;
  out.raw_state = state->get<std::string>();
  if (out.raw_state.find("FAILED") != std::string::npos) {
    out.state = LoadState::kFailed;
  } else if (out.raw_state == "RUNNING") {
    out.state = LoadState::kRunning;
  } else if (out.raw_state == "VERIFYING") {
    out.state = LoadState::kVerifying;
  } else if (out.raw_state == "STOPPED") {
    out.state = LoadState::kStopped;
  } else if (out.raw_state == "SUCCEEDED") {
    out.state = LoadState::kSucceeded;
  }  // else kUnknown: keep polling [decision]
  auto msg = doc->find("message");
  if (msg != doc->end() && msg->is_string()) out.message = msg->get<std::string>();
  auto props = doc->find("respProperties");
  if (props != doc->end() && props->is_object()) {
    for (const auto& [k, v] : props->items()) {
      out.properties.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  return out;
}

Result<std::string> parse_load_ack(std::string_view body) {
  auto doc = parse_json(body, "load");
  if (!doc.ok()) return doc.status();
  if (!doc->is_object()) return Status(Code::kBadResponse, "load: not an object");
  auto success = doc->find("success");
  if (success == doc->end() || !success->is_boolean()) {
    return Status(Code::kBadResponse, "load: missing success");
  }
  if (!success->get<bool>()) return Status(Code::kIo, "load refused: " + error_text(body));
  auto job = doc->find("jobId");
  return job != doc->end() && job->is_string() ? job->get<std::string>() : std::string();
}

Result<std::vector<UfsMount>> parse_ufs_info(std::string_view body) {
  auto doc = parse_json(body, "ufsInfo");
  if (!doc.ok()) return doc.status();
  if (!doc->is_object()) return Status(Code::kBadResponse, "ufsInfo: not an object");
  std::vector<UfsMount> mounts;
  for (const auto& [uri, value] : doc->items()) {
    if (!value.is_object()) return Status(Code::kBadResponse, "ufsInfo: mount is not an object");
    UfsMount m;
    m.ufs_uri = strip_trailing_slashes(uri);
    struct Field {
      const char* name;
      std::string* out;
    } fields[] = {{"alluxio_path", &m.alluxio_path},
                  {"endpoint", &m.endpoint},
                  {"access_key", &m.access_key},
                  {"secret_key", &m.secret_key}};
    for (const auto& f : fields) {
      auto it = value.find(f.name);
      if (it == value.end() || it->is_null()) continue;
      // The message names the field, never its value: these may be credentials.
      if (!it->is_string()) {
        return Status(Code::kBadResponse, std::string("ufsInfo: ") + f.name + " is not a string");
      }
      *f.out = it->get<std::string>();
    }
    m.alluxio_path = strip_trailing_slashes(std::move(m.alluxio_path));
    mounts.push_back(std::move(m));
  }
  return mounts;
}

}  // namespace alluxio_fuse::worker
