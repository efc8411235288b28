// Wire format of the worker REST API: URLs against the spec's examples, strict JSON parsing of
// good and hostile payloads, and the reply → code mapping table (worker-rest.md §2–§5).
#include <gtest/gtest.h>

#include "alluxio_fuse/worker/wire.h"

namespace alluxio_fuse::worker {
namespace {

using common::Code;

const WorkerAddress kAddr{"10.0.0.5", 28080};
constexpr char kId[] = "a8b55a1f22bb80550d0c0b40fb95b6998eab4f2c7bdd113cfdd0506a90af167a";

TEST(WorkerUrls, PathIdExample) { EXPECT_EQ(path_id("s3://bkt/a.csv"), kId); }

TEST(WorkerUrls, RmExampleByteForByte) {
  EXPECT_EQ(rm_url(kAddr, "s3://bkt/a.csv", false),
            std::string("http://10.0.0.5:28080/v1/rm/") + kId +
                "?ufsFullPath=s3://bkt/a.csv&recursive=False&recursiveAlias=False"
                "&sync_parent_next_time=False&remove_unchecked_option=False"
                "&remove_alluxio_only=False&delete_mount_point=False");
  EXPECT_NE(rm_url(kAddr, "s3://bkt/a.csv", true).find("&recursive=True&recursiveAlias=False"),
            std::string::npos);
}

TEST(WorkerUrls, EncodingExamples) {
  EXPECT_EQ(info_url(kAddr, "s3://bkt/dir/a b+c&d?.txt"),
            "http://10.0.0.5:28080/v1/info?path=s3://bkt/dir/a%20b%2Bc%26d%3F.txt");
  EXPECT_EQ(files_url(kAddr, "s3://bkt/数据"),
            "http://10.0.0.5:28080/v1/files?path=s3://bkt/%E6%95%B0%E6%8D%AE");
  EXPECT_EQ(node_url(kAddr, "s3://bkt/a#=%"),
            "http://10.0.0.5:28080/v1/node?path=s3://bkt/a%23%3D%25");
}

TEST(WorkerUrls, EveryEndpoint) {
  const std::string base = "http://10.0.0.5:28080";
  const std::string key = "s3://bkt/a.csv";
  EXPECT_EQ(page_url(kAddr, key, 3, std::nullopt, true),
            base + "/v1/file/" + kId + "/page/3?ufsFullPath=s3://bkt/a.csv");
  EXPECT_EQ(page_url(kAddr, key, 3, std::make_pair(uint64_t{10}, uint64_t{20}), true),
            base + "/v1/file/" + kId + "/page/3?offset=10&length=20&ufsFullPath=s3://bkt/a.csv");
  EXPECT_EQ(page_url(kAddr, key, 0, std::nullopt, false), base + "/v1/file/" + kId + "/page/0");
  EXPECT_EQ(page_url(kAddr, key, 1, std::make_pair(uint64_t{0}, uint64_t{5}), false),
            base + "/v1/file/" + kId + "/page/1?offset=0&length=5");
  EXPECT_EQ(range_url(kAddr, key, 100, 200),
            base + "/v1/range/" + kId + "?ufsFullPath=s3://bkt/a.csv&offset=100&length=200");
  EXPECT_EQ(chunk_url(kAddr, key, 1048576),
            base + "/v1/chunk/" + kId + "?ufsFullPath=s3://bkt/a.csv&chunkSize=1048576");
  EXPECT_EQ(mkdir_url(kAddr, key), base + "/v1/mkdir/" + kId + "?ufsFullPath=s3://bkt/a.csv");
  EXPECT_EQ(touch_url(kAddr, key), base + "/v1/touch/" + kId + "?ufsFullPath=s3://bkt/a.csv");
  EXPECT_EQ(mv_url(kAddr, key, "s3://bkt/b c"),
            base + "/v1/mv/" + kId + "?srcPath=s3://bkt/a.csv&dstPath=s3://bkt/b%20c");
  EXPECT_EQ(load_url(kAddr, "s3://bkt/ds", "submit"),
            base + "/v1/load?path=s3://bkt/ds&opType=submit");
  EXPECT_EQ(load_url(kAddr, "s3://bkt/ds", "progress", true),
            base + "/v1/load?path=s3://bkt/ds&opType=progress&verbose=true");
  EXPECT_EQ(load_url(kAddr, "s3://bkt/ds", "stop"), base + "/v1/load?path=s3://bkt/ds&opType=stop");
  EXPECT_EQ(ufs_info_url(kAddr), base + "/v1/ufsInfo");
  EXPECT_EQ(base_url({"::1", 80}), "http://[::1]:80");
}

TEST(WorkerJson, SpecInfoExample) {
  auto info = parse_info(
      R"([{"mType":"file","mName":"a.csv","mPath":"/a.csv","mUfsPath":"s3://bkt/dir/a.csv",
      "mLength":77542,"mHumanReadableFileSize":"75.72KB","mLastModificationTimeMs":1700000000000,
      "mContentHash":"5d41402abc4b2a76b9719d911017c592","mMode":420,"mOwner":"alice",
      "mGroup":"staff"}])",
      "s3://bkt/dir/a.csv");
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(info->name, "a.csv");
  EXPECT_FALSE(info->is_dir());
  EXPECT_EQ(info->size, 77542u);
  EXPECT_TRUE(info->size_exact);
  EXPECT_EQ(info->mtime_ms, 1700000000000);
  EXPECT_EQ(info->content_hash, "5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(info->mode, 0644u);
  EXPECT_EQ(info->owner, "alice");
  EXPECT_EQ(info->group, "staff");
  EXPECT_TRUE(info->completed);
  EXPECT_EQ(info->in_alluxio_percentage, -1);
}

