// test-deps: af_config spdlog::spdlog
// The S3 store over a scripted http::Client: request shape (addressing, signing headers,
// anonymous access, session token), retries and their bound, the error mapping seen through
// the store, hostile listings, names refused before any request, the configuration factory,
// and the "access denied" log line (clear, and without the secret).
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <mutex>
#include <sstream>

#include "alluxio_fuse/ufs/s3_store.h"

namespace alluxio_fuse::ufs {
namespace {

using common::Code;

class ScriptedClient final : public http::Client {
 public:
  http::Response perform(const http::Request& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    requests.push_back(request);
    if (replies.empty()) return reply(404, "");
    http::Response r = std::move(replies.front());
    replies.pop_front();
    if (request.out != nullptr && r.state == http::State::kOk) {
      std::copy(r.body.begin(), r.body.end(), request.out);
      r.body_bytes = r.body.size();
      r.body.clear();
    }
    return r;
  }
  void cancel_all() override {}

  static http::Response reply(long status, std::string body,
                              std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::Response r;
    r.status = status;
    r.state = status >= 200 && status < 300 ? http::State::kOk
              : status == 404               ? http::State::kNotFound
              : status >= 500               ? http::State::kHttp5xx
                                            : http::State::kHttp4xx;
    r.body = std::move(body);
    r.body_bytes = r.body.size();
    r.headers = std::move(headers);
    return r;
  }
  std::string header(size_t i, const std::string& name) const {
    for (const auto& [n, v] : requests.at(i).headers) {
      if (n == name) return v;
    }
    return "";
  }

  std::mutex mu_;
  std::deque<http::Response> replies;
  std::vector<http::Request> requests;
};

std::string error_xml(const std::string& code) {
  return "<Error><Code>" + code + "</Code><Message>msg</Message></Error>";
}

std::string list_xml(const std::vector<std::string>& keys, const std::vector<std::string>& prefixes,
                     const std::string& next = "") {
  std::string x = "<ListBucketResult>";
  for (const auto& k : keys) x += "<Contents><Key>" + k + "</Key><Size>3</Size></Contents>";
  for (const auto& p : prefixes) x += "<CommonPrefixes><Prefix>" + p + "</Prefix></CommonPrefixes>";
  x += next.empty() ? "<IsTruncated>false</IsTruncated>"
                    : "<IsTruncated>true</IsTruncated><NextContinuationToken>" + next +
                          "</NextContinuationToken>";
  return x + "</ListBucketResult>";
}

class S3StoreTest : public ::testing::Test {
 protected:
  S3Options options(bool path_style = true) {
    S3Options o;
    o.root = "s3://bkt/pre";
    o.endpoint = "http://127.0.0.1:9000";
    o.path_style = path_style;
    o.credentials = SigV4Credentials{"AKIDEXAMPLE", kSecret, ""};
    o.wall_clock = [] { return std::chrono::system_clock::from_time_t(1440938160); };
    o.sleep = [this](std::chrono::milliseconds d) { sleeps.push_back(d); };
    return o;
  }
  std::unique_ptr<S3Store> make(S3Options o) {
    auto loc = parse_s3_root(o.root);
    return std::make_unique<S3Store>(std::move(o), *loc, client);
  }

