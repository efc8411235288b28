// Names of status codes, kept beside the enum's only definition.
#include "alluxio_fuse/common/status.h"

namespace alluxio_fuse::common {

std::string_view to_string(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kNotFound:
      return "not_found";
    case Code::kExists:
      return "exists";
    case Code::kNotEmpty:
      return "not_empty";
    case Code::kNotDir:
      return "not_dir";
    case Code::kIsDir:
      return "is_dir";
    case Code::kPermission:
      return "permission";
    case Code::kNotPermitted:
      return "not_permitted";
    case Code::kInvalid:
      return "invalid";
    case Code::kNameTooLong:
      return "name_too_long";
    case Code::kUnsupported:
      return "unsupported";
    case Code::kReadOnly:
      return "read_only";
    case Code::kNoSpace:
      return "no_space";
    case Code::kTooLarge:
      return "too_large";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kTimeout:
      return "timeout";
    case Code::kMiss:
      return "miss";
    case Code::kServerError:
      return "server_error";
    case Code::kBadResponse:
      return "bad_response";
    case Code::kIo:
      return "io";
    case Code::kPrecondition:
      return "precondition";
    case Code::kStale:
      return "stale";
    case Code::kBadHandle:
      return "bad_handle";
    case Code::kInterrupted:
      return "interrupted";
    case Code::kNoData:
      return "no_data";
    case Code::kRange:
      return "range";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  std::string out(common::to_string(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

namespace {
constexpr Code kFallbackClasses[] = {Code::kUnavailable, Code::kTimeout, Code::kMiss,
                                     Code::kServerError, Code::kUnsupported};
}  // namespace

bool is_fallback_class(Code code) {
  for (Code c : kFallbackClasses) {
    if (c == code) return true;
  }
  return false;
}

std::string_view fallback_class_name(Code code) {
  return is_fallback_class(code) ? to_string(code) : std::string_view();
}

bool parse_fallback_class(std::string_view name, Code& out) {
  for (Code c : kFallbackClasses) {
    if (name == to_string(c)) {
      out = c;
      return true;
    }
  }
  return false;
}

}  // namespace alluxio_fuse::common
