// Key-to-local-path mapping, query decoding and the file-info JSON of worker-rest.md §5.1.
// Mapping is by the longest `--ufs-map` prefix that ends at a '/' boundary; "." and ".."
// components are refused so no key can reach outside its mapped directory.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "alluxio_fuse/common/hash.h"
#include "worker.h"

namespace alluxio_fuse::fake_worker {
namespace {

using nlohmann::json;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Owner and group names are looked up once per id: listings stat many files.
std::string id_name(bool user, unsigned id) {
  static std::mutex mu;
  static std::map<std::pair<bool, unsigned>, std::string> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_pair(user, id);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  std::string name = std::to_string(id);
  char buf[4096];
  if (user) {
    struct passwd pw {};
    struct passwd* out = nullptr;
    if (getpwuid_r(id, &pw, buf, sizeof(buf), &out) == 0 && out != nullptr) name = out->pw_name;
  } else {
    struct group gr {};
    struct group* out = nullptr;
    if (getgrgid_r(id, &gr, buf, sizeof(buf), &out) == 0 && out != nullptr) name = out->gr_name;
  }
  cache[key] = name;
  return name;
}

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

}  // namespace

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

Query parse_query(const std::string& raw) {
  Query q;
  size_t pos = 0;
  while (pos <= raw.size()) {
    size_t amp = raw.find('&', pos);
    if (amp == std::string::npos) amp = raw.size();
    std::string_view item(raw.data() + pos, amp - pos);
    if (!item.empty()) {
      size_t eq = item.find('=');
      std::string name = percent_decode(item.substr(0, eq), true);
      std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
      // Only the form-encoded `path=` uses '+' for space (worker-rest.md §2); elsewhere a '+'
      // is the reference client's raw substitution of a literal '+'.
      q.emplace(name, percent_decode(value, name == "path"));
    }
    pos = amp + 1;
  }
  return q;
}

std::string human_size(int64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + "B";
  static const char* kUnits[] = {"KB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(bytes);
  int u = -1;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  snprintf(buf, sizeof(buf), "%.2f%s", v, kUnits[u]);
  return buf;
}

std::string version_of(const struct stat& st) {
  int64_t size = S_ISDIR(st.st_mode) ? 0 : static_cast<int64_t>(st.st_size);
  return std::to_string(size) + "-" + std::to_string(mtime_ns(st));
}

std::string error_json(const std::string& message) {
  return json{{"message", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

int64_t parse_size(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return -1;
  double num = 0;
  try {
    num = std::stod(s.substr(0, i));
  } catch (...) {
    return -1;
  }
  std::string unit;
  for (size_t j = i; j < s.size(); ++j) {
    if (s[j] != ' ')
      unit.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(s[j]))));
  }
  double mult = 1;
  if (unit.empty() || unit == "B") {
    mult = 1;
  } else if (unit == "K" || unit == "KB" || unit == "KIB") {
    mult = 1024.0;
  } else if (unit == "M" || unit == "MB" || unit == "MIB") {
    mult = 1024.0 * 1024;
  } else if (unit == "G" || unit == "GB" || unit == "GIB") {
    mult = 1024.0 * 1024 * 1024;
  } else if (unit == "T" || unit == "TB" || unit == "TIB") {
    mult = 1024.0 * 1024 * 1024 * 1024;
  } else {
    return -1;
  }
  return static_cast<int64_t>(std::floor(num * mult));
}

std::optional<bool> parse_bool(const std::string& s) {
  std::string l;
  for (char c : s) l.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (l == "true" || l == "1") return true;
  if (l == "false" || l == "0") return false;
  return std::nullopt;
}

std::string child_of(const std::string& dir_key, const std::string& name) {
  if (!dir_key.empty() && dir_key.back() == '/') return dir_key + name;
  return dir_key + "/" + name;
}

std::string last_name(const std::string& key) {
  std::string k = key;
  while (k.size() > 1 && k.back() == '/') k.pop_back();
  size_t slash = k.rfind('/');
  return slash == std::string::npos ? k : k.substr(slash + 1);
}

const std::string* FakeWorker::require(const Query& q, const char* name, HttpResponse& resp) {
  auto it = q.find(name);
  if (it == q.end() || it->second.empty()) {
    resp.set_json(400, error_json(std::string("missing query parameter ") + name));
    return nullptr;
  }
  return &it->second;
}

std::optional<Resolved> FakeWorker::resolve(const std::string& key, HttpResponse& resp) const {
  const UfsMapping* best = nullptr;
  for (const auto& m : opt_.ufs_maps) {
    if (key.compare(0, m.prefix.size(), m.prefix) != 0) continue;
    if (key.size() != m.prefix.size() && key[m.prefix.size()] != '/') continue;
    if (best == nullptr || m.prefix.size() > best->prefix.size()) best = &m;
  }
  if (best == nullptr) {
    resp.set_json(404, error_json("File does not exist: " + key + " (no mount for this path)"));
    return std::nullopt;
  }
  Resolved r;
  std::string_view rest(key);
  rest.remove_prefix(best->prefix.size());
  size_t pos = 0;
  while (pos < rest.size()) {
    size_t slash = rest.find('/', pos);
    if (slash == std::string_view::npos) slash = rest.size();
    std::string_view comp = rest.substr(pos, slash - pos);
    pos = slash + 1;
    if (comp.empty()) continue;
    if (comp == "." || comp == ".." || comp.find('\0') != std::string_view::npos) {
      resp.set_json(400, error_json("Invalid path: " + key));
      return std::nullopt;
    }
    if (!r.rel.empty()) r.rel += "/";
    r.rel += comp;
  }
  r.is_root = r.rel.empty();
  r.local = r.is_root ? best->dir : best->dir + "/" + r.rel;
  return r;
}

std::string FakeWorker::file_info_json(const std::string& key, const std::string& name,
                                       const std::string& rel, const struct stat& st) {
  const bool dir = S_ISDIR(st.st_mode);
  const int64_t size = dir ? 0 : static_cast<int64_t>(st.st_size);
  const int64_t mtime_ms = mtime_ns(st) / 1'000'000;
  json j;
  j["mType"] = dir ? "directory" : "file";
  j["mName"] = name;
  j["mPath"] = "/" + rel;
  j["mUfsPath"] = key;
  j["mLength"] = size;
  j["mHumanReadableFileSize"] = human_size(size);
  j["mLastModificationTimeMs"] = mtime_ms;
  if (!opt_.oss) {
    j["mLastAccessTimeMs"] =
        static_cast<int64_t>(st.st_atim.tv_sec) * 1000 + st.st_atim.tv_nsec / 1'000'000;
    j["mCreationTimeMs"] =
        static_cast<int64_t>(st.st_ctim.tv_sec) * 1000 + st.st_ctim.tv_nsec / 1'000'000;
    j["mMode"] = st.st_mode & 07777;
    j["mOwner"] = id_name(true, st.st_uid);
    j["mGroup"] = id_name(false, st.st_gid);
    j["mContentHash"] = version_of(st);
    j["mCompleted"] = true;
    j["mPersisted"] = true;
    int64_t stored = dir ? 0 : pages_.bytes_of(common::sha256_hex(key));
    j["mInAlluxioPercentage"] =
        size == 0 ? (dir ? 0 : 100) : static_cast<int>(std::min<int64_t>(100, stored * 100 / size));
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void FakeWorker::drop_pages_tree(const std::string& key, const std::string& local) {
  pages_.drop(common::sha256_hex(key));
  std::error_code ec;
  if (!std::filesystem::is_directory(local, ec)) return;
  for (auto it = std::filesystem::recursive_directory_iterator(local, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::string rel = std::filesystem::relative(it->path(), local, ec).string();
    if (!ec) pages_.drop(common::sha256_hex(child_of(key, rel)));
  }
}

}  // namespace alluxio_fuse::fake_worker