  static constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  ScriptedClient client;
  std::vector<std::chrono::milliseconds> sleeps;
};

TEST_F(S3StoreTest, HeadIsSignedPathStyle) {
  auto store = make(options());
  client.replies.push_back(
      ScriptedClient::reply(200, "",
                            {{"content-length", "12"},
                             {"etag", "\"abc\""},
                             {"last-modified", "Wed, 12 Oct 2009 17:50:00 GMT"}}));
  auto info = store->stat("s3://bkt/pre/dir/a b.txt");
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(info->name, "a b.txt");
  EXPECT_EQ(info->size, 12u);
  EXPECT_EQ(info->content_hash, "abc");
  EXPECT_EQ(info->mtime_ms, 1255369800000);
  ASSERT_EQ(client.requests.size(), 1u);
  EXPECT_EQ(client.requests[0].method, "HEAD");
  EXPECT_EQ(client.requests[0].url, "http://127.0.0.1:9000/bkt/pre/dir/a%20b.txt");
  EXPECT_EQ(client.requests[0].metric_method, "ufs_head");
  EXPECT_EQ(client.header(0, "x-amz-date"), "20150830T123600Z");
  EXPECT_EQ(client.header(0, "x-amz-content-sha256"), std::string(kEmptyPayloadSha256));
  std::string auth = client.header(0, "Authorization");
  EXPECT_TRUE(
      auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/"
                       "aws4_request, SignedHeaders=host;x-amz-content-sha256;"
                       "x-amz-date, Signature="))
      << auth;
  EXPECT_EQ(auth.find(kSecret), std::string::npos);
}

TEST_F(S3StoreTest, VirtualHostedAnonymousAndSessionToken) {
  auto o = options(false);
  o.credentials.reset();
  auto anon = make(o);
  client.replies.push_back(ScriptedClient::reply(200, list_xml({}, {})));
  ASSERT_TRUE(anon->stat("s3://bkt/pre").ok());
  EXPECT_EQ(client.requests[0].url,
            "http://bkt.127.0.0.1:9000/?delimiter=%2F&list-type=2&max-keys=1&prefix=pre%2F");
  EXPECT_EQ(client.header(0, "Authorization"), "");

  auto t = options();
  t.credentials->session_token = "session-token-value";
  auto temp = make(t);
  client.replies.push_back(ScriptedClient::reply(200, "", {{"content-length", "1"}}));
  ASSERT_TRUE(temp->stat("s3://bkt/pre/x").ok());
  EXPECT_EQ(client.header(1, "x-amz-security-token"), "session-token-value");
  EXPECT_NE(client.header(1, "Authorization").find("x-amz-security-token"), std::string::npos);
}

TEST_F(S3StoreTest, RetriesSlowDownThenSucceeds) {
  auto store = make(options());
  client.replies.push_back(ScriptedClient::reply(503, error_xml("SlowDown")));
  client.replies.push_back(ScriptedClient::reply(500, error_xml("InternalError")));
  client.replies.push_back(ScriptedClient::reply(200, "", {{"content-length", "5"}}));
  auto info = store->stat("s3://bkt/pre/f");
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(client.requests.size(), 3u);
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_GE(sleeps[0].count(), 80);   // 100 ms +-20 %
  EXPECT_GE(sleeps[1].count(), 160);  // doubled
}

TEST_F(S3StoreTest, RetriesAreBounded) {
  auto store = make(options());
  for (int i = 0; i < 5; ++i) client.replies.push_back(ScriptedClient::reply(503, ""));
  std::string buf(10, '\0');
  auto r = store->read({"s3://bkt/pre/f", 0, 10, std::nullopt}, buf.data());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(client.requests.size(), 3u);  // 1 + retries (2)
  EXPECT_EQ(client.header(0, "Range"), "bytes=0-9");
}

TEST_F(S3StoreTest, AccessDeniedIsPermissionLoggedOnceWithoutTheSecret) {
  std::ostringstream log_text;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  auto store = make(options());
  client.replies.push_back(ScriptedClient::reply(403, error_xml("SignatureDoesNotMatch")));
  client.replies.push_back(ScriptedClient::reply(403, error_xml("SignatureDoesNotMatch")));
  auto first = store->stat("s3://bkt/pre");
  auto second = store->stat("s3://bkt/pre");
  spdlog::set_default_logger(previous);
  EXPECT_EQ(first.status().code(), Code::kPermission);
  EXPECT_EQ(second.status().code(), Code::kPermission);
  EXPECT_EQ(client.requests.size(), 2u);  // not retried
  EXPECT_NE(first.status().message().find("SignatureDoesNotMatch"), std::string::npos);
  const std::string text = log_text.str();
  EXPECT_NE(text.find("access denied"), std::string::npos) << text;
  EXPECT_NE(text.find("****MPLE"), std::string::npos) << text;
  EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
  EXPECT_EQ(text.find("AKIDEXAMPLE"), std::string::npos) << text;
  EXPECT_EQ(text.find("access denied"), text.rfind("access denied"));  // one line per minute
}

TEST_F(S3StoreTest, HostileListingEntriesAreDroppedAndPagesMerged) {
  auto store = make(options());
  client.replies.push_back(ScriptedClient::reply(
      200, list_xml({"pre/d/", "pre/d/ok", "pre/d/..", "pre/d/.", "elsewhere/x"},
                    {"pre/d/../", "pre/d//", "pre/d/sub/"}, "tok+/=")));
  client.replies.push_back(
      ScriptedClient::reply(200, list_xml({"pre/d/ok2", "pre/d/\xC0\xAF"}, {"pre/d/sub/"})));
  auto listing = store->list("s3://bkt/pre/d");
  ASSERT_TRUE(listing.ok()) << listing.status().to_string();
  std::vector<std::string> names;
  for (const auto& e : *listing) names.push_back(e.name + (e.is_dir() ? "/" : ""));
  EXPECT_EQ(names, (std::vector<std::string>{"ok", "ok2", "sub/"}));
  ASSERT_EQ(client.requests.size(), 2u);
  EXPECT_NE(client.requests[1].url.find("continuation-token=tok%2B%2F%3D"), std::string::npos);
}

TEST_F(S3StoreTest, RepeatedContinuationTokenIsBadResponse) {
  auto store = make(options());
  client.replies.push_back(ScriptedClient::reply(200, list_xml({"pre/a"}, {}, "same")));
  client.replies.push_back(ScriptedClient::reply(200, list_xml({"pre/b"}, {}, "same")));
  EXPECT_EQ(store->list("s3://bkt/pre").status().code(), Code::kBadResponse);
}

TEST_F(S3StoreTest, BadNamesAreRefusedBeforeAnyRequest) {
  auto store = make(options());
  EXPECT_EQ(store->stat("s3://bkt/pre/" + std::string(256, 'x')).status().code(),
            Code::kNameTooLong);
  EXPECT_EQ(store->stat("s3://bkt/pre/a/../b").status().code(), Code::kInvalid);
  EXPECT_EQ(store->stat("s3://bkt/pre/a//b").status().code(), Code::kInvalid);
  EXPECT_EQ(store->stat("s3://bkt/other/a").status().code(), Code::kInvalid);
  EXPECT_EQ(store->stat("s3://bkt/prefix/a").status().code(), Code::kInvalid);
  EXPECT_EQ(store->mkdir("s3://bkt/pre/\xFF").code(), Code::kInvalid);
  EXPECT_TRUE(client.requests.empty());
}

TEST_F(S3StoreTest, ReadPastEndAndShortBodies) {
  auto store = make(options());
  std::string buf(10, '\0');
  client.replies.push_back(ScriptedClient::reply(416, error_xml("InvalidRange")));
  auto eof = store->read({"s3://bkt/pre/f", 100, 10, std::nullopt}, buf.data());
  ASSERT_TRUE(eof.ok());
  EXPECT_EQ(eof->bytes, 0u);
  client.replies.push_back(ScriptedClient::reply(206, "abc"));
  auto shrunk = store->read({"s3://bkt/pre/f", 0, 10, uint64_t{10}}, buf.data());
  EXPECT_EQ(shrunk.status().code(), Code::kIo);
  client.replies.push_back(ScriptedClient::reply(206, "abc"));
  auto tail = store->read({"s3://bkt/pre/f", 7, 10, uint64_t{10}}, buf.data());
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->bytes, 3u);
  EXPECT_EQ(buf.substr(0, 3), "abc");
}

