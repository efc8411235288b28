// SigV4 against AWS's published aws-sig-v4-test-suite vectors (get-vanilla, post-vanilla,
// get-vanilla-query-order-key-case, get-utf8): credentials AKIDEXAMPLE /
// wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region us-east-1, service "service", date
// 20150830T123600Z. The canonical request, the string to sign and the signature must match
// exactly; s3rver does not verify signatures, so this is what proves the signer.
#include <gtest/gtest.h>

#include <chrono>

#include "alluxio_fuse/common/hash.h"
#include "alluxio_fuse/ufs/s3_signer.h"

namespace alluxio_fuse::ufs {
namespace {

const SigV4Credentials kCreds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
constexpr std::string_view kDate = "20150830T123600Z";

SigV4Result sign_vanilla(const std::string& method, const std::string& uri,
                         const std::string& query) {
  SigV4Request r{method,
                 uri,
                 query,
                 {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", std::string(kDate)}},
                 std::string(kEmptyPayloadSha256)};
  return sign_v4(r, kCreds, "us-east-1", "service", kDate);
}

TEST(SigV4, GetVanilla) {
  SigV4Result r = sign_vanilla("GET", "/", "");
  EXPECT_EQ(r.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(r.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(r.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(r.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4, PostVanilla) {
  SigV4Result r = sign_vanilla("POST", "/", "");
  EXPECT_EQ(r.canonical_request,
            "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(r.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87");
  EXPECT_EQ(r.signature, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(SigV4, QueryOrderKeyCase) {
  // The wire query is "Param2=value2&Param1=value1"; the canonical form sorts it.
  std::string q = canonical_query_string({{"Param2", "value2"}, {"Param1", "value1"}});
  EXPECT_EQ(q, "Param1=value1&Param2=value2");
  SigV4Result r = sign_vanilla("GET", "/", q);
  EXPECT_EQ(r.signature, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4, GetUtf8) {
  SigV4Result r = sign_vanilla("GET", "/" + aws_uri_encode("\xE1\x88\xB4", true), "");
  EXPECT_EQ(r.signature, "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
}

TEST(SigV4, SigningKeyMatchesTheChain) {
  EXPECT_EQ(common::to_hex(
                sigv4_signing_key(kCreds.secret_access_key, "20150830", "us-east-1", "service")),
            "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75");
}

TEST(SigV4, HeadersAreLowercasedSortedTrimmedAndAllSigned) {
  SigV4Request r{"PUT",
                 "/b/k",
                 "",
                 {{"X-Amz-Date", std::string(kDate)},
                  {"host", "s3.amazonaws.com"},
                  {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"},
                  {"X-Amz-Meta-Note", "  two   spaces  "}},
                 "UNSIGNED-PAYLOAD"};
  SigV4Result s = sign_v4(r, kCreds, "us-east-1", "s3", kDate);
  EXPECT_EQ(s.signed_headers, "host;x-amz-content-sha256;x-amz-date;x-amz-meta-note");
  EXPECT_NE(s.canonical_request.find("x-amz-meta-note:two spaces\n"), std::string::npos);
  EXPECT_TRUE(s.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
  // The secret never appears in anything the signer returns.
  for (const std::string* out : {&s.canonical_request, &s.string_to_sign, &s.authorization}) {
    EXPECT_EQ(out->find(kCreds.secret_access_key), std::string::npos);
  }
}

TEST(SigV4, UriEncoding) {
  EXPECT_EQ(aws_uri_encode("a b+c/d~e_f.g-h", true), "a%20b%2Bc/d~e_f.g-h");
  EXPECT_EQ(aws_uri_encode("a/b=c&d", false), "a%2Fb%3Dc%26d");
  EXPECT_EQ(aws_uri_encode("\xE6\x95\xB0", true), "%E6%95%B0");
  // A continuation token (base64) keeps its bytes through encoding.
  EXPECT_EQ(canonical_query_string({{"continuation-token", "a+b/c=="}, {"list-type", "2"}}),
            "continuation-token=a%2Bb%2Fc%3D%3D&list-type=2");
  EXPECT_EQ(canonical_query_string({{"uploads", ""}}), "uploads=");
}

TEST(SigV4, AmzDate) {
  auto t = std::chrono::system_clock::from_time_t(1440938160);  // 2015-08-30 12:36:00 UTC
  EXPECT_EQ(format_amz_date(t), "20150830T123600Z");
}

}  // namespace
}  // namespace alluxio_fuse::ufs
