// Namespace endpoints: info, listing, mkdir, touch, rm, mv, copy, node, ufsInfo.
// Statuses follow worker-rest.md §3.9–3.13 and §6: 404 for a missing path or parent, 409 for
// an existing destination or a non-recursive rm of a non-empty directory, 400 for requests that
// are wrong for the path. Every mutation drops the stored pages of the paths it touched.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "alluxio_fuse/common/hash.h"
#include "worker.h"

namespace alluxio_fuse::fake_worker {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kOk = R"({"success":true,"message":""})";

bool exists_nofollow(const std::string& p) {
  struct stat st {};
  return lstat(p.c_str(), &st) == 0;
}

bool parent_is_dir(const std::string& local) {
  std::error_code ec;
  return fs::is_directory(fs::path(local).parent_path(), ec);
}

// A boolean option; `def` when absent. Sets a 400 reply and returns nullopt when malformed.
std::optional<bool> bool_param(const Query& q, const char* name, bool def, HttpResponse& resp) {
  auto it = q.find(name);
  if (it == q.end() || it->second.empty()) return def;
  auto v = parse_bool(it->second);
  if (!v)
    resp.set_json(400, error_json(std::string("bad boolean for ") + name + ": " + it->second));
  return v;
}

// Hostile entries of worker-rest.md §6, as raw JSON text: the unpaired surrogate cannot be
// produced by a JSON library, so it is spliced in by hand.
std::string hostile_entries(const std::string& dir_key, const std::string& duplicate,
                            bool duplicate_twice) {
  auto entry = [&](const std::string& name, const std::string& type) {
    json j = {{"mType", type},
              {"mName", name},
              {"mPath", "/" + name},
              {"mUfsPath", dir_key + "/" + name},
              {"mLength", 1},
              {"mHumanReadableFileSize", "1B"},
              {"mLastModificationTimeMs", 1700000000000},
              {"mMode", 420}};
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
  };
  std::string out;
  for (const std::string& name : {std::string(".."), std::string("."), std::string("a/b"),
                                  std::string("nul\0name", 8), std::string(300, 'x'), duplicate}) {
    out += "," + entry(name, "file");
  }
  if (duplicate_twice) out += "," + entry(duplicate, "file");
  std::string surrogate = entry("SURROGATE_PLACEHOLDER", "file");
  for (size_t p; (p = surrogate.find("SURROGATE_PLACEHOLDER")) != std::string::npos;) {
    surrogate.replace(p, 21, "bad\\udc80");
  }
  out += "," + surrogate;
  out += "," + entry("link", "symlink");
  return out;
}

void copy_times(const fs::path& src, const fs::path& dst) {
  struct stat st {};
  if (stat(src.c_str(), &st) != 0) return;
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  utimensat(AT_FDCWD, dst.c_str(), times, 0);
}

}  // namespace

void FakeWorker::info(const Query& q, HttpResponse& resp) {
  const std::string* key = require(q, "path", resp);
  if (key == nullptr) return;
  auto where = resolve(*key, resp);
  if (!where) return;
  struct stat st {};
  if (stat(where->local.c_str(), &st) != 0) {
    return resp.set_json(404, error_json("File does not exist: " + *key));
  }
  const std::string name = where->is_root ? last_name(*key) : last_name(where->rel);
  resp.set_json(200, "[" + file_info_json(*key, name, where->rel, st) + "]");
}

void FakeWorker::list(const Query& q, HttpResponse& resp) {
  const std::string* key = require(q, "path", resp);
  if (key == nullptr) return;
  auto where = resolve(*key, resp);
  if (!where) return;
  struct stat st {};
  if (stat(where->local.c_str(), &st) != 0) {
    return resp.set_json(404, error_json("File does not exist: " + *key));
  }
  if (!S_ISDIR(st.st_mode)) return resp.set_json(400, error_json("Not a directory: " + *key));
  std::vector<std::string> names;
  std::error_code ec;
  for (auto it = fs::directory_iterator(where->local, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(kTempPrefix, 0) != 0) names.push_back(std::move(name));
  }
  if (ec) return resp.set_json(500, error_json("cannot list " + *key));
  std::sort(names.begin(), names.end());
  std::string out = "[";
  bool first = true;
  for (const auto& name : names) {
    struct stat cst {};
    if (stat((where->local + "/" + name).c_str(), &cst) != 0) continue;  // raced with a delete
    const std::string rel = where->rel.empty() ? name : where->rel + "/" + name;
    if (!first) out += ",";
    first = false;
    out += file_info_json(child_of(*key, name), name, rel, cst);
  }
  if (faults_.hostile_names()) {
    std::string h = hostile_entries(*key, names.empty() ? "dup" : names.front(), names.empty());
    if (first) h.erase(0, 1);  // no leading comma in an otherwise empty array
    out += h;
  }
  out += "]";
  resp.set_json(200, out);
}

