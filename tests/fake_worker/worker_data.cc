// Data endpoints: pages, ranges, whole-file streams, head/tail, distributed load.
// Stored pages carry the "<size>-<mtime_ns>" version of the file they were read from; a
// read-through request (with ufsFullPath) re-reads a page whose file changed on disk, so tests
// that rewrite a backing file never get stale bytes from the fake. Page bodies are shared
// strings sent without copying; ranges and streams are read from the file at send time.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "alluxio_fuse/common/hash.h"
#include "worker.h"

namespace alluxio_fuse::fake_worker {
namespace {

using nlohmann::json;

constexpr int64_t kOssMaxPostBytes = 10 * 1024;
constexpr const char* kOctet = "application/octet-stream";

// Integer query parameter with a default; sets a 400 reply and returns nullopt when malformed.
std::optional<int64_t> int_param(const Query& q, const char* name, int64_t def,
                                 HttpResponse& resp) {
  auto it = q.find(name);
  if (it == q.end() || it->second.empty()) return def;
  try {
    size_t used = 0;
    int64_t v = std::stoll(it->second, &used);
    if (used == it->second.size() && v >= 0) return v;
  } catch (...) {
  }
  resp.set_json(400, error_json(std::string("bad integer for ") + name + ": " + it->second));
  return std::nullopt;
}

// Reads up to `len` bytes at `off`; a short result means EOF (or the file shrank).
std::optional<std::string> read_at(const std::string& path, int64_t off, int64_t len) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out(static_cast<size_t>(len), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t r = pread(fd, out.data() + got, out.size() - got, off + static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  close(fd);
  out.resize(got);
  return out;
}

void serve_slice(const StoredPage& page, int64_t offset, int64_t length, HttpResponse& resp) {
  const auto size = static_cast<int64_t>(page.data->size());
  const int64_t start = std::min(offset, size);
  resp.status = 200;
  resp.content_type = kOctet;
  resp.body = page.data;
  resp.body_offset = static_cast<size_t>(start);
  resp.body_length = static_cast<size_t>(std::min(length, size - start));
}

}  // namespace

void FakeWorker::get_page(const Route& r, const Query& q, HttpResponse& resp) {
  auto index = int_param(Query{{"page_index", r.page_index}}, "page_index", -1, resp);
  if (!index) return;
  if (*index < 0) return resp.set_json(400, error_json("bad page index"));
  auto offset = int_param(q, "offset", 0, resp);
  if (!offset) return;
  if (*offset > opt_.page_size) return resp.set_json(400, error_json("offset beyond the page"));
  auto length = int_param(q, "length", opt_.page_size - *offset, resp);
  if (!length) return;

  auto key_it = q.find("ufsFullPath");
  const bool read_through = key_it != q.end() && !key_it->second.empty() && !opt_.oss;
  const std::string store_id =
      key_it != q.end() && !key_it->second.empty() ? common::sha256_hex(key_it->second) : r.path_id;
  StoredPage page = pages_.get(store_id, *index);
  if (!read_through) {
    if (!page.data) {
      return resp.set_json(404, error_json("Page not in cache: " + r.path_id + "/" + r.page_index));
    }
    return serve_slice(page, *offset, *length, resp);
  }
  auto where = resolve(key_it->second, resp);
  if (!where) return;
  struct stat st {};
  if (stat(where->local.c_str(), &st) != 0) {
    return resp.set_json(404, error_json("File does not exist: " + key_it->second));
  }
  if (S_ISDIR(st.st_mode)) {
    return resp.set_json(400, error_json("Path is a directory: " + key_it->second));
  }
  const std::string version = version_of(st);
  if (!page.data || (!page.version.empty() && page.version != version)) {
    const int64_t start = *index * opt_.page_size;
    const int64_t want =
        std::max<int64_t>(0, std::min<int64_t>(opt_.page_size, st.st_size - start));
    if (want == 0) {
      page = StoredPage{std::make_shared<const std::string>(), version};
    } else {
      auto bytes = read_at(where->local, start, want);
      if (!bytes) return resp.set_json(500, error_json("cannot read " + key_it->second));
      page = StoredPage{std::make_shared<const std::string>(std::move(*bytes)), version};
      pages_.put(store_id, *index, page);
    }
  }
  serve_slice(page, *offset, *length, resp);
}

void FakeWorker::post_page(const Route& r, const HttpRequest& req, const Query& q,
                           HttpResponse& resp) {
  auto index = int_param(Query{{"page_index", r.page_index}}, "page_index", -1, resp);
  if (!index) return;
  if (*index < 0) return resp.set_json(400, error_json("bad page index"));
  const auto size = static_cast<int64_t>(req.body.size());
  if (size > (opt_.oss ? kOssMaxPostBytes : opt_.page_size)) {
    resp.close_after = true;
    return resp.set_json(413, error_json("page body too large"));
  }
  auto key_it = q.find("ufsFullPath");
  const std::string store_id =
      key_it != q.end() && !key_it->second.empty() ? common::sha256_hex(key_it->second) : r.path_id;
  pages_.put(store_id, *index, StoredPage{std::make_shared<const std::string>(req.body), ""});
  resp.set_json(200, R"({"success":true,"message":"Page written successfully"})");
}

void FakeWorker::range(const Query& q, HttpResponse& resp) {
  const std::string* key = require(q, "ufsFullPath", resp);
  if (key == nullptr) return;
  auto offset = int_param(q, "offset", 0, resp);
  if (!offset) return;
  auto length = int_param(q, "length", INT64_MAX, resp);
  if (!length) return;
  auto where = resolve(*key, resp);
  if (!where) return;
  struct stat st {};
  if (stat(where->local.c_str(), &st) != 0) {
    return resp.set_json(404, error_json("File does not exist: " + *key));
  }
  if (S_ISDIR(st.st_mode)) return resp.set_json(400, error_json("Path is a directory: " + *key));
  resp.status = 200;
  resp.content_type = kOctet;
  resp.file = std::make_unique<FileBody>();
  resp.file->path = where->local;
  resp.file->offset = std::min<int64_t>(*offset, st.st_size);
  resp.file->length = std::min<int64_t>(*length, st.st_size - resp.file->offset);
}

void FakeWorker::chunk_read(const Query& q, HttpResponse& resp) {
  const std::string* key = require(q, "ufsFullPath", resp);
  if (key == nullptr) return;
  auto chunk = int_param(q, "chunkSize", 1 << 20, resp);
  if (!chunk) return;
  auto where = resolve(*key, resp);
  if (!where) return;
  struct stat st {};
  if (stat(where->local.c_str(), &st) != 0) {
    return resp.set_json(404, error_json("File does not exist: " + *key));
  }
  if (S_ISDIR(st.st_mode)) return resp.set_json(400, error_json("Path is a directory: " + *key));
  resp.status = 200;
  resp.content_type = kOctet;
  resp.file = std::make_unique<FileBody>();
  resp.file->path = where->local;
  resp.file->length = st.st_size;
  resp.file->chunk_size = std::clamp<int64_t>(*chunk, 1, int64_t{64} << 20);
}

void FakeWorker::chunk_write(const HttpRequest& req, const Query& q, HttpResponse& resp) {
  const std::string* key = require(q, "ufsFullPath", resp);
  if (key == nullptr) return;
  auto where = resolve(*key, resp);
  if (!where) return;
  if (where->is_root) return resp.set_json(400, error_json("Cannot write a mount point: " + *key));
  std::filesystem::path target(where->local);
  std::error_code ec;
  if (!std::filesystem::is_directory(target.parent_path(), ec)) {
    return resp.set_json(404, error_json("Parent does not exist: " + *key));
  }
  if (std::filesystem::is_directory(target, ec)) {
    return resp.set_json(409, error_json("Path is a directory: " + *key));
  }
  static std::atomic<uint64_t> seq{0};
  const std::string tmp =
      (target.parent_path() / (std::string(kTempPrefix) + std::to_string(getpid()) + "-" +
                               std::to_string(seq.fetch_add(1))))
          .string();
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return resp.set_json(500, error_json("cannot create a temp file for " + *key));
  size_t done = 0;
  bool ok = true;
  while (ok && done < req.body.size()) {
    ssize_t w = write(fd, req.body.data() + done, req.body.size() - done);
    if (w < 0 && errno == EINTR) continue;
    ok = w > 0;
    if (ok) done += static_cast<size_t>(w);
  }
  ok = (close(fd) == 0) && ok;
  if (!ok || rename(tmp.c_str(), where->local.c_str()) != 0) {
    unlink(tmp.c_str());
    return resp.set_json(500, error_json("cannot write " + *key));
  }
  pages_.drop(common::sha256_hex(*key));
  resp.set_json(200, R"({"success":true,"message":""})");
}

void FakeWorker::head_tail(bool head, const Query& q, HttpResponse& resp) {
  const std::string* key = require(q, "ufsFullPath", resp);
  if (key == nullptr) return;
  auto n = int_param(q, "numOfBytes", 1024, resp);
  if (!n) return;
  auto where = resolve(*key, resp);
  if (!where) return;
  struct stat st {};
  if (stat(where->local.c_str(), &st) != 0) {
    return resp.set_json(404, error_json("File does not exist: " + *key));
  }
  if (S_ISDIR(st.st_mode)) return resp.set_json(400, error_json("Path is a directory: " + *key));
  const int64_t len = std::min<int64_t>(*n, st.st_size);
  resp.status = 200;
  resp.content_type = kOctet;
  resp.file = std::make_unique<FileBody>();
  resp.file->path = where->local;
  resp.file->offset = head ? 0 : st.st_size - len;
  resp.file->length = len;
}

bool FakeWorker::load_file(const std::string& key, const std::string& local) {
  struct stat st {};
  if (stat(local.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  const std::string id = common::sha256_hex(key);
  const std::string version = version_of(st);
  for (int64_t i = 0; i * opt_.page_size < st.st_size; ++i) {
    auto bytes = read_at(local, i * opt_.page_size, opt_.page_size);
    if (!bytes) return false;
    if (bytes->empty()) break;
    pages_.put(id, i, StoredPage{std::make_shared<const std::string>(std::move(*bytes)), version});
  }
  return true;
}

void FakeWorker::load(const Query& q, HttpResponse& resp) {
  const std::string* path = require(q, "path", resp);
  if (path == nullptr) return;
  const std::string* op = require(q, "opType", resp);
  if (op == nullptr) return;
  if (*op == "submit") {
    auto where = resolve(*path, resp);
    if (!where) return;
    std::error_code ec;
    if (!std::filesystem::exists(where->local, ec)) {
      if (opt_.oss) return resp.set_json(404, error_json("File does not exist: " + *path));
      return resp.set_json(
          200,
          json{{"success", false}, {"path", *path}, {"message", "File does not exist: " + *path}}
              .dump(-1, ' ', false, json::error_handler_t::replace));
    }
    int64_t files = 0;
    bool failed = false;
    if (std::filesystem::is_directory(where->local, ec)) {
      for (auto it = std::filesystem::recursive_directory_iterator(where->local, ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file()) continue;
        std::string rel = std::filesystem::relative(it->path(), where->local, ec).string();
        if (rel.rfind(kTempPrefix, 0) == 0) continue;
        if (load_file(child_of(*path, rel), it->path().string())) {
          ++files;
        } else {
          failed = true;
        }
      }
    } else {
      failed = !load_file(*path, where->local);
      files = failed ? 0 : 1;
    }
    std::string id;
    {
      std::lock_guard<std::mutex> lock(jobs_mu_);
      id = "job-" + std::to_string(next_job_++);
      jobs_[*path] = LoadJob{id, failed ? "FAILED" : "SUCCEEDED", files,
                             failed ? "some files could not be read" : ""};
    }
    return resp.set_json(
        200, json{{"success", true}, {"jobId", id}, {"path", *path}, {"message", ""}}.dump(
                 -1, ' ', false, json::error_handler_t::replace));
  }
  if (*op == "progress" || *op == "stop") {
    std::lock_guard<std::mutex> lock(jobs_mu_);
    auto it = jobs_.find(*path);
    json j;
    if (*op == "progress") {
      if (it == jobs_.end()) {
        j = {{"jobState", "FAILED"}, {"path", *path}, {"message", "No job found for " + *path}};
      } else {
        j = {{"jobState", it->second.state},
             {"path", *path},
             {"message", it->second.message},
             {"respProperties", {{"Files Processed", std::to_string(it->second.files)}}}};
      }
    } else {
      if (it != jobs_.end() && it->second.state == "RUNNING") it->second.state = "STOPPED";
      j = {{"success", it != jobs_.end()},
           {"path", *path},
           {"message", it == jobs_.end() ? "No job found for " + *path : ""}};
    }
    return resp.set_json(200, j.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  resp.set_json(400, error_json("bad opType: " + *op));
}

}  // namespace alluxio_fuse::fake_worker
