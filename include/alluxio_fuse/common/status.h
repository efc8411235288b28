#pragma once
// Status and Result: the one error type that travels from stores through the core to the FUSE
// boundary, where fuse/errno_map turns it into an errno (the only place errno is born).
//
// Thread-safety: value types; safe to copy between threads.

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace alluxio_fuse::common {

// A small closed set. Grow it only when some layer must branch on the new case.
enum class Code {
  kOk = 0,
  kNotFound,      // authoritative absence (404, ENOENT)
  kExists,        // 409, O_EXCL, mkdir of an existing name
  kNotEmpty,      // rmdir / rename over a non-empty directory
  kNotDir,        // a path component is a file
  kIsDir,         // a directory where a file is needed
  kPermission,    // 401/403, AccessDenied
  kNotPermitted,  // EPERM: a change the backend cannot make (chmod, explicit utimens)
  kInvalid,       // 400, bad argument, invalid name
  kNameTooLong,   // component > 255 bytes or key > 4096 bytes
  kUnsupported,   // operation not supported (ENOTSUP)
  kReadOnly,      // EROFS
  kNoSpace,       // ENOSPC
  kTooLarge,      // EFBIG
  kUnavailable,   // refused, 503: try another candidate
  kTimeout,       // connect / total / stall deadline passed
  kMiss,          // open-source worker closed without a reply: not in its cache
  kServerError,   // 5xx other than 503
  kBadResponse,   // malformed or hostile reply
  kIo,            // any other I/O failure
  kPrecondition,  // 412
  kStale,         // unknown inode or handle
  kBadHandle,     // unknown file handle (EBADF)
  kInterrupted,   // the request was cancelled (interrupt, shutdown)
  kNoData,        // xattr absent
  kRange,         // buffer too small
};

// Stable lowercase name for logs and tests.
std::string_view to_string(Code code);

// The failure classes a backend request can end in that `fallback.on` names and the fallback
// metrics count (config.md, metrics.md): unavailable, timeout, miss, server_error, unsupported.
bool is_fallback_class(Code code);
// to_string(code) for a fallback class, "" for any other code.
std::string_view fallback_class_name(Code code);
// The fallback class named `name`, if it is one.
bool parse_fallback_class(std::string_view name, Code& out);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code>: <message>" for log lines.
  std::string to_string() const;

  // Explicitly drop a status whose failure does not matter (the reason goes in a comment).
  void ignore() const {}

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status make_status(Code code, std::string message) {
  return Status(code, std::move(message));
}

// Result<T>: a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value)
      : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    assert(!std::get<1>(v_).ok() && "Result built from an OK status");
  }

  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace alluxio_fuse::common

// Return early from a function returning Status or Result<T> when `expr` (a Status) failed.
#define AF_RETURN_IF_ERROR(expr)                         \
  do {                                                   \
    ::alluxio_fuse::common::Status af_status__ = (expr); \
    if (!af_status__.ok()) return af_status__;           \
  } while (0)