TEST_F(S3StoreTest, MultipartAbortsOnAFailedPart) {
  auto o = options();
  o.multipart_threshold = 8;
  o.min_part_size = 4;
  o.retries = 0;
  auto store = make(o);
  char path[] = "/tmp/af-s3-mp-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  ASSERT_EQ(::write(fd, "0123456789", 10), 10);
  client.replies.push_back(
      ScriptedClient::reply(200,
                            "<InitiateMultipartUploadResult><UploadId>up1</UploadId>"
                            "</InitiateMultipartUploadResult>"));
  client.replies.push_back(ScriptedClient::reply(200, "", {{"etag", "\"e1\""}}));
  client.replies.push_back(ScriptedClient::reply(403, error_xml("AccessDenied")));
  client.replies.push_back(ScriptedClient::reply(204, ""));  // abort
  EXPECT_EQ(store->write_file("s3://bkt/pre/big", fd, 10).code(), Code::kPermission);
  ::close(fd);
  ASSERT_EQ(client.requests.size(), 4u);
  EXPECT_EQ(client.requests[0].url, "http://127.0.0.1:9000/bkt/pre/big?uploads=");
  EXPECT_EQ(client.requests[1].url, "http://127.0.0.1:9000/bkt/pre/big?partNumber=1&uploadId=up1");
  EXPECT_EQ(client.requests[1].body, "0123");
  EXPECT_EQ(client.requests[2].body, "4567");
  EXPECT_EQ(client.requests[3].method, "DELETE");
  EXPECT_EQ(client.requests[3].url, "http://127.0.0.1:9000/bkt/pre/big?uploadId=up1");
  for (const auto& r : client.requests) EXPECT_EQ(r.metric_method, "ufs_multipart");
}

