// Strict parsing of the worker's file-info JSON (worker-rest.md §5).
//
// Design note: nlohmann rejects a whole document that holds an unpaired surrogate escape or
// invalid raw UTF-8, while §5.2 wants only the offending entry dropped. sanitize_json therefore
// rewrites such string content to "\u0000" first (NUL is never valid in a name, so the entry is
// rejected by the name check; informational fields just carry a NUL). The same pass bounds the
// nesting depth so a hostile document cannot make the parser or destructor recurse deeply.
// Entries are validated field by field: a wrong JSON type makes the entry invalid; null counts
// as absent (Java serialisers emit null for unset fields).
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "alluxio_fuse/common/uri.h"
#include "alluxio_fuse/worker/wire.h"

namespace alluxio_fuse::worker {
namespace {

using common::Code;
using common::Result;
using common::Status;
using nlohmann::json;
using store::FileInfo;

constexpr int kMaxDepth = 64;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Code unit of a "\uXXXX" escape starting at text[i] (the backslash), or -1.
int escape_unit(std::string_view text, size_t i) {
  if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return -1;
  int v = 0;
  for (size_t k = 2; k < 6; ++k) {
    int h = hex_value(text[i + k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

size_t utf8_length(unsigned char lead) {
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 0;
}

// Optional typed fields: absent/null → false with `ok` unchanged; wrong type → ok = false.
bool get_string(const json& obj, const char* name, std::string* out, bool* ok) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_string()) {
    *ok = false;
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

bool get_int(const json& obj, const char* name, int64_t* out, bool* ok) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return false;
  if (it->is_number_unsigned()) {
    auto v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX)) {
      *ok = false;
      return false;
    }
    *out = static_cast<int64_t>(v);
    return true;
  }
  if (!it->is_number_integer()) {
    *ok = false;
    return false;
  }
  *out = it->get<int64_t>();
  return true;
}

bool get_bool(const json& obj, const char* name, bool* out, bool* ok) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_boolean()) {
    *ok = false;
    return false;
  }
  *out = it->get<bool>();
  return true;
}

// One file-info object; nullopt when the entry is invalid (§5.1, §5.2 when check_name).
std::optional<FileInfo> parse_entry(const json& obj, bool check_name) {
  if (!obj.is_object()) return std::nullopt;
  bool ok = true;
  FileInfo info;
  std::string type;
  if (!get_string(obj, "mType", &type, &ok)) return std::nullopt;
  if (type == "file") {
    info.type = store::FileType::kFile;
  } else if (type == "directory") {
    info.type = store::FileType::kDirectory;
  } else {
    return std::nullopt;  // symlink and anything else
  }
  if (!get_string(obj, "mName", &info.name, &ok)) return std::nullopt;
  if (check_name && !common::check_name(info.name).ok()) return std::nullopt;

  int64_t length = 0;
  std::string human;
  if (get_int(obj, "mLength", &length, &ok)) {
    if (length < 0) return std::nullopt;
    info.size = static_cast<uint64_t>(length);
    info.size_exact = true;
  } else if (ok && get_string(obj, "mHumanReadableFileSize", &human, &ok)) {
    auto parsed = parse_human_size(human);
    if (!parsed) return std::nullopt;
    info.size = parsed->bytes;
    info.size_exact = parsed->exact;
  } else {
    info.size = 0;  // the 2023 open-source server sends no size: unknown (§5.3)
    info.size_exact = false;
  }
  if (!ok) return std::nullopt;
  if (info.is_dir()) {
    info.size = 0;
    info.size_exact = true;
  }

  int64_t value = 0;
  if (get_int(obj, "mLastModificationTimeMs", &value, &ok)) info.mtime_ms = value > 0 ? value : 0;
  if (get_int(obj, "mLastAccessTimeMs", &value, &ok)) info.atime_ms = value > 0 ? value : 0;
  get_int(obj, "mCreationTimeMs", &value, &ok);  // not mapped; type-checked only
  if (get_int(obj, "mMode", &value, &ok)) {
    if (value < 0) return std::nullopt;
    info.mode = static_cast<uint32_t>(value & 07777);
  }
  get_string(obj, "mOwner", &info.owner, &ok);
  get_string(obj, "mGroup", &info.group, &ok);
  get_string(obj, "mContentHash", &info.content_hash, &ok);
  get_bool(obj, "mCompleted", &info.completed, &ok);
  bool persisted = false;
  get_bool(obj, "mPersisted", &persisted, &ok);
  if (get_int(obj, "mInAlluxioPercentage", &value, &ok)) {
    if (value < 0 || value > 100) return std::nullopt;
    info.in_alluxio_percentage = static_cast<int>(value);
  }
  std::string informational;
  get_string(obj, "mPath", &informational, &ok);
  get_string(obj, "mUfsPath", &informational, &ok);
  if (!ok) return std::nullopt;
  return info;
}

Result<json> parse_document(std::string_view body) {
  auto clean = sanitize_json(body);
  if (!clean.ok()) return clean.status();
  json doc = json::parse(clean.value(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status(Code::kBadResponse, "malformed JSON");
  return doc;
}

}  // namespace

Result<std::string> sanitize_json(std::string_view text) {
  std::string out;
  bool changed = false;
  size_t copied = 0;  // text[0, copied) is already in `out` when changed
  auto replace = [&](size_t from, size_t to) {
    if (!changed) out.reserve(text.size() + 16);
    changed = true;
    out.append(text.substr(copied, from - copied)).append("\\u0000");
    copied = to;
  };
  int depth = 0;
  bool in_string = false;
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (!in_string) {
      if (c == '"') {
        in_string = true;
      } else if (c == '[' || c == '{') {
        if (++depth > kMaxDepth) return Status(Code::kBadResponse, "JSON nested too deeply");
      } else if (c == ']' || c == '}') {
        --depth;
      }
      ++i;
      continue;
    }
    if (c == '"') {
      in_string = false;
      ++i;
    } else if (c == '\\') {
      int unit = escape_unit(text, i);
      if (unit >= 0xD800 && unit <= 0xDBFF) {
        int low = escape_unit(text, i + 6);
        if (low >= 0xDC00 && low <= 0xDFFF) {
          i += 12;
        } else {
          replace(i, i + 6);
          i += 6;
        }
      } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
        replace(i, i + 6);
        i += 6;
      } else {
        i += (unit >= 0) ? 6 : 2;  // other escapes are left to the parser to judge
      }
    } else if (c >= 0x80) {
      size_t len = utf8_length(c);
      if (len == 0 || i + len > text.size() || !common::is_valid_utf8(text.substr(i, len))) {
        replace(i, i + 1);
        i += 1;
      } else {
        i += len;
      }
    } else {
      ++i;
    }
  }
  if (!changed) return std::string(text);
  out.append(text.substr(copied));
  return out;
}

