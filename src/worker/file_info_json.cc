// Strict parsing of the worker's file-info JSON (worker-rest.md §5).
//
// Design note: nlohmann rejects a whole document that holds an unpaired surrogate escape or
// invalid raw UTF-8, while §5.2 wants only the offending entry dropped. sanitize_json therefore
// rewrites such string content to "\u0000" first (NUL is never valid in a name, so the entry is
// rejected by the name check; informational fields just carry a NUL). The same pass bounds the
// nesting depth so a hostile document cannot make the parser or destructor recurse deeply.
// Entries are validated field by field: a wrong JSON type makes the entry invalid; null counts
// as absent (Java serialisers emit null for unset fields).
// /v1/files replies (41 MB for 100,000 entries) are parsed with nlohmann's SAX interface
// straight into the entry vector: building a DOM first cost ~5× the text in heap and a third
// of the parse time. Both paths feed the same field table to one validation function, and a
// clean reply (the common case) is parsed in place rather than copied by the sanitizer.
#include <array>
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

// The file-info fields we read or type-check (§5.1), as one table shared by the DOM path
// (/v1/info) and the SAX path (/v1/files). Unknown keys are ignored.
enum Field : int {
  kType,
  kName,
  kLength,
  kHumanSize,
  kMtime,
  kAtime,
  kCtime,
  kMode,
  kOwner,
  kGroup,
  kHash,
  kCompleted,
  kPersisted,
  kPercent,
  kPath,
  kUfsPath,
  kFieldCount
};

constexpr std::string_view kFieldNames[kFieldCount] = {"mType",
                                                       "mName",
                                                       "mLength",
                                                       "mHumanReadableFileSize",
                                                       "mLastModificationTimeMs",
                                                       "mLastAccessTimeMs",
                                                       "mCreationTimeMs",
                                                       "mMode",
                                                       "mOwner",
                                                       "mGroup",
                                                       "mContentHash",
                                                       "mCompleted",
                                                       "mPersisted",
                                                       "mInAlluxioPercentage",
                                                       "mPath",
                                                       "mUfsPath"};

// Fields whose text is used; the others are only type-checked, so their text is not kept.
bool keeps_text(int field) {
  return field == kType || field == kName || field == kHumanSize || field == kOwner ||
         field == kGroup || field == kHash;
}

int field_index(std::string_view key) {
  for (int i = 0; i < kFieldCount; ++i) {
    if (kFieldNames[i] == key) return i;
  }
  return -1;
}

// One JSON value as far as validation cares. null is kAbsent (Java serialisers emit null for
// unset fields); arrays, objects and floats are kOther (always the wrong type).
struct Value {
  enum class Kind : uint8_t { kAbsent, kString, kInt, kUint, kBool, kOther };
  Kind kind = Kind::kAbsent;
  std::string text;
  int64_t i = 0;
  uint64_t u = 0;
  bool b = false;
};
using Fields = std::array<Value, kFieldCount>;

// Optional typed fields: absent → false with `ok` unchanged; wrong type → ok = false.
bool get_string(Value& v, std::string* out, bool* ok) {
  if (v.kind == Value::Kind::kAbsent) return false;
  if (v.kind != Value::Kind::kString) {
    *ok = false;
    return false;
  }
  *out = std::move(v.text);
  return true;
}

bool get_int(const Value& v, int64_t* out, bool* ok) {
  switch (v.kind) {
    case Value::Kind::kAbsent:
      return false;
    case Value::Kind::kUint:
      if (v.u > static_cast<uint64_t>(INT64_MAX)) break;
      *out = static_cast<int64_t>(v.u);
      return true;
    case Value::Kind::kInt:
      *out = v.i;
      return true;
    default:
      break;
  }
  *ok = false;
  return false;
}

bool get_bool(const Value& v, bool* out, bool* ok) {
  if (v.kind == Value::Kind::kAbsent) return false;
  if (v.kind != Value::Kind::kBool) {
    *ok = false;
    return false;
  }
  *out = v.b;
  return true;
}

