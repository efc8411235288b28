#pragma once
// The closed label sets of metrics.md: every label value the daemon can ever expose is an
// enumerator here, so no caller can invent one (no paths, keys, addresses or free text).
// Each enum ends with kCount, used to size the arrays of pre-resolved series.
// Thread-safety: pure functions over constant tables.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/http/client.h"

namespace alluxio_fuse::metrics {

// `method` of alluxio_http_server_* (metrics.md §1): one per kind of HTTP call the daemon makes.
enum class HttpMethod : uint8_t {
  // worker REST
  kInfo,
  kList,
  kGetPage,
  kPostPage,
  kRange,
  kChunkRead,
  kChunkWrite,
  kHead,
  kTail,
  kMkdir,
  kTouch,
  kRm,
  kMv,
  kCopy,
  kLoad,
  kNode,
  kUfsInfo,
  // etcd gateway
  kEtcdRange,
  kEtcdAuth,
  // S3 UFS
  kUfsHead,
  kUfsGet,
  kUfsPut,
  kUfsList,
  kUfsDelete,
  kUfsCopy,
  kUfsMultipart,
  kCount
};
inline constexpr size_t kHttpMethodCount = static_cast<size_t>(HttpMethod::kCount);
std::string_view to_string(HttpMethod method);
// The label string as used in http::Request::metric_method; nullopt for anything else.
std::optional<HttpMethod> http_method_from_name(std::string_view name);

// `state` label: the reply classes of http::State (worker-rest.md §4.1).
inline constexpr size_t kHttpStateCount = 8;
// Lowercase label value ("ok", "not_found", "http_4xx", ...).
std::string_view state_label(http::State state);
// `success` label: true when the server answered correctly (ok, or an authoritative not_found).
bool is_success(http::State state);

// `op` of alluxio_fuse_op_* (metrics.md §2): the FUSE requests; kOther for the rest.
enum class Op : uint8_t {
  kLookup,
  kForget,
  kGetattr,
  kSetattr,
  kReaddir,
  kReaddirplus,
  kOpendir,
  kReleasedir,
  kOpen,
  kCreate,
  kRead,
  kWrite,
  kFlush,
  kRelease,
  kFsync,
  kFsyncdir,
  kMkdir,
  kRmdir,
  kUnlink,
  kRename,
  kStatfs,
  kGetxattr,
  kListxattr,
  kSetxattr,
  kRemovexattr,
  kSymlink,
  kLink,
  kReadlink,
  kMknod,
  kFallocate,
  kOther,
  kCount
};
inline constexpr size_t kOpCount = static_cast<size_t>(Op::kCount);
std::string_view to_string(Op op);
// Lowercase op name ("readdirplus"); Op::kOther for any name outside the closed set.
Op op_from_name(std::string_view name);

// `errno` label of alluxio_fuse_op_errors_total: index into the closed set of errno names.
enum class ErrnoLabel : uint8_t {
  kENOENT,
  kEEXIST,
  kENOTEMPTY,
  kENOTDIR,
  kEISDIR,
  kEACCES,
  kEPERM,
  kEINVAL,
  kENAMETOOLONG,
  kENOTSUP,
  kEROFS,
  kENOSPC,
  kEFBIG,
  kEIO,
  kEBADF,
  kESTALE,
  kEINTR,
  kENODATA,
  kERANGE,
  kENOSYS,
  kOTHER,
  kCount
};
inline constexpr size_t kErrnoLabelCount = static_cast<size_t>(ErrnoLabel::kCount);
std::string_view to_string(ErrnoLabel label);
// Maps an errno value (positive, or negative as libfuse replies carry it) to its label;
// anything outside the closed set is kOTHER.
ErrnoLabel errno_label(int error);

// `source` of alluxio_fuse_read_bytes_total (all three) and _fetch_bytes_total (worker, ufs).
enum class Source : uint8_t { kCache, kWorker, kUfs, kCount };
inline constexpr size_t kSourceCount = static_cast<size_t>(Source::kCount);
std::string_view to_string(Source source);

// `reason` of alluxio_fuse_ufs_fallback_total.
enum class FallbackReason : uint8_t {
  kUnavailable,
  kTimeout,
  kMiss,
  kServerError,
  kUnsupported,
  kCount
};
inline constexpr size_t kFallbackReasonCount = static_cast<size_t>(FallbackReason::kCount);
std::string_view to_string(FallbackReason reason);
// The reason for a failure class that may fall back (config.md `fallback.on`); nullopt for
// codes that never fall back (not_found, permission, invalid, exists, ...).
std::optional<FallbackReason> fallback_reason(common::Code code);

// `kind` of alluxio_fuse_metadata_cache_hits_total.
enum class MetadataHit : uint8_t { kPositive, kNegative, kCount };
inline constexpr size_t kMetadataHitCount = static_cast<size_t>(MetadataHit::kCount);
std::string_view to_string(MetadataHit kind);

// `result` of alluxio_fuse_membership_refresh_total.
enum class RefreshResult : uint8_t { kChanged, kUnchanged, kError, kCount };
inline constexpr size_t kRefreshResultCount = static_cast<size_t>(RefreshResult::kCount);
std::string_view to_string(RefreshResult result);

// `result` of alluxio_fuse_write_commits_total.
enum class CommitResult : uint8_t { kOk, kError, kCount };
inline constexpr size_t kCommitResultCount = static_cast<size_t>(CommitResult::kCount);
std::string_view to_string(CommitResult result);

}  // namespace alluxio_fuse::metrics
