// Label tables of metrics.md. Each enum indexes a constant array of its label strings; lookups
// by name are linear scans over at most 31 short strings, which only happen on the HTTP
// observer path (the method comes as a string through http::CallObserver) and in tests.

#include "alluxio_fuse/metrics/labels.h"

#include <array>
#include <cerrno>
#include <cstdlib>

namespace alluxio_fuse::metrics {
namespace {

constexpr std::array<std::string_view, kHttpMethodCount> kHttpMethodNames = {
    "info",    "list",     "get_page",   "post_page",  "range",        "chunk_read", "chunk_write",
    "head",    "tail",     "mkdir",      "touch",      "rm",           "mv",         "copy",
    "load",    "node",     "ufs_info",   "etcd_range", "etcd_auth",    "ufs_head",   "ufs_get",
    "ufs_put", "ufs_list", "ufs_delete", "ufs_copy",   "ufs_multipart"};

// Indexed by http::State; the asserts keep the table honest if the enum is ever reordered.
static_assert(static_cast<size_t>(http::State::kOk) == 0 &&
              static_cast<size_t>(http::State::kNotFound) == 1 &&
              static_cast<size_t>(http::State::kHttp4xx) == 2 &&
              static_cast<size_t>(http::State::kHttp5xx) == 3 &&
              static_cast<size_t>(http::State::kRefused) == 4 &&
              static_cast<size_t>(http::State::kTimeout) == 5 &&
              static_cast<size_t>(http::State::kNoReply) == 6 &&
              static_cast<size_t>(http::State::kBadResponse) == kHttpStateCount - 1);
constexpr std::array<std::string_view, kHttpStateCount> kStateNames = {
    "ok", "not_found", "http_4xx", "http_5xx", "refused", "timeout", "no_reply", "bad_response"};

constexpr std::array<std::string_view, kOpCount> kOpNames = {
    "lookup",     "forget",    "getattr",  "setattr",     "readdir", "readdirplus", "opendir",
    "releasedir", "open",      "create",   "read",        "write",   "flush",       "release",
    "fsync",      "fsyncdir",  "mkdir",    "rmdir",       "unlink",  "rename",      "statfs",
    "getxattr",   "listxattr", "setxattr", "removexattr", "symlink", "link",        "readlink",
    "mknod",      "fallocate", "other"};

struct ErrnoEntry {
  int value;
  std::string_view name;
};
// Indexed by ErrnoLabel (kOTHER has no value of its own).
constexpr std::array<ErrnoEntry, kErrnoLabelCount - 1> kErrnos = {{
    {ENOENT, "ENOENT"},   {EEXIST, "EEXIST"}, {ENOTEMPTY, "ENOTEMPTY"},
    {ENOTDIR, "ENOTDIR"}, {EISDIR, "EISDIR"}, {EACCES, "EACCES"},
    {EPERM, "EPERM"},     {EINVAL, "EINVAL"}, {ENAMETOOLONG, "ENAMETOOLONG"},
    {ENOTSUP, "ENOTSUP"}, {EROFS, "EROFS"},   {ENOSPC, "ENOSPC"},
    {EFBIG, "EFBIG"},     {EIO, "EIO"},       {EBADF, "EBADF"},
    {ESTALE, "ESTALE"},   {EINTR, "EINTR"},   {ENODATA, "ENODATA"},
    {ERANGE, "ERANGE"},   {ENOSYS, "ENOSYS"},
}};

constexpr std::array<std::string_view, kSourceCount> kSourceNames = {"cache", "worker", "ufs"};
constexpr std::array<std::string_view, kFallbackReasonCount> kFallbackNames = {
    "unavailable", "timeout", "miss", "server_error", "unsupported"};
constexpr std::array<std::string_view, kMetadataHitCount> kMetadataHitNames = {"positive",
                                                                               "negative"};
constexpr std::array<std::string_view, kRefreshResultCount> kRefreshNames = {"changed", "unchanged",
                                                                             "error"};
constexpr std::array<std::string_view, kCommitResultCount> kCommitNames = {"ok", "error"};

// Out-of-range enumerators (only reachable through a cast) map to the last valid entry.
template <typename E, size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, E value) {
  auto i = static_cast<size_t>(value);
  return i < N ? names[i] : names[N - 1];
}

}  // namespace

std::string_view to_string(HttpMethod method) { return name_of(kHttpMethodNames, method); }

std::optional<HttpMethod> http_method_from_name(std::string_view name) {
  for (size_t i = 0; i < kHttpMethodNames.size(); ++i) {
    if (kHttpMethodNames[i] == name) return static_cast<HttpMethod>(i);
  }
  return std::nullopt;
}

std::string_view state_label(http::State state) { return name_of(kStateNames, state); }

bool is_success(http::State state) {
  return state == http::State::kOk || state == http::State::kNotFound;
}

std::string_view to_string(Op op) { return name_of(kOpNames, op); }

Op op_from_name(std::string_view name) {
  for (size_t i = 0; i < kOpNames.size(); ++i) {
    if (kOpNames[i] == name) return static_cast<Op>(i);
  }
  return Op::kOther;
}

std::string_view to_string(ErrnoLabel label) {
  auto i = static_cast<size_t>(label);
  return i < kErrnos.size() ? kErrnos[i].name : std::string_view("OTHER");
}

ErrnoLabel errno_label(int error) {
  int e = std::abs(error);
  for (size_t i = 0; i < kErrnos.size(); ++i) {
    if (kErrnos[i].value == e) return static_cast<ErrnoLabel>(i);
  }
  // EOPNOTSUPP equals ENOTSUP on Linux; keep the alias explicit for other platforms.
  if (e == EOPNOTSUPP) return ErrnoLabel::kENOTSUP;
  return ErrnoLabel::kOTHER;
}

std::string_view to_string(Source source) { return name_of(kSourceNames, source); }
std::string_view to_string(FallbackReason reason) { return name_of(kFallbackNames, reason); }

std::optional<FallbackReason> fallback_reason(common::Code code) {
  switch (code) {
    case common::Code::kUnavailable:
      return FallbackReason::kUnavailable;
    case common::Code::kTimeout:
      return FallbackReason::kTimeout;
    case common::Code::kMiss:
      return FallbackReason::kMiss;
    case common::Code::kServerError:
      return FallbackReason::kServerError;
    case common::Code::kUnsupported:
      return FallbackReason::kUnsupported;
    default:
      return std::nullopt;
  }
}

std::string_view to_string(MetadataHit kind) { return name_of(kMetadataHitNames, kind); }
std::string_view to_string(RefreshResult result) { return name_of(kRefreshNames, result); }
std::string_view to_string(CommitResult result) { return name_of(kCommitNames, result); }

}  // namespace alluxio_fuse::metrics
