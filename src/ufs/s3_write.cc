// Design note: the mutating side of the S3 store. Whole-file replace is one streamed PUT up to
// the multipart threshold, else a multipart upload whose parts are read into one reusable
// buffer (http::Request streams from file offset 0 only) and which is aborted on any failure.
// Rename is copy then delete; a directory rename copies every object before deleting any
// source (semantics.md §2.4: a failure leaves duplicates, never a loss). A retried complete
// that finds its upload gone (the first attempt succeeded unseen) is verified with a HEAD.
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>

#include "alluxio_fuse/common/hash.h"
#include "alluxio_fuse/ufs/s3_errors.h"
#include "alluxio_fuse/ufs/s3_store.h"

namespace alluxio_fuse::ufs {

using common::Code;
using common::Result;
using common::Status;

namespace {

constexpr size_t kDeleteBatch = 1000;  // DeleteObjects limit

std::string base64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Status read_exact(int fd, char* buf, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t got = ::pread(fd, buf + done, len - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return Status(Code::kIo, "reading the staged file failed or it shrank");
    done += static_cast<size_t>(got);
  }
  return Status::Ok();
}

}  // namespace

uint64_t S3Store::part_size_for(uint64_t size) const {
  const uint64_t parts = std::max<uint64_t>(1, options_.max_parts);
  return std::max(options_.min_part_size, (size + parts - 1) / parts);
}

Status S3Store::write_file(const std::string& key, int fd, uint64_t size) {
  auto obj = object_key(key);
  if (!obj.ok()) return obj.status();
  const std::string what = "write " + key;
  if (key == options_.root) return Status(Code::kIsDir, "s3 " + what + ": the root");
  if (size > options_.multipart_threshold) return put_multipart(*obj, fd, size, what);
  return put_single(*obj, fd, size, what);
}

Status S3Store::put_single(const std::string& object_key, int fd, uint64_t size,
                           const std::string& what) {
  Call call;
  call.method = "PUT";
  call.object_key = object_key;
  if (size > 0) {
    call.upload_fd = fd;
    call.upload_size = size;
  }
  call.headers.emplace_back("Content-Type", "application/octet-stream");
  call.metric = "ufs_put";
  call.deadline = Call::Deadline::kStream;
  return perform(call, what).status;
}

Result<std::string> S3Store::initiate_multipart(const std::string& object_key,
                                                const std::string& what) {
  Call call;
  call.method = "POST";
  call.object_key = object_key;
  call.query = {{"uploads", ""}};
  call.headers.emplace_back("Content-Type", "application/octet-stream");
  call.metric = "ufs_multipart";
  CallResult r = perform(call, what);
  if (!r.status.ok()) return r.status;
  auto id = parse_upload_id(r.response.body);
  if (!id.ok()) return Status(Code::kBadResponse, "s3 " + what + ": " + id.status().message());
  return id;
}

Status S3Store::complete_multipart(const std::string& object_key, const std::string& upload_id,
                                   const std::vector<std::string>& etags, uint64_t size,
                                   const std::string& what) {
  Call call;
  call.method = "POST";
  call.object_key = object_key;
  call.query = {{"uploadId", upload_id}};
  call.body = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i) {
    call.body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
                 xml_escape(etags[i]) + "</ETag></Part>";
  }
  call.body += "</CompleteMultipartUpload>";
  call.headers.emplace_back("Content-Type", "application/xml");
  call.metric = "ufs_multipart";
  call.deadline = Call::Deadline::kLong;
  CallResult r = perform(call, what);
  if (r.status.code() == Code::kNotFound && r.attempts > 1) {
    // NoSuchUpload after a retry: the earlier attempt may have completed it.
    auto info = head(object_key, what);
    if (info.ok() && info->size == size) return Status::Ok();
  }
  return r.status;
}

void S3Store::abort_multipart(const std::string& object_key, const std::string& upload_id,
                              const std::string& what) {
  Call call;
  call.method = "DELETE";
  call.object_key = object_key;
  call.query = {{"uploadId", upload_id}};
  call.metric = "ufs_multipart";
  Status s = perform(call, what + " (abort)").status;
  if (!s.ok()) {
    spdlog::warn(
        "s3: aborting a failed multipart upload failed ({}); parts may linger until a "
        "bucket lifecycle rule removes them",
        s.to_string());
  }
}