TEST(WorkerJson, InfoShapes) {
  EXPECT_EQ(parse_info("[]", "s3://bkt/x").status().code(), Code::kNotFound);
  EXPECT_EQ(parse_info("{}", "s3://bkt/x").status().code(), Code::kBadResponse);
  EXPECT_EQ(parse_info("[{\"mType\":\"file\"", "s3://bkt/x").status().code(), Code::kBadResponse);
  EXPECT_EQ(parse_info("", "s3://bkt/x").status().code(), Code::kBadResponse);
  EXPECT_EQ(
      parse_info(R"([{"mType":"symlink","mName":"x","mLength":1}])", "s3://bkt/x").status().code(),
      Code::kBadResponse);
  auto root = parse_info(R"([{"mType":"directory","mName":"","mLength":4096}])", "s3://bkt");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->name, "");
  EXPECT_TRUE(root->is_dir());
  EXPECT_EQ(root->size, 0u);
  auto mtime = parse_info(
      R"([{"mType":"file","mName":"x","mLength":1,"mLastModificationTimeMs":-5,
           "mCompleted":false,"mInAlluxioPercentage":40,"mContentHash":"","mOwner":null}])",
      "s3://bkt/d/x");
  ASSERT_TRUE(mtime.ok());
  EXPECT_EQ(mtime->mtime_ms, 0);
  EXPECT_FALSE(mtime->completed);
  EXPECT_EQ(mtime->in_alluxio_percentage, 40);
  EXPECT_EQ(mtime->content_hash, "");
}

TEST(WorkerJson, HumanReadableSize) {
  auto exact = parse_human_size("512B");
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->bytes, 512u);
  EXPECT_TRUE(exact->exact);
  auto kb = parse_human_size("75.72KB");
  ASSERT_TRUE(kb);
  EXPECT_EQ(kb->bytes, 77537u);  // 75.72 × 1024 = 77537.28, rounded down
  EXPECT_FALSE(kb->exact);
  EXPECT_EQ(parse_human_size("1.00MB")->bytes, 1048576u);
  EXPECT_EQ(parse_human_size("2GB")->bytes, uint64_t{2} << 30);
  EXPECT_EQ(parse_human_size("1.5PB")->bytes, uint64_t{3} << 49);
  for (const char* bad : {"", "KB", "1.KB", "12", "1 KB", "1kb", "-1B", "1.5B", "1EB", "x"}) {
    EXPECT_FALSE(parse_human_size(bad)) << bad;
  }
  auto approx =
      parse_info(R"([{"mType":"file","mName":"x","mHumanReadableFileSize":"1.50KB"}])", "s3://b/x");
  ASSERT_TRUE(approx.ok());
  EXPECT_EQ(approx->size, 1536u);
  EXPECT_FALSE(approx->size_exact);
  auto unknown = parse_info(R"([{"mType":"file","mName":"x"}])", "s3://b/x");
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->size_exact);
}

