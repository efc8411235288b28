// Pure helpers of the http contract: the reply-class names (metrics.md §1 `state` label), the
// query encoding of worker-rest.md §2, and header lookup.
#include <cstdio>

#include "alluxio_fuse/http/client.h"

namespace alluxio_fuse::http {

std::string_view to_string(State state) {
  switch (state) {
    case State::kOk:
      return "ok";
    case State::kNotFound:
      return "not_found";
    case State::kHttp4xx:
      return "http_4xx";
    case State::kHttp5xx:
      return "http_5xx";
    case State::kRefused:
      return "refused";
    case State::kTimeout:
      return "timeout";
    case State::kNoReply:
      return "no_reply";
    case State::kBadResponse:
      return "bad_response";
  }
  return "bad_response";
}

std::string Response::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

std::string encode_query_value(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_' || c == '~' || c == '/' || c == ':';
    if (keep) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
  return out;
}

}  // namespace alluxio_fuse::http