// One file-info object; nullopt when the entry is invalid (§5.1, §5.2 when check_name).
// Consumes the fields' text.
std::optional<FileInfo> entry_from_fields(Fields& f, bool check_name) {
  bool ok = true;
  FileInfo info;
  std::string type;
  if (!get_string(f[kType], &type, &ok)) return std::nullopt;
  if (type == "file") {
    info.type = store::FileType::kFile;
  } else if (type == "directory") {
    info.type = store::FileType::kDirectory;
  } else {
    return std::nullopt;  // symlink and anything else
  }
  if (!get_string(f[kName], &info.name, &ok)) return std::nullopt;
  if (check_name && !common::check_name(info.name).ok()) return std::nullopt;

  int64_t length = 0;
  std::string human;
  if (get_int(f[kLength], &length, &ok)) {
    if (length < 0) return std::nullopt;
    info.size = static_cast<uint64_t>(length);
    info.size_exact = true;
  } else if (ok && get_string(f[kHumanSize], &human, &ok)) {
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
  if (get_int(f[kMtime], &value, &ok)) info.mtime_ms = value > 0 ? value : 0;
  if (get_int(f[kAtime], &value, &ok)) info.atime_ms = value > 0 ? value : 0;
  get_int(f[kCtime], &value, &ok);  // not mapped; type-checked only
  if (get_int(f[kMode], &value, &ok)) {
    if (value < 0) return std::nullopt;
    info.mode = static_cast<uint32_t>(value & 07777);
  }
  get_string(f[kOwner], &info.owner, &ok);
  get_string(f[kGroup], &info.group, &ok);
  get_string(f[kHash], &info.content_hash, &ok);
  get_bool(f[kCompleted], &info.completed, &ok);
  bool persisted = false;
  get_bool(f[kPersisted], &persisted, &ok);
  if (get_int(f[kPercent], &value, &ok)) {
    if (value < 0 || value > 100) return std::nullopt;
    info.in_alluxio_percentage = static_cast<int>(value);
  }
  std::string informational;
  get_string(f[kPath], &informational, &ok);
  get_string(f[kUfsPath], &informational, &ok);
  if (!ok) return std::nullopt;
  return info;
}

// The DOM path: a parsed file-info object (nlohmann keeps the last of duplicate keys).
std::optional<FileInfo> parse_entry(const json& obj, bool check_name) {
  if (!obj.is_object()) return std::nullopt;
  Fields fields;
  for (const auto& [k, v] : obj.items()) {
    int idx = field_index(k);
    if (idx < 0) continue;
    Value& out = fields[idx];
    if (v.is_null()) {
      out.kind = Value::Kind::kAbsent;
    } else if (v.is_string()) {
      out.kind = Value::Kind::kString;
      out.text = v.get<std::string>();
    } else if (v.is_number_unsigned()) {
      out.kind = Value::Kind::kUint;
      out.u = v.get<uint64_t>();
    } else if (v.is_number_integer()) {
      out.kind = Value::Kind::kInt;
      out.i = v.get<int64_t>();
    } else if (v.is_boolean()) {
      out.kind = Value::Kind::kBool;
      out.b = v.get<bool>();
    } else {
      out.kind = Value::Kind::kOther;
    }
  }
  return entry_from_fields(fields, check_name);
}

// Sanitizes into `*out` only when the text needs it; returns whether it did, so the common case
// (a clean reply) is parsed in place instead of copied.
Result<bool> sanitize_into(std::string_view text, std::string* out);

Result<json> parse_document(std::string_view body) {
  std::string clean;
  auto changed = sanitize_into(body, &clean);
  if (!changed.ok()) return changed.status();
  std::string_view text = *changed ? std::string_view(clean) : body;
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status(Code::kBadResponse, "malformed JSON");
  return doc;
}

}  // namespace

namespace {

Result<bool> sanitize_into(std::string_view text, std::string* out_ptr) {
  std::string& out = *out_ptr;
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
  if (changed) out.append(text.substr(copied));
  return changed;
}

}  // namespace