TEST(S3Config, FactoryAndOptions) {
  config::Config c;
  c.ufs_root = "s3://my-bucket/data";
  c.target_options.endpoint_url = "HTTP://LocalHost:80/";
  c.target_options.key = "AKIAKEY";
  c.target_options.secret = "secret";
  auto o = s3_options_from_config(c);
  ASSERT_TRUE(o.ok()) << o.status().to_string();
  EXPECT_EQ(o->endpoint, "http://localhost");
  EXPECT_TRUE(o->path_style);  // auto + endpoint
  EXPECT_EQ(o->region, "us-east-1");
  ASSERT_TRUE(o->credentials.has_value());
  EXPECT_EQ(o->credentials->access_key_id, "AKIAKEY");

  config::Config none = c;
  none.target_options.key.reset();
  none.target_options.secret.reset();
  auto denied = s3_options_from_config(none);
  EXPECT_EQ(denied.status().code(), Code::kPermission);
  none.target_options.anon = true;
  auto anon = s3_options_from_config(none);
  ASSERT_TRUE(anon.ok());
  EXPECT_FALSE(anon->credentials.has_value());

  config::Config bad = c;
  bad.target_options.endpoint_url = "http://user:pw@host/path";
  auto e = s3_options_from_config(bad);
  EXPECT_EQ(e.status().code(), Code::kInvalid);
  EXPECT_EQ(e.status().message().find("pw"), std::string::npos) << e.status().message();
  bad.ufs_root = "file:///x";
  EXPECT_EQ(s3_options_from_config(bad).status().code(), Code::kInvalid);

  ScriptedClient client;
  auto store = make_s3_store(c, client);
  ASSERT_TRUE(store.ok());
  c.target_options.client_kwargs.verify = false;
  EXPECT_FALSE(s3_client_options(c).verify_tls);
  // A CA bundle path (botocore's `verify: /path`) keeps verification on against that bundle.
  config::Config ca = c;
  ca.target_options.client_kwargs.verify.reset();
  ca.target_options.client_kwargs.verify_ca_bundle = "/etc/ssl/private-ca.pem";
  EXPECT_TRUE(s3_client_options(ca).verify_tls);
  EXPECT_EQ(s3_client_options(ca).ca_file, "/etc/ssl/private-ca.pem");
  EXPECT_TRUE(s3_client_options(config::Config{}).verify_tls);  // on by default
}

TEST(S3Config, RootParsing) {
  auto a = parse_s3_root("s3a://bkt.with.dots/a/b");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->scheme, "s3a");
  EXPECT_EQ(a->bucket, "bkt.with.dots");
  EXPECT_EQ(a->prefix, "a/b");
  auto b = parse_s3_root("s3://bkt");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->prefix, "");
  EXPECT_FALSE(parse_s3_root("s3://user:pw@bkt/x").ok());
  EXPECT_FALSE(parse_s3_root("s3://bkt:9000/x").ok());
  EXPECT_FALSE(parse_s3_root("gs://bkt/x").ok());
}

}  // namespace
}  // namespace alluxio_fuse::ufs
