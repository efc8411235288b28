// Design note: S3 error codes first (they are precise: a 400 can be RequestTimeout, which is
// worth a retry, or InvalidArgument, which is not), then the HTTP status for bodies without a
// code (HEAD replies never have one), then the transport state. Credentials never reach this
// file: only the server's Code and Message are kept.
#include "alluxio_fuse/ufs/s3_errors.h"

#include <array>
#include <utility>

#include "alluxio_fuse/ufs/s3_xml.h"

namespace alluxio_fuse::ufs {

using common::Code;

namespace {

struct Entry {
  std::string_view s3_code;
  Code code;
  bool retry;
};

constexpr std::array kTable = {
    Entry{"AccessDenied", Code::kPermission, false},
    Entry{"AllAccessDisabled", Code::kPermission, false},
    Entry{"AccountProblem", Code::kPermission, false},
    Entry{"InvalidAccessKeyId", Code::kPermission, false},
    Entry{"SignatureDoesNotMatch", Code::kPermission, false},
    Entry{"ExpiredToken", Code::kPermission, false},
    Entry{"InvalidToken", Code::kPermission, false},
    Entry{"TokenRefreshRequired", Code::kPermission, false},
    Entry{"RequestTimeTooSkewed", Code::kPermission, false},
    Entry{"InvalidSecurity", Code::kPermission, false},
    Entry{"NotSignedUp", Code::kPermission, false}, Entry{"NoSuchKey", Code::kNotFound, false},
    Entry{"NoSuchBucket", Code::kNotFound, false}, Entry{"NoSuchUpload", Code::kNotFound, false},
    Entry{"SlowDown", Code::kUnavailable, true},
    Entry{"ServiceUnavailable", Code::kUnavailable, true},
    Entry{"Throttling", Code::kUnavailable, true},
    Entry{"ThrottlingException", Code::kUnavailable, true},
    Entry{"RequestLimitExceeded", Code::kUnavailable, true},
    Entry{"OperationAborted", Code::kUnavailable, true},
    Entry{"InternalError", Code::kServerError, true}, Entry{"RequestTimeout", Code::kTimeout, true},
    Entry{"KeyTooLongError", Code::kNameTooLong, false},
    Entry{"EntityTooLarge", Code::kTooLarge, false}, Entry{"EntityTooSmall", Code::kInvalid, false},
    Entry{"InvalidArgument", Code::kInvalid, false}, Entry{"InvalidRequest", Code::kInvalid, false},
    Entry{"InvalidBucketName", Code::kInvalid, false}, Entry{"MalformedXML", Code::kInvalid, false},
    Entry{"InvalidPart", Code::kInvalid, false}, Entry{"InvalidPartOrder", Code::kInvalid, false},
    // A bucket in another region: a configuration error, not a transient one.
    Entry{"PermanentRedirect", Code::kInvalid, false},
    Entry{"AuthorizationHeaderMalformed", Code::kInvalid, false},
    Entry{"InvalidRange", Code::kRange, false},
    Entry{"PreconditionFailed", Code::kPrecondition, false},
    Entry{"NotImplemented", Code::kUnsupported, false},
    Entry{"MethodNotAllowed", Code::kUnsupported, false},
    Entry{"InvalidObjectState", Code::kPermission, false},  // archived (Glacier) objects
};

const Entry* find(std::string_view s3_code) {
  for (const auto& e : kTable) {
    if (e.s3_code == s3_code) return &e;
  }
  return nullptr;
}

Code code_of_status(long status) {
  if (status == 401 || status == 403) return Code::kPermission;
  if (status == 404) return Code::kNotFound;
  if (status == 400) return Code::kInvalid;
  if (status == 405 || status == 501) return Code::kUnsupported;
  if (status == 412) return Code::kPrecondition;
  if (status == 416) return Code::kRange;
  if (status == 429 || status == 503) return Code::kUnavailable;
  if (status >= 500) return Code::kServerError;
  return Code::kIo;
}

}  // namespace

Code code_of_s3_error(std::string_view s3_code, long status) {
  const Entry* e = find(s3_code);
  return e != nullptr ? e->code : code_of_status(status);
}

bool s3_error_retryable(std::string_view s3_code) {
  const Entry* e = find(s3_code);
  return e != nullptr && e->retry;
}

S3Outcome classify_s3(const http::Response& r) {
  S3Outcome out;
  switch (r.state) {
    case http::State::kOk: {
      // CopyObject and CompleteMultipartUpload may fail after sending 200.
      if (r.body.find("<Error>") != std::string::npos) {
        if (auto e = parse_error_body(r.body)) {
          out.s3_code = e->code;
          out.code = code_of_s3_error(e->code, 500);
          out.retry = s3_error_retryable(e->code) || out.code == Code::kServerError;
          out.detail = e->code + ": " + e->message;
        }
      }
      return out;
    }
    case http::State::kNotFound:
    case http::State::kHttp4xx:
    case http::State::kHttp5xx: {
      out.code = code_of_status(r.status);
      out.retry = r.status >= 500 || r.status == 429;
      out.detail = "HTTP " + std::to_string(r.status);
      if (auto e = parse_error_body(r.body)) {
        out.s3_code = e->code;
        out.code = code_of_s3_error(e->code, r.status);
        // A known code decides (a 501 NotImplemented is final); an unknown one keeps the
        // status's answer.
        if (find(e->code) != nullptr) out.retry = s3_error_retryable(e->code);
        out.detail = e->code + ": " + e->message;
        if (!e->region.empty()) out.detail += " (bucket region " + e->region + ")";
      }
      if (std::string region = r.header("x-amz-bucket-region");
          !region.empty() && out.code == Code::kInvalid) {
        out.detail += " (bucket region " + region + ")";
      }
      return out;
    }
    case http::State::kTimeout:
      out.code = Code::kTimeout;
      out.retry = true;
      break;
    case http::State::kRefused:
    case http::State::kNoReply:
      out.code = Code::kUnavailable;
      out.retry = true;
      break;
    case http::State::kBadResponse:
      out.code = Code::kBadResponse;
      // A 3xx (a bucket in another region) is not transient.
      out.retry = r.status == 0 || r.status >= 500;
      if (r.status >= 300 && r.status < 400) {
        out.code = Code::kInvalid;
        out.detail = "HTTP " + std::to_string(r.status) + " redirect";
        if (auto e = parse_error_body(r.body)) out.detail = e->code + ": " + e->message;
        if (std::string region = r.header("x-amz-bucket-region"); !region.empty()) {
          out.detail += " (bucket region " + region + ")";
        }
        return out;
      }
      break;
  }
  out.detail = std::string(http::to_string(r.state)) + (r.error.empty() ? "" : ": " + r.error);
  return out;
}

}  // namespace alluxio_fuse::ufs