Result<std::string> sanitize_json(std::string_view text) {
  std::string out;
  auto changed = sanitize_into(text, &out);
  if (!changed.ok()) return changed.status();
  if (!*changed) return std::string(text);
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

namespace {

// SAX handler for /v1/files: fills the entry vector as the text is read, one entry's fields at
// a time, so a 100,000-entry reply never exists as a DOM. Depth 0 is the document, 1 the
// top-level array's elements, 2 an entry's members; deeper values are skipped (a known field
// holding a container is the wrong type). Validation is entry_from_fields, as for /v1/info.
class ListingSax {
 public:
  using json_t = json;

  bool null() { return scalar(Value{}); }
  bool boolean(bool v) {
    Value value;
    value.kind = Value::Kind::kBool;
    value.b = v;
    return scalar(std::move(value));
  }
  bool number_integer(json::number_integer_t v) {
    Value value;
    value.kind = Value::Kind::kInt;
    value.i = v;
    return scalar(std::move(value));
  }
  bool number_unsigned(json::number_unsigned_t v) {
    Value value;
    value.kind = Value::Kind::kUint;
    value.u = v;
    return scalar(std::move(value));
  }
  bool number_float(json::number_float_t /*v*/, const std::string& /*text*/) {
    return other_scalar();
  }
  bool binary(json::binary_t& /*v*/) { return other_scalar(); }
  bool string(std::string& v) {
    if (depth_ == 2 && in_entry_ && field_ >= 0) {
      Value& out = fields_[field_];
      out.kind = Value::Kind::kString;
      if (keeps_text(field_)) {
        out.text = std::move(v);
      } else {
        out.text.clear();
      }
      return true;
    }
    return scalar(Value{Value::Kind::kString, {}, 0, 0, false});
  }
  bool start_object(size_t /*size*/) { return open(/*object=*/true); }
  bool key(std::string& k) {
    if (depth_ == 2 && in_entry_) field_ = field_index(k);
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(size_t /*size*/) { return open(/*object=*/false); }
  bool end_array() { return close(); }
  bool parse_error(size_t /*position*/, const std::string& /*token*/,
                   const nlohmann::detail::exception& /*error*/) {
    malformed_ = true;
    return false;
  }

  bool malformed() const { return malformed_; }
  bool too_many() const { return too_many_; }
  bool is_array() const { return root_array_; }
  Listing take() { return std::move(listing_); }

 private:
  // Hashes and compares kept entries by name through their index, so duplicates are found
  // without a second copy of every name (indexes stay valid as the vector grows).
  struct NameHash {
    const std::vector<FileInfo>* entries;
    size_t operator()(size_t i) const { return std::hash<std::string>()((*entries)[i].name); }
  };
  struct NameEq {
    const std::vector<FileInfo>* entries;
    bool operator()(size_t a, size_t b) const { return (*entries)[a].name == (*entries)[b].name; }
  };

  // A new element of the top-level array.
  bool element() {
    if (++elements_ > kMaxListingEntries) {
      too_many_ = true;
      return false;
    }
    return true;
  }

  bool scalar(Value value) {
    if (depth_ == 1 && root_array_) {
      if (!element()) return false;
      ++listing_.rejected;  // not an object
    } else if (depth_ == 2 && in_entry_ && field_ >= 0) {
      fields_[field_] = std::move(value);
    }
    return true;
  }
  bool other_scalar() {
    Value value;
    value.kind = Value::Kind::kOther;
    return scalar(std::move(value));
  }

  bool open(bool object) {
    if (depth_ == 0) {
      root_array_ = !object;
    } else if (depth_ == 1 && root_array_) {
      if (!element()) return false;
      in_entry_ = object;
      if (object) {
        for (auto& f : fields_) f.kind = Value::Kind::kAbsent;
        field_ = -1;
      } else {
        ++listing_.rejected;  // an array element that is itself an array
      }
    } else if (depth_ == 2 && in_entry_ && field_ >= 0) {
      fields_[field_].kind = Value::Kind::kOther;
    }
    ++depth_;
    return true;
  }

  bool close() {
    --depth_;
    if (depth_ == 1 && in_entry_) {
      in_entry_ = false;
      finish_entry();
    }
    return true;
  }

  void finish_entry() {
    auto entry = entry_from_fields(fields_, /*check_name=*/true);
    if (!entry) {
      ++listing_.rejected;
      return;
    }
    listing_.entries.push_back(std::move(*entry));
    if (!seen_.insert(listing_.entries.size() - 1).second) {  // duplicates: the first wins
      listing_.entries.pop_back();
      ++listing_.rejected;
    }
  }

  Listing listing_;
  std::unordered_set<size_t, NameHash, NameEq> seen_{0, NameHash{&listing_.entries},
                                                     NameEq{&listing_.entries}};
  Fields fields_;
  int field_ = -1;
  size_t depth_ = 0;
  size_t elements_ = 0;
  bool root_array_ = false;
  bool in_entry_ = false;
  bool malformed_ = false;
  bool too_many_ = false;
};

}  // namespace

Result<Listing> parse_listing(std::string_view body) {
  std::string clean;
  auto changed = sanitize_into(body, &clean);
  if (!changed.ok()) return Status(Code::kBadResponse, "list: " + changed.status().message());
  std::string_view text = *changed ? std::string_view(clean) : body;
  ListingSax sax;
  bool parsed = false;
  try {
    parsed = json::sax_parse(text.begin(), text.end(), &sax);
  } catch (const std::exception& e) {  // the handler does not throw; nlohmann should not either
    return Status(Code::kBadResponse, std::string("list: ") + e.what());
  }
  if (sax.too_many()) return Status(Code::kBadResponse, "list: more than 1,000,000 entries");
  if (!parsed || sax.malformed()) return Status(Code::kBadResponse, "list: malformed JSON");
  if (!sax.is_array()) return Status(Code::kBadResponse, "list: reply is not an array");
  return sax.take();
}

}  // namespace alluxio_fuse::worker