TEST(WorkerJson, WrongTypesMakeEntryInvalid) {
  const char* bad[] = {
      R"({"mType":"file","mName":"x","mLength":"1"})",
      R"({"mType":"file","mName":"x","mLength":1.5})",
      R"({"mType":"file","mName":"x","mLength":-1})",
      R"({"mType":"file","mName":7,"mLength":1})",
      R"({"mType":1,"mName":"x","mLength":1})",
      R"({"mName":"x","mLength":1})",
      R"({"mType":"file","mLength":1})",
      R"({"mType":"file","mName":"x","mLength":1,"mMode":"420"})",
      R"({"mType":"file","mName":"x","mLength":1,"mLastModificationTimeMs":"now"})",
      R"({"mType":"file","mName":"x","mLength":1,"mCompleted":1})",
      R"({"mType":"file","mName":"x","mLength":1,"mOwner":5})",
      R"({"mType":"file","mName":"x","mLength":1,"mContentHash":[]})",
      R"({"mType":"file","mName":"x","mHumanReadableFileSize":"lots"})",
      R"({"mType":"file","mName":"x","mLength":1,"mInAlluxioPercentage":101})",
      R"("just a string")",
      R"([1,2])",
  };
  for (const char* entry : bad) {
    auto listing = parse_listing(std::string("[") + entry + "]");
    ASSERT_TRUE(listing.ok()) << entry;
    EXPECT_EQ(listing->entries.size(), 0u) << entry;
    EXPECT_EQ(listing->rejected, 1u) << entry;
  }
}

TEST(WorkerJson, HostileListing) {
  // Every hostile name of worker-rest.md §6 plus raw invalid UTF-8; good entries survive.
  std::string long_name(300, 'n');
  std::string body = R"([
    {"mType":"file","mName":"good","mLength":1},
    {"mType":"file","mName":"..","mLength":1},
    {"mType":"file","mName":".","mLength":1},
    {"mType":"file","mName":"a/b","mLength":1},
    {"mType":"file","mName":"nul\u0000x","mLength":1},
    {"mType":"file","mName":")" +
                     long_name + R"(","mLength":1},
    {"mType":"file","mName":"sur\udc80","mLength":1},
    {"mType":"file","mName":"hi\ud800","mLength":1},
    {"mType":"file","mName":"bad)" +
                     std::string("\xC3\x28") + R"(","mLength":1},
    {"mType":"file","mName":"","mLength":1},
    {"mType":"file","mName":"good","mLength":2},
    {"mType":"symlink","mName":"link","mLength":1},
    {"mType":"directory","mName":"数据","mLength":0},
    {"mType":"file","mName":"emoji\ud83d\ude00","mLength":3,"mPath":"sur\udc80"}
  ])";
  auto listing = parse_listing(body);
  ASSERT_TRUE(listing.ok()) << listing.status().to_string();
  ASSERT_EQ(listing->entries.size(), 3u);
  EXPECT_EQ(listing->entries[0].name, "good");
  EXPECT_EQ(listing->entries[0].size, 1u);  // the first duplicate wins
  EXPECT_EQ(listing->entries[1].name, "数据");
  EXPECT_TRUE(listing->entries[1].is_dir());
  EXPECT_EQ(listing->entries[2].name, "emoji\xF0\x9F\x98\x80");
  EXPECT_EQ(listing->rejected, 11u);
}

TEST(WorkerJson, MalformedAndOversizedListings) {
  EXPECT_EQ(parse_listing("[{").status().code(), Code::kBadResponse);
  EXPECT_EQ(parse_listing("{\"a\":1}").status().code(), Code::kBadResponse);
  EXPECT_EQ(parse_listing(std::string(100, '[') + std::string(100, ']')).status().code(),
            Code::kBadResponse);
  auto empty = parse_listing("[]");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->entries.empty());
  std::string huge = "[";
  for (size_t i = 0; i <= kMaxListingEntries; ++i) huge += i == 0 ? "0" : ",0";
  huge += "]";
  EXPECT_EQ(parse_listing(huge).status().code(), Code::kBadResponse);
}