void FakeWorker::mkdir(const Query& q, HttpResponse& resp) {
  const std::string* key = require(q, "ufsFullPath", resp);
  if (key == nullptr) return;
  auto where = resolve(*key, resp);
  if (!where) return;
  if (where->is_root || exists_nofollow(where->local)) {
    return resp.set_json(409, error_json("Path already exists: " + *key));
  }
  struct stat pst {};
  if (stat(fs::path(where->local).parent_path().c_str(), &pst) != 0) {
    return resp.set_json(404, error_json("Parent does not exist: " + *key));
  }
  if (!S_ISDIR(pst.st_mode)) return resp.set_json(400, error_json("Parent is a file: " + *key));
  if (::mkdir(where->local.c_str(), 0755) != 0) {
    if (errno == EEXIST) return resp.set_json(409, error_json("Path already exists: " + *key));
    return resp.set_json(500, error_json("mkdir failed: " + *key));
  }
  resp.set_json(200, kOk);
}

void FakeWorker::touch(const Query& q, HttpResponse& resp) {
  const std::string* key = require(q, "ufsFullPath", resp);
  if (key == nullptr) return;
  auto where = resolve(*key, resp);
  if (!where) return;
  struct stat st {};
  if (stat(where->local.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return resp.set_json(400, error_json("Path is a directory: " + *key));
    return resp.set_json(200, kOk);  // an existing file is left unchanged
  }
  if (!parent_is_dir(where->local)) {
    return resp.set_json(404, error_json("Parent does not exist: " + *key));
  }
  int fd = open(where->local.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return resp.set_json(500, error_json("touch failed: " + *key));
  close(fd);
  pages_.drop(common::sha256_hex(*key));
  resp.set_json(200, kOk);
}

void FakeWorker::rm(const Query& q, HttpResponse& resp) {
  const std::string* key = require(q, "ufsFullPath", resp);
  if (key == nullptr) return;
  auto recursive = bool_param(q, "recursive", false, resp);
  auto alias = bool_param(q, "recursiveAlias", false, resp);
  auto sync_parent = bool_param(q, "sync_parent_next_time", false, resp);
  auto unchecked = bool_param(q, "remove_unchecked_option", false, resp);
  auto alluxio_only = bool_param(q, "remove_alluxio_only", false, resp);
  auto mount_point = bool_param(q, "delete_mount_point", false, resp);
  if (!recursive || !alias || !sync_parent || !unchecked || !alluxio_only || !mount_point) return;
  auto where = resolve(*key, resp);
  if (!where) return;
  if (*alluxio_only) {
    drop_pages_tree(*key, where->local);
    return resp.set_json(200, kOk);
  }
  struct stat st {};
  if (lstat(where->local.c_str(), &st) != 0) {
    return resp.set_json(404, error_json("File does not exist: " + *key));
  }
  if (where->is_root && !*mount_point) {
    return resp.set_json(
        400, error_json("Cannot delete a mount point without delete_mount_point: " + *key));
  }
  std::error_code ec;
  const bool rec = *recursive || *alias;
  if (S_ISDIR(st.st_mode) && !rec && !fs::is_empty(where->local, ec)) {
    return resp.set_json(409, error_json("Directory not empty: " + *key));
  }
  drop_pages_tree(*key, where->local);
  if (where->is_root) {
    // The mapping directory stays so the mount keeps working; its contents go.
    for (auto it = fs::directory_iterator(where->local, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      fs::remove_all(it->path(), ec);
    }
  } else {
    fs::remove_all(where->local, ec);
  }
  if (ec) return resp.set_json(500, error_json("delete failed: " + *key));
  resp.set_json(200, kOk);
}

void FakeWorker::mv(const Query& q, HttpResponse& resp) {
  const std::string* src = require(q, "srcPath", resp);
  if (src == nullptr) return;
  const std::string* dst = require(q, "dstPath", resp);
  if (dst == nullptr) return;
  auto from = resolve(*src, resp);
  if (!from) return;
  auto to = resolve(*dst, resp);
  if (!to) return;
  if (!exists_nofollow(from->local)) {
    return resp.set_json(404, error_json("File does not exist: " + *src));
  }
  if (from->is_root) return resp.set_json(400, error_json("Cannot move a mount point: " + *src));
  if (to->is_root || exists_nofollow(to->local)) {
    return resp.set_json(409, error_json("Destination already exists: " + *dst));
  }
  if (!parent_is_dir(to->local)) {
    return resp.set_json(404, error_json("Destination parent does not exist: " + *dst));
  }
  if (to->local.rfind(from->local + "/", 0) == 0) {
    return resp.set_json(400, error_json("Cannot move a directory into itself: " + *src));
  }
  drop_pages_tree(*src, from->local);
  pages_.drop(common::sha256_hex(*dst));
  std::error_code ec;
  fs::rename(from->local, to->local, ec);
  if (ec == std::errc::cross_device_link) {
    ec.clear();
    fs::copy(from->local, to->local, fs::copy_options::recursive, ec);
    if (!ec) fs::remove_all(from->local, ec);
  }
  if (ec) return resp.set_json(500, error_json("rename failed: " + *src));
  resp.set_json(200, kOk);
}

void FakeWorker::copy(const Query& q, HttpResponse& resp) {
  const std::string* src = require(q, "srcPath", resp);
  if (src == nullptr) return;
  const std::string* dst = require(q, "dstPath", resp);
  if (dst == nullptr) return;
  auto recursive = bool_param(q, "recursive", true, resp);
  auto alias = bool_param(q, "recursiveAlias", false, resp);
  auto forced = bool_param(q, "forced", false, resp);
  auto preserve = bool_param(q, "preserve", true, resp);
  if (!recursive || !alias || !forced || !preserve) return;
  // `thread` and `buffer_size` tune the real worker's copy; they are accepted and ignored.
  auto from = resolve(*src, resp);
  if (!from) return;
  auto to = resolve(*dst, resp);
  if (!to) return;
  struct stat st {};
  if (stat(from->local.c_str(), &st) != 0) {
    return resp.set_json(404, error_json("File does not exist: " + *src));
  }
  if (exists_nofollow(to->local) && !*forced) {
    return resp.set_json(409, error_json("Destination already exists: " + *dst));
  }
  if (!parent_is_dir(to->local) && !to->is_root) {
    return resp.set_json(404, error_json("Destination parent does not exist: " + *dst));
  }
  const bool dir = S_ISDIR(st.st_mode);
  if (dir && !(*recursive || *alias)) {
    return resp.set_json(400, error_json("Source is a directory and recursive is False: " + *src));
  }
  if (dir && to->local.rfind(from->local + "/", 0) == 0) {
    return resp.set_json(400, error_json("Cannot copy a directory into itself: " + *src));
  }
  auto opts = fs::copy_options::recursive;
  if (*forced) opts |= fs::copy_options::overwrite_existing;
  std::error_code ec;
  fs::copy(from->local, to->local, opts, ec);
  if (ec) return resp.set_json(500, error_json("copy failed: " + *src));
  if (*preserve) {
    copy_times(from->local, to->local);
    if (dir) {
      for (auto it = fs::recursive_directory_iterator(from->local, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        copy_times(it->path(), fs::path(to->local) / fs::relative(it->path(), from->local, ec));
      }
    }
  }
  drop_pages_tree(*dst, to->local);
  resp.set_json(200, kOk);
}

void FakeWorker::node(const Query& q, HttpResponse& resp) {
  const std::string* key = require(q, "path", resp);
  if (key == nullptr) return;
  json j;
  if (ring_.empty()) {
    j = {{"Host", opt_.bind}, {"HttpServerPort", port_}};
  } else {
    const Peer p = ring_.owner(*key);
    j = {{"Host", p.host}, {"HttpServerPort", p.port}};
  }
  resp.set_json(200, j.dump());
}

void FakeWorker::ufs_info(HttpResponse& resp) {
  // No credentials: the fake's under-stores are local directories.
  json j = json::object();
  for (size_t i = 0; i < opt_.ufs_maps.size(); ++i) {
    j[opt_.ufs_maps[i].prefix] = {{"alluxio_path", "/mnt/ufs" + std::to_string(i)}};
  }
  resp.set_json(200, j.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace alluxio_fuse::fake_worker