Status S3Store::put_multipart(const std::string& object_key, int fd, uint64_t size,
                              const std::string& what) {
  const uint64_t part_size = part_size_for(size);
  auto upload_id = initiate_multipart(object_key, what);
  if (!upload_id.ok()) return upload_id.status();
  std::vector<std::string> etags;
  std::string buf;
  for (uint64_t offset = 0; offset < size; offset += part_size) {
    const size_t len = static_cast<size_t>(std::min(part_size, size - offset));
    buf.resize(len);
    Status read = read_exact(fd, buf.data(), len, offset);
    Call call;
    call.method = "PUT";
    call.object_key = object_key;
    call.query = {{"partNumber", std::to_string(etags.size() + 1)}, {"uploadId", *upload_id}};
    call.metric = "ufs_multipart";
    call.deadline = Call::Deadline::kStream;
    CallResult r;
    if (read.ok()) {
      call.body = std::move(buf);
      r = perform(call, what + " part " + std::to_string(etags.size() + 1));
      buf = std::move(call.body);
    }
    std::string etag = r.response.header("etag");
    if (!read.ok() || !r.status.ok() || etag.empty()) {
      abort_multipart(object_key, *upload_id, what);
      if (!read.ok()) return Status(Code::kIo, "s3 " + what + ": " + read.message());
      if (!r.status.ok()) return r.status;
      return Status(Code::kBadResponse, "s3 " + what + ": part reply without an ETag");
    }
    etags.push_back(std::move(etag));
  }
  Status done = complete_multipart(object_key, *upload_id, etags, size, what);
  if (!done.ok()) abort_multipart(object_key, *upload_id, what);
  return done;
}

Status S3Store::copy_object(const std::string& src_object, const std::string& dst_object,
                            uint64_t size, const std::string& what) {
  if (size > options_.max_copy_size) return copy_multipart(src_object, dst_object, size, what);
  Call call;
  call.method = "PUT";
  call.object_key = dst_object;
  call.headers.emplace_back("x-amz-copy-source",
                            "/" + location_.bucket + "/" + aws_uri_encode(src_object, true));
  call.metric = "ufs_copy";
  call.deadline = Call::Deadline::kLong;
  return perform(call, what).status;
}

Status S3Store::copy_multipart(const std::string& src_object, const std::string& dst_object,
                               uint64_t size, const std::string& what) {
  const uint64_t part_size = std::max(part_size_for(size), uint64_t{256} << 20);
  auto upload_id = initiate_multipart(dst_object, what);
  if (!upload_id.ok()) return upload_id.status();
  std::vector<std::string> etags;
  for (uint64_t offset = 0; offset < size; offset += part_size) {
    const uint64_t last = std::min(size, offset + part_size) - 1;
    Call call;
    call.method = "PUT";
    call.object_key = dst_object;
    call.query = {{"partNumber", std::to_string(etags.size() + 1)}, {"uploadId", *upload_id}};
    call.headers.emplace_back("x-amz-copy-source",
                              "/" + location_.bucket + "/" + aws_uri_encode(src_object, true));
    call.headers.emplace_back("x-amz-copy-source-range",
                              "bytes=" + std::to_string(offset) + "-" + std::to_string(last));
    call.metric = "ufs_multipart";
    call.deadline = Call::Deadline::kLong;
    CallResult r = perform(call, what + " part " + std::to_string(etags.size() + 1));
    std::string etag;
    if (r.status.ok()) {
      auto doc = parse_xml(r.response.body);
      if (doc.ok()) etag = doc->child_text("ETag");
    }
    if (!r.status.ok() || etag.empty()) {
      abort_multipart(dst_object, *upload_id, what);
      if (!r.status.ok()) return r.status;
      return Status(Code::kBadResponse, "s3 " + what + ": copy part reply without an ETag");
    }
    etags.push_back(std::move(etag));
  }
  Status done = complete_multipart(dst_object, *upload_id, etags, size, what);
  if (!done.ok()) abort_multipart(dst_object, *upload_id, what);
  return done;
}

