// Key normalisation. No case folding, no percent coding: keys are the exact bytes the
// reference clients hash and send (spec/README.md).
#include "alluxio_fuse/common/uri.h"

namespace alluxio_fuse::common {
namespace {

std::string collapse_slashes(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  return out;
}

}  // namespace

Result<std::string> normalize_root(std::string_view uri) {
  auto sep = uri.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return Status(Code::kInvalid, "expected <scheme>://<authority>/<path>");
  }
  std::string_view scheme = uri.substr(0, sep);
  std::string_view rest = uri.substr(sep + 3);
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string path = slash == std::string_view::npos ? "" : collapse_slashes(rest.substr(slash));
  if (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path == "/" && !authority.empty()) path.clear();
  std::string out;
  out.append(scheme).append("://").append(authority).append(path);
  return out;
}

std::string_view uri_scheme(std::string_view uri) {
  auto sep = uri.find("://");
  return sep == std::string_view::npos ? std::string_view() : uri.substr(0, sep);
}

std::string child_key(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out.empty() || out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

std::string join_key(std::string_view root, std::string_view rel) {
  std::string collapsed = collapse_slashes(rel);
  while (!collapsed.empty() && collapsed.front() == '/') collapsed.erase(0, 1);
  while (!collapsed.empty() && collapsed.back() == '/') collapsed.pop_back();
  if (collapsed.empty()) return std::string(root);
  return child_key(root, collapsed);
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) {
      return false;  // overlong
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

bool is_valid_name(std::string_view name) { return check_name(name).ok(); }

Status check_name(std::string_view name) {
  if (name.size() > kMaxNameBytes) return Status(Code::kNameTooLong, "name over 255 bytes");
  if (name.empty() || name == "." || name == "..") return Status(Code::kInvalid, "reserved name");
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return Status(Code::kInvalid, "name contains '/' or NUL");
  }
  if (!is_valid_utf8(name)) return Status(Code::kInvalid, "name is not valid UTF-8");
  return Status::Ok();
}

Result<std::string> local_path_for_key(std::string_view root, std::string_view key) {
  constexpr std::string_view kFile = "file://";
  if (root.substr(0, kFile.size()) != kFile) return Status(Code::kInvalid, "not a file:// root");
  // Only "file:///<absolute path>": "file://" or "file://host/x" would name paths relative to
  // the daemon's working directory (found by fuzzing).
  if (root.size() == kFile.size() || root[kFile.size()] != '/') {
    return Status(Code::kInvalid, "a file:// root needs an absolute path (file:///dir)");
  }
  if (key.substr(0, root.size()) != root) return Status(Code::kInvalid, "key outside the root");
  std::string_view rest = key.substr(root.size());
  if (!rest.empty() && rest.front() != '/' && root.back() != '/') {
    return Status(Code::kInvalid, "key outside the root");
  }
  // Refuse any ".." component: names never build local paths that escape the root.
  size_t pos = 0;
  while (pos <= rest.size()) {
    size_t next = rest.find('/', pos);
    if (next == std::string_view::npos) next = rest.size();
    if (rest.substr(pos, next - pos) == "..") return Status(Code::kInvalid, "'..' in key");
    pos = next + 1;
  }
  std::string path(root.substr(kFile.size()));
  path.append(rest);
  if (path.empty()) path = "/";
  return path;
}

}  // namespace alluxio_fuse::common
