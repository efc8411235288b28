// Design note: the read side of the S3 store and the namespace checks. S3 has no directories,
// so a directory is a `dir/` marker object or any key below the prefix. stat is one HEAD for a
// file (the common case) and a HEAD plus a one-key listing for a directory; list pages through
// ListObjectsV2 with delimiter "/" and merges common prefixes and objects by name (a file and a
// prefix with the same name show as the file, matching stat). Hostile names in a listing
// ("..", "", invalid UTF-8, keys outside the requested prefix) are dropped, never served.
#include "alluxio_fuse/ufs/s3_store.h"

#include <map>

#include "alluxio_fuse/common/uri.h"

namespace alluxio_fuse::ufs {

using common::Code;
using common::Result;
using common::Status;
using store::FileInfo;
using store::FileType;

namespace {

std::string last_component(const std::string& key) {
  auto pos = key.rfind('/');
  return pos == std::string::npos ? key : key.substr(pos + 1);
}

FileInfo directory_info(std::string name) {
  FileInfo info;
  info.name = std::move(name);
  info.type = FileType::kDirectory;
  return info;
}

}  // namespace

Result<ListPage> S3Store::list_page(const std::string& prefix, bool delimiter,
                                    const std::string& token, int max_keys,
                                    const std::string& what) {
  Call call;
  call.query = {{"list-type", "2"}, {"prefix", prefix}};
  if (delimiter) call.query.emplace_back("delimiter", "/");
  if (!token.empty()) call.query.emplace_back("continuation-token", token);
  if (max_keys > 0) call.query.emplace_back("max-keys", std::to_string(max_keys));
  call.metric = "ufs_list";
  CallResult r = perform(call, what);
  if (!r.status.ok()) return r.status;
  auto page = parse_list_page(r.response.body);
  if (!page.ok()) return Status(Code::kBadResponse, "s3 " + what + ": " + page.status().message());
  return page;
}

Result<bool> S3Store::prefix_exists(const std::string& prefix, const std::string& what) {
  auto page = list_page(prefix, false, "", 1, what);
  if (!page.ok()) return page.status();
  return !page->contents.empty() || !page->common_prefixes.empty();
}

Result<FileInfo> S3Store::head(const std::string& object_key, const std::string& what) {
  Call call;
  call.method = "HEAD";
  call.object_key = object_key;
  call.metric = "ufs_head";
  CallResult r = perform(call, what);
  if (!r.status.ok()) return r.status;
  FileInfo info;
  info.type = FileType::kFile;
  const std::string length = r.response.header("content-length");
  char* end = nullptr;
  info.size = std::strtoull(length.c_str(), &end, 10);
  if (length.empty() || end == nullptr || *end != '\0') {
    return Status(Code::kBadResponse, "s3 " + what + ": HEAD reply without a Content-Length");
  }
  info.mtime_ms = parse_http_date_ms(r.response.header("last-modified"));
  std::string etag = r.response.header("etag");
  for (char c : etag) {
    if (c != '"') info.content_hash.push_back(c);
  }
  return info;
}

Result<FileInfo> S3Store::stat_object(const std::string& object_key, std::string name,
                                      const std::string& what) {
  auto file = head(object_key, what);
  if (file.ok()) {
    file->name = std::move(name);
    return file;
  }
  if (file.status().code() != Code::kNotFound) return file.status();
  auto dir = prefix_exists(directory_prefix(object_key), what);
  if (!dir.ok()) return dir.status();
  if (!*dir) return Status(Code::kNotFound, "s3 " + what + ": no such file or directory");
  return directory_info(std::move(name));
}

Status S3Store::check_parent_dir(const std::string& key, const std::string& what) {
  const std::string parent = key.substr(0, key.rfind('/'));
  if (parent.size() <= options_.root.size()) return Status::Ok();  // the root
  auto info = stat(parent);
  if (!info.ok()) {
    if (info.status().code() == Code::kNotFound) {
      return Status(Code::kNotFound, "s3 " + what + ": parent directory does not exist");
    }
    return info.status();
  }
  if (!info->is_dir()) return Status(Code::kNotDir, "s3 " + what + ": parent is a file");
  return Status::Ok();
}

Result<FileInfo> S3Store::stat(const std::string& key) {
  auto obj = object_key(key);
  if (!obj.ok()) return obj.status();
  const std::string what = "stat " + key;
  if (key == options_.root) {
    // The root is a directory whenever the bucket answers; asking proves the bucket exists and
    // the credentials work, which is what start-up wants to know.
    auto page = list_page(directory_prefix(*obj), true, "", 1, what);
    if (!page.ok()) return page.status();
    return directory_info("");
  }
  return stat_object(*obj, last_component(key), what);
}

Result<std::vector<FileInfo>> S3Store::list(const std::string& key) {
  auto obj = object_key(key);
  if (!obj.ok()) return obj.status();
  const std::string what = "list " + key;
  const std::string prefix = directory_prefix(*obj);
  std::map<std::string, FileInfo> entries;
  bool any = false;
  std::string token;
  while (true) {
    auto page = list_page(prefix, true, token, 1000, what);
    if (!page.ok()) return page.status();
    for (const std::string& p : page->common_prefixes) {
      if (p.size() <= prefix.size() + 1 || p.compare(0, prefix.size(), prefix) != 0 ||
          p.back() != '/') {
        continue;
      }
      any = true;
      std::string name = p.substr(prefix.size(), p.size() - prefix.size() - 1);
      if (common::is_valid_name(name)) entries.emplace(name, directory_info(name));
    }
    for (const ListedObject& o : page->contents) {
      if (o.key.size() < prefix.size() || o.key.compare(0, prefix.size(), prefix) != 0) continue;
      any = true;
      std::string name = o.key.substr(prefix.size());
      if (name.empty() || !common::is_valid_name(name)) continue;  // the marker, or hostile
      FileInfo info;
      info.name = name;
      info.size = o.size;
      info.mtime_ms = o.mtime_ms;
      info.content_hash = o.etag;
      entries[name] = std::move(info);  // a file shadows a prefix of the same name
    }
    if (!page->truncated) break;
    if (page->next_token == token) {
      return Status(Code::kBadResponse, "s3 " + what + ": listing repeats its continuation token");
    }
    token = page->next_token;
  }
  if (!any && key != options_.root) {
    auto file = head(*obj, what);
    if (file.ok()) return Status(Code::kNotDir, "s3 " + what + ": is a file");
    if (file.status().code() == Code::kNotFound) {
      return Status(Code::kNotFound, "s3 " + what + ": no such directory");
    }
    return file.status();
  }
  std::vector<FileInfo> out;
  out.reserve(entries.size());
  for (auto& [name, info] : entries) out.push_back(std::move(info));
  return out;
}

Result<store::ReadReply> S3Store::read(const store::ReadRequest& request, char* buf) {
  auto obj = object_key(request.key);
  if (!obj.ok()) return obj.status();
  const std::string what = "read " + request.key;
  if (request.key == options_.root) return Status(Code::kIsDir, "s3 " + what + ": a directory");
  if (request.length == 0) {
    auto info = stat(request.key);
    if (!info.ok()) return info.status();
    if (info->is_dir()) return Status(Code::kIsDir, "s3 " + what + ": a directory");
    return store::ReadReply{0, store::Source::kUfs};
  }
  Call call;
  call.object_key = *obj;
  call.headers.emplace_back("Range", "bytes=" + std::to_string(request.offset) + "-" +
                                         std::to_string(request.offset + request.length - 1));
  call.out = buf;
  call.out_cap = request.length;
  call.metric = "ufs_get";
  call.deadline = Call::Deadline::kData;
  CallResult r = perform(call, what);
  if (r.status.ok()) {
    if (r.response.status == 200 && request.offset > 0 && r.response.body_bytes > 0) {
      return Status(Code::kBadResponse, "s3 " + what + ": the server ignored the Range header");
    }
    const size_t bytes = r.response.body_bytes;
    if (request.known_size && request.offset < *request.known_size &&
        bytes < std::min<uint64_t>(request.length, *request.known_size - request.offset)) {
      return Status(Code::kIo, "s3 " + what + ": short read (the object changed)");
    }
    return store::ReadReply{bytes, store::Source::kUfs};
  }
  const Code code = r.status.code();
  if (code == Code::kRange) return store::ReadReply{0, store::Source::kUfs};  // past EOF
  // An empty object: some servers (s3rver) answer a Range with "bytes 0-0/0" and no body.
  if (code == Code::kBadResponse && r.response.header("content-range").ends_with("/0")) {
    return store::ReadReply{0, store::Source::kUfs};
  }
  if (code == Code::kNotFound && r.response.body.find("NoSuchBucket") == std::string::npos) {
    auto dir = prefix_exists(directory_prefix(*obj), what);
    if (!dir.ok()) return dir.status();
    if (*dir) return Status(Code::kIsDir, "s3 " + what + ": a directory");
  }
  return r.status;
}

Status S3Store::mkdir(const std::string& key) {
  auto obj = object_key(key);
  if (!obj.ok()) return obj.status();
  const std::string what = "mkdir " + key;
  if (key == options_.root) return Status(Code::kExists, "s3 " + what + ": the root exists");
  AF_RETURN_IF_ERROR(check_parent_dir(key, what));
  auto existing = stat_object(*obj, last_component(key), what);
  if (existing.ok()) return Status(Code::kExists, "s3 " + what + ": already exists");
  if (existing.status().code() != Code::kNotFound) return existing.status();
  Call call;
  call.method = "PUT";
  call.object_key = directory_prefix(*obj);
  call.headers.emplace_back("Content-Type", "application/x-directory");
  call.metric = "ufs_put";
  return perform(call, what).status;
}

Status S3Store::remove(const std::string& key, bool directory) {
  auto obj = object_key(key);
  if (!obj.ok()) return obj.status();
  const std::string what = (directory ? "rmdir " : "unlink ") + key;
  if (key == options_.root) return Status(Code::kInvalid, "s3 " + what + ": the root");
  if (!directory) {
    auto file = head(*obj, what);
    if (file.status().code() == Code::kNotFound) {
      auto dir = prefix_exists(directory_prefix(*obj), what);
      if (!dir.ok()) return dir.status();
      return *dir ? Status(Code::kIsDir, "s3 " + what + ": a directory")
                  : Status(Code::kNotFound, "s3 " + what + ": no such file");
    }
    if (!file.ok()) return file.status();
    return delete_object(*obj, what);
  }
  const std::string prefix = directory_prefix(*obj);
  auto page = list_page(prefix, false, "", 2, what);
  if (!page.ok()) return page.status();
  bool marker = false;
  for (const ListedObject& o : page->contents) {
    if (o.key == prefix) {
      marker = true;
    } else {
      return Status(Code::kNotEmpty, "s3 " + what + ": directory not empty");
    }
  }
  if (!page->common_prefixes.empty()) {
    return Status(Code::kNotEmpty, "s3 " + what + ": directory not empty");
  }
  if (!marker) {
    auto file = head(*obj, what);
    if (file.ok()) return Status(Code::kNotDir, "s3 " + what + ": not a directory");
    if (file.status().code() == Code::kNotFound) {
      return Status(Code::kNotFound, "s3 " + what + ": no such directory");
    }
    return file.status();
  }
  return delete_object(prefix, what);
}

}  // namespace alluxio_fuse::ufs
