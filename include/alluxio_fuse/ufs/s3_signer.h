#pragma once
// AWS Signature Version 4 (header signing) over OpenSSL, so S3 requests can go through the
// shared http::Client like every other call. Pure functions: the caller supplies the time, the
// already-encoded path and query exactly as they will be sent, and every header to be signed.
// Checked against AWS's published SigV4 test-suite vectors (tests/unit/ufs_s3_signer_test.cc).
//
// Thread-safety: pure functions. Secrets are inputs only: nothing here logs or returns them.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace alluxio_fuse::ufs {

struct SigV4Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty when none; the caller adds x-amz-security-token
};

struct SigV4Request {
  std::string method;           // "GET", "PUT", ...
  std::string canonical_uri;    // the path as sent, already URI-encoded ("/" when empty)
  std::string canonical_query;  // as sent, already canonical (canonical_query_string)
  // Headers to sign (names in any case). Must include host and x-amz-date; S3 also needs
  // x-amz-content-sha256. All of them are signed.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_hash;  // lowercase hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

struct SigV4Result {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-date"
  std::string signature;       // lowercase hex
  std::string authorization;   // the Authorization header value
};

// `amz_date` is "YYYYMMDDTHHMMSSZ"; its first 8 characters are the scope date.
SigV4Result sign_v4(const SigV4Request& request, const SigV4Credentials& credentials,
                    std::string_view region, std::string_view service, std::string_view amz_date);

// SigV4 URI encoding: every byte but A-Z a-z 0-9 - . _ ~ becomes %XX (uppercase hex); '/' is
// kept when `keep_slash` (object key paths), encoded otherwise (query names and values).
std::string aws_uri_encode(std::string_view s, bool keep_slash);

// The canonical query string of raw (unencoded) parameters: each name and value encoded,
// sorted by encoded name then value, joined as "a=1&b=" (a parameter without value gets "=").
// The same string is what goes on the wire, so server and signer see identical bytes.
std::string canonical_query_string(std::vector<std::pair<std::string, std::string>> params);

// "YYYYMMDDTHHMMSSZ" in UTC.
std::string format_amz_date(std::chrono::system_clock::time_point when);

// Raw HMAC-SHA256 and the SigV4 signing key (raw), exposed for tests.
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string sigv4_signing_key(std::string_view secret, std::string_view date,
                              std::string_view region, std::string_view service);

// Lowercase hex SHA-256 of the empty string (the payload hash of a body-less request).
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

}  // namespace alluxio_fuse::ufs