std::optional<HumanSize> parse_human_size(std::string_view text) {
  size_t i = 0;
  unsigned __int128 whole = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
    if (whole > (unsigned __int128)1 << 64) return std::nullopt;
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string_view rest = text.substr(i);
  if (rest == "B") {
    if (whole > UINT64_MAX) return std::nullopt;
    return HumanSize{static_cast<uint64_t>(whole), true};
  }
  unsigned __int128 frac = 0, scale = 1;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    size_t digits = 0;
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9' && digits < 18) {
      frac = frac * 10 + static_cast<unsigned>(rest.front() - '0');
      scale *= 10;
      rest.remove_prefix(1);
      ++digits;
    }
    if (digits == 0) return std::nullopt;
  }
  static constexpr std::string_view kUnits[] = {"KB", "MB", "GB", "TB", "PB"};
  for (size_t n = 0; n < std::size(kUnits); ++n) {
    if (rest != kUnits[n]) continue;
    unsigned __int128 mult = (unsigned __int128)1 << (10 * (n + 1));
    unsigned __int128 bytes = whole * mult + frac * mult / scale;
    if (bytes > UINT64_MAX) return std::nullopt;
    return HumanSize{static_cast<uint64_t>(bytes), false};
  }
  return std::nullopt;
}

std::string key_name(std::string_view key) {
  auto sep = key.find("://");
  std::string_view path = sep == std::string_view::npos ? key : key.substr(sep + 3);
  if (sep != std::string_view::npos) {
    auto slash = path.find('/');
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  auto last = path.rfind('/');
  return std::string(last == std::string_view::npos ? path : path.substr(last + 1));
}

Result<FileInfo> parse_info(std::string_view body, std::string_view key) {
  auto doc = parse_document(body);
  if (!doc.ok())
    return Status(Code::kBadResponse, "info " + std::string(key) + ": " + doc.status().message());
  if (!doc->is_array()) {
    return Status(Code::kBadResponse, "info " + std::string(key) + ": reply is not an array");
  }
  if (doc->empty()) return Status(Code::kNotFound, "info " + std::string(key) + ": empty reply");
  // The name comes from the key (the store contract), so the reply's mName is only type-checked.
  auto entry = parse_entry((*doc)[0], /*check_name=*/false);
  if (!entry) {
    return Status(Code::kBadResponse, "info " + std::string(key) + ": invalid file-info object");
  }
  entry->name = key_name(key);
  return std::move(*entry);
}

Result<Listing> parse_listing(std::string_view body) {
  auto doc = parse_document(body);
  if (!doc.ok()) return Status(Code::kBadResponse, "list: " + doc.status().message());
  if (!doc->is_array()) return Status(Code::kBadResponse, "list: reply is not an array");
  if (doc->size() > kMaxListingEntries) {
    return Status(Code::kBadResponse, "list: more than 1,000,000 entries");
  }
  Listing listing;
  listing.entries.reserve(doc->size());
  std::unordered_set<std::string> seen;
  for (const json& item : *doc) {
    auto entry = parse_entry(item, /*check_name=*/true);
    if (!entry || !seen.insert(entry->name).second) {  // duplicates: the first wins
      ++listing.rejected;
      continue;
    }
    listing.entries.push_back(std::move(*entry));
  }
  return listing;
}

}  // namespace alluxio_fuse::worker
