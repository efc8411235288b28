#include "alluxio_fuse/fuse/errno_map.h"

#include <cerrno>

namespace alluxio_fuse::fuse {

using common::Code;

int to_errno(const common::Status& status) {
  switch (status.code()) {
    case Code::kOk:
      return 0;
    case Code::kNotFound:
      return ENOENT;
    case Code::kExists:
      return EEXIST;
    case Code::kNotEmpty:
      return ENOTEMPTY;
    case Code::kNotDir:
      return ENOTDIR;
    case Code::kIsDir:
      return EISDIR;
    case Code::kPermission:
      return EACCES;
    case Code::kNotPermitted:
      return EPERM;
    case Code::kInvalid:
      return EINVAL;
    case Code::kNameTooLong:
      return ENAMETOOLONG;
    case Code::kUnsupported:
      return ENOTSUP;
    case Code::kReadOnly:
      return EROFS;
    case Code::kNoSpace:
      return ENOSPC;
    case Code::kTooLarge:
      return EFBIG;
    case Code::kStale:
      return ESTALE;
    case Code::kBadHandle:
      return EBADF;
    case Code::kInterrupted:
      return EINTR;
    case Code::kNoData:
      return ENODATA;
    case Code::kRange:
      return ERANGE;
    // Everything that means "the data could not be had": workers down with no fallback,
    // deadlines, 5xx, 412, malformed or hostile replies.
    case Code::kUnavailable:
    case Code::kTimeout:
    case Code::kMiss:
    case Code::kServerError:
    case Code::kBadResponse:
    case Code::kIo:
    case Code::kPrecondition:
      return EIO;
  }
  return EIO;
}

const char* errno_name(int err) {
  switch (err) {
    case ENOENT:
      return "ENOENT";
    case EEXIST:
      return "EEXIST";
    case ENOTEMPTY:
      return "ENOTEMPTY";
    case ENOTDIR:
      return "ENOTDIR";
    case EISDIR:
      return "EISDIR";
    case EACCES:
      return "EACCES";
    case EPERM:
      return "EPERM";
    case EINVAL:
      return "EINVAL";
    case ENAMETOOLONG:
      return "ENAMETOOLONG";
    case ENOTSUP:
      return "ENOTSUP";
    case EROFS:
      return "EROFS";
    case ENOSPC:
      return "ENOSPC";
    case EFBIG:
      return "EFBIG";
    case EIO:
      return "EIO";
    case EBADF:
      return "EBADF";
    case ESTALE:
      return "ESTALE";
    case EINTR:
      return "EINTR";
    case ENODATA:
      return "ENODATA";
    case ERANGE:
      return "ERANGE";
    case ENOSYS:
      return "ENOSYS";
    default:
      return "OTHER";
  }
}

}  // namespace alluxio_fuse::fuse