TEST(WorkerJson, ListingShapesTheStreamingParserMustGetRight) {
  // Unknown members may hold any nesting; a nested "mName" is not the entry's name; a known
  // member's later duplicate wins (as in a DOM); null is absent.
  auto listing = parse_listing(R"([
    {"mType":"file","extra":{"mName":"inner","deep":[[{"mType":"directory"}]]},"mName":"a",
     "mLength":3},
    {"mType":"file","mName":"b","mLength":"x","mLength":4,"mOwner":null},
    {"mType":"directory","mName":"c","mMode":493,"list":[1,2,{"a":null}]},
    [{"mType":"file","mName":"in-array"}],
    null, 7, "s", true
  ])");
  ASSERT_TRUE(listing.ok()) << listing.status().to_string();
  ASSERT_EQ(listing->entries.size(), 3u);
  EXPECT_EQ(listing->entries[0].name, "a");
  EXPECT_EQ(listing->entries[0].size, 3u);
  EXPECT_EQ(listing->entries[1].name, "b");
  EXPECT_EQ(listing->entries[1].size, 4u);
  EXPECT_TRUE(listing->entries[1].owner.empty());
  EXPECT_TRUE(listing->entries[2].is_dir());
  EXPECT_EQ(listing->entries[2].mode, 0755u);
  EXPECT_EQ(listing->rejected, 5u);
  // The same entry parses alike through /v1/info (the DOM path) and /v1/files (streaming).
  const std::string entry =
      R"({"mType":"file","mName":"x","mLength":9,"mLastModificationTimeMs":5,"mMode":420,)"
      R"("mOwner":"o","mGroup":"g","mContentHash":"h","mCompleted":false,"mInAlluxioPercentage":7})";
  auto via_info = parse_info("[" + entry + "]", "s3://b/x");
  auto via_list = parse_listing("[" + entry + "]");
  ASSERT_TRUE(via_info.ok());
  ASSERT_TRUE(via_list.ok());
  ASSERT_EQ(via_list->entries.size(), 1u);
  const auto& l = via_list->entries[0];
  EXPECT_EQ(l.name, via_info->name);
  EXPECT_EQ(l.size, via_info->size);
  EXPECT_EQ(l.mtime_ms, via_info->mtime_ms);
  EXPECT_EQ(l.mode, via_info->mode);
  EXPECT_EQ(l.owner, via_info->owner);
  EXPECT_EQ(l.group, via_info->group);
  EXPECT_EQ(l.content_hash, via_info->content_hash);
  EXPECT_EQ(l.completed, via_info->completed);
  EXPECT_EQ(l.in_alluxio_percentage, via_info->in_alluxio_percentage);
  // Shape errors are clean codes wherever the stream breaks.
  for (const char* bad : {"", "[", "[{}", "[{\"mType\":}]", "[] []", "[],", "[1,]", "nul",
                          "\"text\"", "42", "{}", "[{\"a\":1}]x"}) {
    EXPECT_EQ(parse_listing(bad).status().code(), Code::kBadResponse) << bad;
  }
}

TEST(WorkerJson, SanitizeKeepsValidTextUnchanged) {
  const std::string ok = R"({"a":"\ud83d\ude00 \" \\ \u00e9 é"})";
  EXPECT_EQ(sanitize_json(ok).value(), ok);
  EXPECT_EQ(sanitize_json(R"(["\udc80x"])").value(), R"(["\u0000x"])");
}

TEST(WorkerReplies, NodeShapes) {
  auto plain = parse_node(R"({"Host":"10.0.0.5","HttpServerPort":28081})", 28080);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "10.0.0.5");
  EXPECT_EQ(plain->port, 28081);
  auto no_port = parse_node(R"({"Host":"w1"})", 29999);
  ASSERT_TRUE(no_port.ok());
  EXPECT_EQ(no_port->port, 29999);
  auto old = parse_node(
      R"([{"mBlockInfo":{"mBlockInfo":{"mLocations":[{"mWorkerAddress":
          {"Host":"10.0.0.6","HttpServerPort":28080}}]}}}])",
      1);
  ASSERT_TRUE(old.ok()) << old.status().to_string();
  EXPECT_EQ(old->host, "10.0.0.6");
  EXPECT_EQ(old->port, 28080);
  for (const char* bad : {R"({"Host":""})", R"({})", R"({"Host":"h","HttpServerPort":"x"})",
                          R"([])", R"([{"mBlockInfo":{}}])", "nope"}) {
    EXPECT_EQ(parse_node(bad, 1).status().code(), Code::kBadResponse) << bad;
  }
}

TEST(WorkerReplies, Load) {
  auto submit = parse_load_ack(R"({"success":true,"jobId":"a1b2","path":"s3://bkt/ds"})");
  ASSERT_TRUE(submit.ok());
  EXPECT_EQ(submit.value(), "a1b2");
  EXPECT_EQ(parse_load_ack(R"({"success":false,"message":"no"})").status().code(), Code::kIo);
  EXPECT_EQ(parse_load_ack(R"({"message":"no"})").status().code(), Code::kBadResponse);
  auto p = parse_load_progress(
      R"({"jobState":"RUNNING","path":"s3://bkt/ds","message":"",
          "respProperties":{"Files Processed":"12"}})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->state, LoadState::kRunning);
  ASSERT_EQ(p->properties.size(), 1u);
  EXPECT_EQ(p->properties[0].second, "12");
  EXPECT_EQ(parse_load_progress(R"({"jobState":"PARTIALLY_FAILED"})")->state, LoadState::kFailed);
  EXPECT_EQ(parse_load_progress(R"({"jobState":"SUCCEEDED"})")->state, LoadState::kSucceeded);
  EXPECT_EQ(parse_load_progress(R"({"jobState":"STOPPED"})")->state, LoadState::kStopped);
  EXPECT_EQ(parse_load_progress(R"({"jobState":"VERIFYING"})")->state, LoadState::kVerifying);
  EXPECT_EQ(parse_load_progress(R"({"jobState":"NEW"})")->state, LoadState::kUnknown);
  EXPECT_EQ(parse_load_progress(R"({"message":"x"})").status().code(), Code::kBadResponse);
}

