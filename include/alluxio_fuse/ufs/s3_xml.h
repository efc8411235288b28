#pragma once
// The S3 XML replies the S3 store reads (ListObjectsV2, Error, InitiateMultipartUpload,
// CompleteMultipartUpload, CopyObject, DeleteObjects), parsed strictly enough to reject
// malformed or truncated bodies (kBadResponse) and loosely enough to ignore unknown elements.
// The parser is a small non-validating one: elements, text, entities and CDATA; attributes,
// comments, processing instructions and namespace prefixes are skipped.
//
// Thread-safety: pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alluxio_fuse/common/status.h"

namespace alluxio_fuse::ufs {

struct XmlNode {
  std::string name;  // local name (namespace prefix dropped)
  std::string text;  // concatenated character data directly inside, entities decoded
  std::vector<XmlNode> children;

  // First child with this name, or nullptr.
  const XmlNode* child(std::string_view name) const;
  // Text of the first child with this name, or "".
  std::string child_text(std::string_view name) const;
};

// Parses one document; kBadResponse when malformed, truncated, or nested deeper than 32.
common::Result<XmlNode> parse_xml(std::string_view xml);

struct ListedObject {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // quotes removed
  int64_t mtime_ms = 0;
};

struct ListPage {
  std::vector<ListedObject> contents;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_token;  // NextContinuationToken; required when truncated
};

// A ListBucketResult (ListObjectsV2). Keys are returned exactly as sent; the caller decides
// which names are acceptable.
common::Result<ListPage> parse_list_page(std::string_view xml);

struct S3ErrorBody {
  std::string code;     // "NoSuchKey", "AccessDenied", ...
  std::string message;  // the server's Message (never contains credentials)
  std::string region;   // Region, when a redirect names it
};

// An <Error> document, or nullopt when the body is not one.
std::optional<S3ErrorBody> parse_error_body(std::string_view xml);

// UploadId of an InitiateMultipartUploadResult.
common::Result<std::string> parse_upload_id(std::string_view xml);

// Keys a DeleteResult reports as failed, with their codes.
common::Result<std::vector<std::pair<std::string, S3ErrorBody>>> parse_delete_errors(
    std::string_view xml);

// Escapes & < > " ' for an XML body we send.
std::string xml_escape(std::string_view s);

// "2009-10-12T17:50:30.000Z" → milliseconds since the epoch; 0 when unparsable.
int64_t parse_iso8601_ms(std::string_view s);
// "Wed, 12 Oct 2009 17:50:00 GMT" (Last-Modified) → milliseconds since the epoch; 0 when not.
int64_t parse_http_date_ms(std::string_view s);

}  // namespace alluxio_fuse::ufs
