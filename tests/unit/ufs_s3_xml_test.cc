// Parsing of S3 XML replies: ListObjectsV2 pages, error documents, multipart and delete
// results, and hostile or broken bodies (which must fail as kBadResponse, never pass as data).
#include <gtest/gtest.h>

#include "alluxio_fuse/ufs/s3_errors.h"
#include "alluxio_fuse/ufs/s3_xml.h"

namespace alluxio_fuse::ufs {
namespace {

using common::Code;

constexpr const char* kPage = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bkt</Name><Prefix>data/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>
  <Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>
  <Contents><Key>data/</Key><LastModified>2024-01-02T03:04:05.678Z</LastModified>
    <ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size>
    <StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>data/a &amp; b.csv</Key><LastModified>2024-01-02T03:04:05Z</LastModified>
    <ETag>"abc-2"</ETag><Size>77542</Size><Owner><ID>x</ID></Owner></Contents>
  <CommonPrefixes><Prefix>data/sub/</Prefix></CommonPrefixes>
  <CommonPrefixes><Prefix>data/&#25968;&#x636E;/</Prefix></CommonPrefixes>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>)";

TEST(S3Xml, ListPage) {
  auto page = parse_list_page(kPage);
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  ASSERT_EQ(page->contents.size(), 2u);
  EXPECT_EQ(page->contents[0].key, "data/");
  EXPECT_EQ(page->contents[0].etag, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(page->contents[0].mtime_ms, 1704164645678);
  EXPECT_EQ(page->contents[1].key, "data/a & b.csv");
  EXPECT_EQ(page->contents[1].size, 77542u);
  EXPECT_EQ(page->contents[1].etag, "abc-2");
  EXPECT_EQ(page->common_prefixes,
            (std::vector<std::string>{"data/sub/", "data/\xE6\x95\xB0\xE6\x8D\xAE/"}));
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(S3Xml, LastPageAndEmptyPage) {
  auto page = parse_list_page(
      "<ListBucketResult><Name>b</Name><Prefix></Prefix><KeyCount>0</KeyCount>"
      "<IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->contents.empty());
  EXPECT_FALSE(page->truncated);
}

TEST(S3Xml, HostileKeysAreReturnedVerbatimForTheStoreToFilter) {
  // The parser does not interpret keys; ".." and friends reach the store, which drops them
  // (covered in ufs_s3_store_test). Here: they survive decoding unchanged.
  auto page = parse_list_page(
      "<ListBucketResult><IsTruncated>false</IsTruncated>"
      "<Contents><Key>p/..</Key><Size>1</Size></Contents>"
      "<Contents><Key>p/../../etc/passwd</Key><Size>1</Size></Contents>"
      "<CommonPrefixes><Prefix>p/../</Prefix></CommonPrefixes></ListBucketResult>");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->contents[1].key, "p/../../etc/passwd");
  EXPECT_EQ(page->common_prefixes[0], "p/../");
}

TEST(S3Xml, BrokenBodiesAreBadResponses) {
  for (const char* body : {
           "",
           "<ListBucketResult>",                                                    // truncated
           "<ListBucketResult><Contents><Key>a</Key></ListBucketResult>",           // mismatched
           "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",  // no token
           "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",  // no Key
           "<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>a&bogus;</Key></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>&#0;</Key></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>&#xD800;</Key></Contents></ListBucketResult>",
           "<ListBucketResult></ListBucketResult><extra/>",
           "<Error><Code>AccessDenied</Code></Error>",  // not a listing
       }) {
    auto page = parse_list_page(body);
    EXPECT_FALSE(page.ok()) << body;
    if (!page.ok()) {
      EXPECT_EQ(page.status().code(), Code::kBadResponse) << body;
    }
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<a>";
  EXPECT_EQ(parse_xml(deep).status().code(), Code::kBadResponse);
}

TEST(S3Xml, CdataAndComments) {
  auto doc = parse_xml(
      "<?xml version=\"1.0\"?><!-- c --><R a=\"x>y\"><K><![CDATA[a<b]]></K>"
      "<!-- inner --><E/></R>");
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  EXPECT_EQ(doc->child_text("K"), "a<b");
  EXPECT_NE(doc->child("E"), nullptr);
}

TEST(S3Xml, ErrorBody) {
  auto e = parse_error_body(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>"
      "<Message>The specified key does not exist.</Message><Key>a/b</Key>"
      "<RequestId>4442587FB7D0A2F9</RequestId></Error>");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, "NoSuchKey");
  EXPECT_EQ(e->message, "The specified key does not exist.");
  EXPECT_FALSE(parse_error_body("<ListBucketResult/>").has_value());
  EXPECT_FALSE(parse_error_body("not xml").has_value());
}

TEST(S3Xml, UploadIdAndDeleteResult) {
  auto id = parse_upload_id(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
      "<UploadId>VXBsb2FkIElE</UploadId></InitiateMultipartUploadResult>");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "VXBsb2FkIElE");
  EXPECT_FALSE(parse_upload_id("<InitiateMultipartUploadResult/>").ok());
  auto errors = parse_delete_errors(
      "<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code>"
      "<Message>Access Denied</Message></Error></DeleteResult>");
  ASSERT_TRUE(errors.ok());
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_EQ((*errors)[0].first, "b");
  EXPECT_EQ((*errors)[0].second.code, "AccessDenied");
}

TEST(S3Xml, EscapeAndDates) {
  EXPECT_EQ(xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(parse_http_date_ms("Wed, 12 Oct 2009 17:50:00 GMT"), 1255369800000);
  EXPECT_EQ(parse_iso8601_ms("2009-10-12T17:50:30.000Z"), 1255369830000);
  EXPECT_EQ(parse_iso8601_ms("garbage"), 0);
}

http::Response reply(http::State state, long status, std::string body) {
  http::Response r;
  r.state = state;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string error_xml(const std::string& code) {
  return "<Error><Code>" + code + "</Code><Message>m</Message></Error>";
}

TEST(S3Errors, OneMappingForCodesStatusesAndTransport) {
  using http::State;
  struct Case {
    http::Response r;
    Code code;
    bool retry;
  };
  std::vector<Case> cases = {
      {reply(State::kHttp4xx, 403, error_xml("AccessDenied")), Code::kPermission, false},
      {reply(State::kHttp4xx, 403, error_xml("SignatureDoesNotMatch")), Code::kPermission, false},
      {reply(State::kHttp4xx, 403, error_xml("InvalidAccessKeyId")), Code::kPermission, false},
      {reply(State::kHttp4xx, 400, error_xml("ExpiredToken")), Code::kPermission, false},
      {reply(State::kNotFound, 404, error_xml("NoSuchKey")), Code::kNotFound, false},
      {reply(State::kNotFound, 404, error_xml("NoSuchBucket")), Code::kNotFound, false},
      {reply(State::kNotFound, 404, ""), Code::kNotFound, false},  // HEAD: no body
      {reply(State::kHttp4xx, 403, ""), Code::kPermission, false},
      {reply(State::kHttp5xx, 503, error_xml("SlowDown")), Code::kUnavailable, true},
      {reply(State::kHttp5xx, 500, error_xml("InternalError")), Code::kServerError, true},
      {reply(State::kHttp5xx, 502, ""), Code::kServerError, true},
      {reply(State::kHttp4xx, 400, error_xml("RequestTimeout")), Code::kTimeout, true},
      {reply(State::kHttp4xx, 429, ""), Code::kUnavailable, true},
      {reply(State::kHttp4xx, 400, error_xml("KeyTooLongError")), Code::kNameTooLong, false},
      {reply(State::kHttp4xx, 400, error_xml("InvalidArgument")), Code::kInvalid, false},
      {reply(State::kHttp4xx, 416, error_xml("InvalidRange")), Code::kRange, false},
      {reply(State::kHttp4xx, 412, ""), Code::kPrecondition, false},
      {reply(State::kHttp4xx, 501, error_xml("NotImplemented")), Code::kUnsupported, false},
      {reply(State::kTimeout, 0, ""), Code::kTimeout, true},
      {reply(State::kRefused, 0, ""), Code::kUnavailable, true},
      {reply(State::kNoReply, 0, ""), Code::kUnavailable, true},
      {reply(State::kBadResponse, 301, error_xml("PermanentRedirect")), Code::kInvalid, false},
      // A 200 whose body is an error (CopyObject, CompleteMultipartUpload).
      {reply(State::kOk, 200, error_xml("InternalError")), Code::kServerError, true},
      {reply(State::kOk, 200, "<CopyObjectResult><ETag>x</ETag></CopyObjectResult>"), Code::kOk,
       false},
  };
  for (const auto& c : cases) {
    S3Outcome o = classify_s3(c.r);
    EXPECT_EQ(o.code, c.code) << c.r.status << " " << c.r.body;
    EXPECT_EQ(o.retry, c.retry) << c.r.status << " " << c.r.body;
  }
  S3Outcome o = classify_s3(reply(State::kHttp4xx, 403, error_xml("AccessDenied")));
  EXPECT_EQ(o.s3_code, "AccessDenied");
  EXPECT_EQ(o.detail, "AccessDenied: m");
}

}  // namespace
}  // namespace alluxio_fuse::ufs
