// Fuzzes the S3 XML replies (ufs/s3_xml.h): the generic parser, ListObjectsV2 pages, <Error>
// documents, multipart and DeleteObjects results, and the two date formats.
// Invariants: no crash; failures are kBadResponse; a truncated page carries its continuation
// token; xml_escape output parses back to the original text.
#include <string>

#include "alluxio_fuse/ufs/s3_xml.h"
#include "fuzz_util.h"

using namespace alluxio_fuse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml = fuzz::as_text(data, size);
  auto doc = ufs::parse_xml(xml);
  if (!doc.ok()) AF_FUZZ_CHECK(doc.status().code() == common::Code::kBadResponse);
  auto page = ufs::parse_list_page(xml);
  if (page.ok()) {
    if (page->truncated) AF_FUZZ_CHECK(!page->next_token.empty());
  } else {
    AF_FUZZ_CHECK(page.status().code() == common::Code::kBadResponse);
  }
  (void)ufs::parse_error_body(xml);
  (void)ufs::parse_upload_id(xml);
  (void)ufs::parse_delete_errors(xml);
  (void)ufs::parse_iso8601_ms(xml);
  (void)ufs::parse_http_date_ms(xml);

  // What we send must read back as sent (keys in DeleteObjects and CompleteMultipartUpload).
  if (xml.find('\0') == std::string_view::npos && xml.find('\r') == std::string_view::npos) {
    auto back = ufs::parse_xml("<K>" + ufs::xml_escape(xml) + "</K>");
    AF_FUZZ_CHECK(back.ok());
    AF_FUZZ_CHECK(back->text == xml);
  }
  return 0;
}
