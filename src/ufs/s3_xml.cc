// Design note: S3 replies are small, flat documents from a server we do not fully trust, so
// this is a tiny recursive-descent parser into a tree (bounded depth, bounded input from the
// http::Client's max_body) rather than a dependency. It accepts exactly what S3 and s3rver send
// and treats anything structurally broken (unclosed or mismatched tags, bad entities, trailing
// garbage) as kBadResponse, so a truncated listing can never pass as a short one.
#include "alluxio_fuse/ufs/s3_xml.h"

#include <charconv>
#include <cstring>
#include <ctime>

namespace alluxio_fuse::ufs {
namespace {

using common::Code;
using common::Result;
using common::Status;

constexpr int kMaxDepth = 32;

Status bad(const std::string& what) {
  return Status(Code::kBadResponse, "malformed S3 XML: " + what);
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<XmlNode> document() {
    AF_RETURN_IF_ERROR(skip_misc());
    if (!at("<")) return bad("no root element");
    XmlNode root;
    AF_RETURN_IF_ERROR(element(root, 0));
    AF_RETURN_IF_ERROR(skip_misc());
    if (i_ != s_.size()) return bad("data after the root element");
    return root;
  }

 private:
  bool at(std::string_view p) const { return s_.substr(i_, p.size()) == p; }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n'))
      ++i_;
  }
  Status skip_past(std::string_view end) {
    size_t pos = s_.find(end, i_);
    if (pos == std::string_view::npos) return bad("unterminated markup");
    i_ = pos + end.size();
    return Status::Ok();
  }
  // Whitespace, the XML declaration, processing instructions, comments, DOCTYPE.
  Status skip_misc() {
    while (true) {
      skip_ws();
      if (at("<?")) {
        AF_RETURN_IF_ERROR(skip_past("?>"));
      } else if (at("<!--")) {
        AF_RETURN_IF_ERROR(skip_past("-->"));
      } else if (at("<!DOCTYPE")) {
        AF_RETURN_IF_ERROR(skip_past(">"));
      } else {
        return Status::Ok();
      }
    }
  }
  std::string_view name() {
    size_t start = i_;
    while (i_ < s_.size() && std::strchr(" \t\r\n/>=", s_[i_]) == nullptr) ++i_;
    std::string_view n = s_.substr(start, i_ - start);
    auto colon = n.rfind(':');
    return colon == std::string_view::npos ? n : n.substr(colon + 1);
  }
  Status text(std::string& out) {
    while (i_ < s_.size() && s_[i_] != '<') {
      char c = s_[i_];
      if (c != '&') {
        out.push_back(c);
        ++i_;
        continue;
      }
      size_t semi = s_.find(';', i_);
      if (semi == std::string_view::npos || semi - i_ > 12) return bad("bad entity");
      std::string_view ent = s_.substr(i_ + 1, semi - i_ - 1);
      i_ = semi + 1;
      if (ent == "amp")
        out.push_back('&');
      else if (ent == "lt")
        out.push_back('<');
      else if (ent == "gt")
        out.push_back('>');
      else if (ent == "quot")
        out.push_back('"');
      else if (ent == "apos")
        out.push_back('\'');
      else if (ent.size() > 1 && ent[0] == '#') {
        uint32_t cp = 0;
        bool hex = ent[1] == 'x' || ent[1] == 'X';
        std::string_view digits = ent.substr(hex ? 2 : 1);
        auto [p, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
        if (ec != std::errc() || p != digits.data() + digits.size() || digits.empty() || cp == 0 ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          return bad("bad character reference");
        }
        append_utf8(out, cp);
      } else {
        return bad("unknown entity");
      }
    }
    return Status::Ok();
  }
  Status element(XmlNode& node, int depth) {
    if (depth > kMaxDepth) return bad("nested too deep");
    ++i_;  // '<'
    node.name = std::string(name());
    if (node.name.empty()) return bad("empty element name");
    // Attributes are not needed: skip to the end of the start tag, honouring quotes.
    char quote = 0;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (quote != 0) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>' || c == '/') {
        break;
      }
      ++i_;
    }
    if (at("/>")) {
      i_ += 2;
      return Status::Ok();
    }
    if (!at(">")) return bad("unterminated start tag <" + node.name + ">");
    ++i_;
    while (true) {
      if (i_ >= s_.size()) return bad("unclosed element <" + node.name + ">");
      if (at("</")) {
        i_ += 2;
        if (name() != node.name) return bad("mismatched end tag in <" + node.name + ">");
        skip_ws();
        if (!at(">")) return bad("unterminated end tag");
        ++i_;
        return Status::Ok();
      }
      if (at("<!--")) {
        AF_RETURN_IF_ERROR(skip_past("-->"));
      } else if (at("<![CDATA[")) {
        size_t start = i_ + 9;
        AF_RETURN_IF_ERROR(skip_past("]]>"));
        node.text.append(s_.substr(start, i_ - 3 - start));
      } else if (at("<?")) {
        AF_RETURN_IF_ERROR(skip_past("?>"));
      } else if (at("<")) {
        node.children.emplace_back();
        AF_RETURN_IF_ERROR(element(node.children.back(), depth + 1));
      } else {
        AF_RETURN_IF_ERROR(text(node.text));
      }
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

std::string strip_quotes(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c != '"') out.push_back(c);
  }
  return out;
}

bool parse_u64(std::string_view s, uint64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace

const XmlNode* XmlNode::child(std::string_view n) const {
  for (const auto& c : children) {
    if (c.name == n) return &c;
  }
  return nullptr;
}

std::string XmlNode::child_text(std::string_view n) const {
  const XmlNode* c = child(n);
  return c != nullptr ? c->text : std::string();
}

Result<XmlNode> parse_xml(std::string_view xml) { return Parser(xml).document(); }

Result<ListPage> parse_list_page(std::string_view xml) {
  auto doc = parse_xml(xml);
  if (!doc.ok()) return doc.status();
  if (doc->name != "ListBucketResult") return bad("expected ListBucketResult, got " + doc->name);
  ListPage page;
  for (const auto& c : doc->children) {
    if (c.name == "Contents") {
      ListedObject o;
      const XmlNode* key = c.child("Key");
      if (key == nullptr) return bad("Contents without Key");
      o.key = key->text;
      std::string size = c.child_text("Size");
      if (!size.empty() && !parse_u64(size, &o.size)) return bad("bad Size");
      o.etag = strip_quotes(c.child_text("ETag"));
      o.mtime_ms = parse_iso8601_ms(c.child_text("LastModified"));
      page.contents.push_back(std::move(o));
    } else if (c.name == "CommonPrefixes") {
      for (const auto& p : c.children) {
        if (p.name == "Prefix") page.common_prefixes.push_back(p.text);
      }
    } else if (c.name == "IsTruncated") {
      if (c.text != "true" && c.text != "false") return bad("bad IsTruncated");
      page.truncated = c.text == "true";
    } else if (c.name == "NextContinuationToken") {
      page.next_token = c.text;
    }
  }
  if (page.truncated && page.next_token.empty()) {
    return bad("truncated listing without NextContinuationToken");
  }
  return page;
}

std::optional<S3ErrorBody> parse_error_body(std::string_view xml) {
  auto doc = parse_xml(xml);
  if (!doc.ok() || doc->name != "Error") return std::nullopt;
  S3ErrorBody e{doc->child_text("Code"), doc->child_text("Message"), doc->child_text("Region")};
  if (e.code.empty()) return std::nullopt;
  return e;
}

Result<std::string> parse_upload_id(std::string_view xml) {
  auto doc = parse_xml(xml);
  if (!doc.ok()) return doc.status();
  if (doc->name != "InitiateMultipartUploadResult") return bad("expected an UploadId");
  std::string id = doc->child_text("UploadId");
  if (id.empty()) return bad("empty UploadId");
  return id;
}

Result<std::vector<std::pair<std::string, S3ErrorBody>>> parse_delete_errors(std::string_view xml) {
  auto doc = parse_xml(xml);
  if (!doc.ok()) return doc.status();
  if (doc->name != "DeleteResult") return bad("expected DeleteResult, got " + doc->name);
  std::vector<std::pair<std::string, S3ErrorBody>> errors;
  for (const auto& c : doc->children) {
    if (c.name == "Error") {
      errors.emplace_back(c.child_text("Key"),
                          S3ErrorBody{c.child_text("Code"), c.child_text("Message"), ""});
    }
  }
  return errors;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

int64_t parse_iso8601_ms(std::string_view s) {
  std::tm tm{};
  std::string str(s);
  const char* rest = strptime(str.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return 0;
  int64_t ms = 0;
  if (*rest == '.') {
    int scale = 100;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest) {
      ms += int64_t{*rest - '0'} * scale;
      scale /= 10;
    }
  }
  if (*rest != 'Z' && *rest != '\0') return 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

int64_t parse_http_date_ms(std::string_view s) {
  std::tm tm{};
  std::string str(s);
  const char* rest = strptime(str.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (rest == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

}  // namespace alluxio_fuse::ufs
