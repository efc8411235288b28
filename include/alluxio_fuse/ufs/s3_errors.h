#pragma once
// The one place where S3 replies become store codes: the HTTP state and status, the <Error>
// document's Code, and whether the S3 store should retry the attempt (5xx, SlowDown, 429,
// RequestTimeout, timeouts, refused or dropped connections).
//
// Thread-safety: pure functions.

#include <string>

#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/http/client.h"

namespace alluxio_fuse::ufs {

struct S3Outcome {
  common::Code code = common::Code::kOk;
  bool retry = false;
  std::string s3_code;  // the <Error><Code>, when the body had one
  std::string detail;   // for messages: "AccessDenied: Access Denied" or the transport error
};

// Classifies one attempt. kOk for 2xx (a 200 whose body is an <Error> document — CopyObject and
// CompleteMultipartUpload can answer that way — is classified from that document).
S3Outcome classify_s3(const http::Response& response);

// Code of an S3 error Code string (AccessDenied → kPermission, NoSuchKey → kNotFound, ...);
// `status` decides for unknown codes.
common::Code code_of_s3_error(std::string_view s3_code, long status);
// Whether an error Code is worth retrying (SlowDown, InternalError, RequestTimeout, ...).
bool s3_error_retryable(std::string_view s3_code);

}  // namespace alluxio_fuse::ufs