TEST(WorkerReplies, UfsInfoStripsSlashesAndNeverEchoesSecrets) {
  auto mounts = parse_ufs_info(
      R"({"s3://bkt/path/":{"alluxio_path":"/mnt/s3/","access_key":"AK","secret_key":"SK",
          "endpoint":"http://e"},"file:///":{"alluxio_path":"/"}})");
  ASSERT_TRUE(mounts.ok());
  ASSERT_EQ(mounts->size(), 2u);
  EXPECT_EQ((*mounts)[0].ufs_uri, "file:///");
  EXPECT_EQ((*mounts)[0].alluxio_path, "/");
  EXPECT_EQ((*mounts)[1].ufs_uri, "s3://bkt/path");
  EXPECT_EQ((*mounts)[1].alluxio_path, "/mnt/s3");
  EXPECT_EQ((*mounts)[1].secret_key, "SK");
  auto bad = parse_ufs_info(R"({"s3://b":{"secret_key":12345678}})");
  EXPECT_EQ(bad.status().code(), Code::kBadResponse);
  EXPECT_EQ(bad.status().message().find("12345678"), std::string::npos);
}

http::Response reply(http::State state, long status, std::string body = "") {
  http::Response r;
  r.state = state;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(WorkerReplies, StatusMappingTable) {
  using http::State;
  struct Case {
    State state;
    long status;
    bool enterprise;
    Code code;
  } cases[] = {
      {State::kOk, 200, false, Code::kOk},
      {State::kNotFound, 404, false, Code::kNotFound},
      {State::kHttp4xx, 400, false, Code::kInvalid},
      {State::kHttp4xx, 401, false, Code::kPermission},
      {State::kHttp4xx, 403, false, Code::kPermission},
      {State::kHttp4xx, 409, false, Code::kExists},
      {State::kHttp4xx, 412, false, Code::kPrecondition},
      {State::kHttp4xx, 413, false, Code::kTooLarge},
      {State::kHttp4xx, 418, false, Code::kInvalid},
      {State::kHttp5xx, 500, false, Code::kServerError},
      {State::kHttp5xx, 502, false, Code::kServerError},
      {State::kHttp5xx, 503, false, Code::kUnavailable},
      {State::kHttp5xx, 507, false, Code::kNoSpace},
      {State::kRefused, 0, false, Code::kUnavailable},
      {State::kTimeout, 0, false, Code::kTimeout},
      {State::kNoReply, 0, false, Code::kMiss},
      {State::kNoReply, 0, true, Code::kBadResponse},
      {State::kBadResponse, 200, false, Code::kBadResponse},
  };
  for (const auto& c : cases) {
    auto st = map_reply(reply(c.state, c.status), c.enterprise, "info", "s3://b/k");
    EXPECT_EQ(st.code(), c.code) << http::to_string(c.state) << " " << c.status;
  }
  EXPECT_EQ(map_reply(reply(State::kHttp4xx, 409), true, "rm", "k").code(), Code::kNotEmpty);
  EXPECT_EQ(map_reply(reply(State::kHttp4xx, 400), true, "rm", "k").code(), Code::kNotEmpty);
  EXPECT_EQ(map_reply(reply(State::kNotFound, 404), true, "rm", "k").code(), Code::kNotFound);
}

TEST(WorkerReplies, ErrorText) {
  auto st = map_reply(
      reply(http::State::kNotFound, 404, R"({"message":"File does not exist: s3://bkt/x"})"), true,
      "info", "s3://bkt/x");
  EXPECT_NE(st.message().find("File does not exist: s3://bkt/x"), std::string::npos);
  EXPECT_NE(st.message().find("info s3://bkt/x"), std::string::npos);
  std::string raw = "line1\nline2\x01" + std::string(500, 'z');
  std::string text = error_text(raw);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_NE(text.find("\\x0a"), std::string::npos);
  EXPECT_LT(text.size(), 220u);
}

}  // namespace
}  // namespace alluxio_fuse::worker
