// Fuzzes key normalisation and name validation (common/uri.h). Input: "<root>\n<rel or name>".
// Invariants: normalize_root is idempotent; a key joined under a root starts with it; a local
// path for a key stays under the root directory, with no ".." component below it; a valid name
// is valid UTF-8 within 255 bytes.
#include <string>

#include "alluxio_fuse/common/uri.h"
#include "fuzz_util.h"

using namespace alluxio_fuse;

namespace {

bool has_dotdot_component(std::string_view path) {
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    if (path.substr(pos, next - pos) == "..") return true;
    pos = next + 1;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [root_text, rel] = fuzz::split_line(fuzz::as_text(data, size));
  if (common::is_valid_name(rel)) {
    AF_FUZZ_CHECK(common::is_valid_utf8(rel) && rel.size() <= common::kMaxNameBytes);
    AF_FUZZ_CHECK(rel.find('/') == std::string_view::npos);
  }
  (void)common::check_name(rel);
  (void)common::uri_scheme(root_text);
  auto root = common::normalize_root(root_text);
  if (!root.ok()) return 0;
  auto again = common::normalize_root(root.value());
  AF_FUZZ_CHECK(again.ok() && again.value() == root.value());

  std::string key = common::join_key(root.value(), rel);
  AF_FUZZ_CHECK(key.starts_with(root.value()));
  std::string child = common::child_key(key, rel);
  AF_FUZZ_CHECK(child.starts_with(key));

  auto local = common::local_path_for_key(root.value(), key);
  if (local.ok()) {
    // The root is the operator's choice (it may itself say ".."); what follows it comes from
    // names and must never climb out.
    std::string base = root.value().substr(std::string_view("file://").size());
    if (base.empty()) base = "/";
    AF_FUZZ_CHECK(local.value().starts_with(base));
    AF_FUZZ_CHECK(!has_dotdot_component(std::string_view(local.value()).substr(base.size())));
  }
  return 0;
}