Status S3Store::delete_object(const std::string& object_key, const std::string& what) {
  Call call;
  call.method = "DELETE";
  call.object_key = object_key;
  call.metric = "ufs_delete";
  CallResult r = perform(call, what);
  // Deleting an absent key is success in S3; a retry after an unseen success lands here too.
  if (r.status.code() == Code::kNotFound &&
      r.response.body.find("NoSuchBucket") == std::string::npos) {
    return Status::Ok();
  }
  return r.status;
}

Status S3Store::delete_objects(const std::vector<std::string>& object_keys,
                               const std::string& what) {
  for (size_t start = 0; start < object_keys.size(); start += kDeleteBatch) {
    Call call;
    call.method = "POST";
    call.query = {{"delete", ""}};
    call.body = "<Delete><Quiet>true</Quiet>";
    for (size_t i = start; i < std::min(object_keys.size(), start + kDeleteBatch); ++i) {
      call.body += "<Object><Key>" + xml_escape(object_keys[i]) + "</Key></Object>";
    }
    call.body += "</Delete>";
    call.headers.emplace_back("Content-Type", "application/xml");
    call.headers.emplace_back("Content-MD5", base64(common::md5_raw(call.body)));
    call.metric = "ufs_delete";
    CallResult r = perform(call, what);
    if (!r.status.ok()) return r.status;
    auto errors = parse_delete_errors(r.response.body);
    if (!errors.ok())
      return Status(Code::kBadResponse, "s3 " + what + ": " + errors.status().message());
    for (const auto& [key, e] : *errors) {
      if (e.code == "NoSuchKey") continue;
      std::string msg = "s3 " + what + ": deleting ";
      msg += key + ": " + e.code + ": " + e.message;
      return Status(code_of_s3_error(e.code, 500), std::move(msg));
    }
  }
  return Status::Ok();
}

Status S3Store::rename(const std::string& src, const std::string& dst) {
  auto src_obj = object_key(src);
  if (!src_obj.ok()) return src_obj.status();
  auto dst_obj = object_key(dst);
  if (!dst_obj.ok()) return dst_obj.status();
  const std::string what = "rename " + src + " to " + dst;
  if (src == options_.root || dst == options_.root || dst.starts_with(src + "/")) {
    return Status(Code::kInvalid, "s3 " + what + ": the root, or into itself");
  }
  AF_RETURN_IF_ERROR(check_parent_dir(dst, what));
  auto existing = stat_object(*dst_obj, "", what);
  if (existing.ok()) return Status(Code::kExists, "s3 " + what + ": destination exists");
  if (existing.status().code() != Code::kNotFound) return existing.status();
  auto source = stat_object(*src_obj, "", what);
  if (!source.ok()) return source.status();
  if (!source->is_dir()) {
    AF_RETURN_IF_ERROR(copy_object(*src_obj, *dst_obj, source->size, what));
    return delete_object(*src_obj, what);
  }
  // Every object below the source prefix, the marker included.
  const std::string src_prefix = directory_prefix(*src_obj);
  const std::string dst_prefix = directory_prefix(*dst_obj);
  std::vector<ListedObject> objects;
  std::string token;
  while (true) {
    auto page = list_page(src_prefix, false, token, 1000, what);
    if (!page.ok()) return page.status();
    for (auto& o : page->contents) {
      if (o.key.starts_with(src_prefix)) objects.push_back(std::move(o));
    }
    if (!page->truncated) break;
    if (page->next_token == token) {
      return Status(Code::kBadResponse, "s3 " + what + ": listing repeats its continuation token");
    }
    token = page->next_token;
  }
  std::vector<std::string> sources;
  for (const ListedObject& o : objects) {
    Status copied = copy_object(o.key, dst_prefix + o.key.substr(src_prefix.size()), o.size, what);
    if (!copied.ok()) {
      return Status(copied.code(), copied.message() + " (rename may be partial: sources kept)");
    }
    sources.push_back(o.key);
  }
  return delete_objects(sources, what);
}

}  // namespace alluxio_fuse::ufs
