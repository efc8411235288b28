#pragma once
// UFS keys: the normalised full UFS URI that names every file on the wire, on the ring and in
// the local caches (spec/README.md "Normalised form"), and name validation (semantics.md §2.1).
// Thread-safety: pure functions.

#include <string>
#include <string_view>

#include "alluxio_fuse/common/status.h"

namespace alluxio_fuse::common {

inline constexpr size_t kMaxNameBytes = 255;
inline constexpr size_t kMaxKeyBytes = 4096;

// Normalise a root URI "<scheme>://<authority><path>": collapse runs of '/', drop a trailing
// '/' except for "file:///". Fails (kInvalid) without "://".
Result<std::string> normalize_root(std::string_view uri);

// Scheme of a normalised URI ("s3", "file", ...).
std::string_view uri_scheme(std::string_view uri);

// Key of FUSE path `rel` ("/a/b", "a/b", "" or "/") under normalised `root`.
std::string join_key(std::string_view root, std::string_view rel);
// Key of child `name` of directory key `dir`.
std::string child_key(std::string_view dir, std::string_view name);

// A single directory-entry name from a backend or a caller: not empty, not "." or "..", no
// '/' or NUL, valid UTF-8 (no surrogates, no overlongs), at most 255 bytes.
bool is_valid_name(std::string_view name);
bool is_valid_utf8(std::string_view s);

// For names coming from the kernel: kNameTooLong over 255 bytes, kInvalid otherwise when not
// valid (creating an invalid name is EINVAL; a lookup turns kInvalid into ENOENT).
Status check_name(std::string_view name);

// The local file-system path for a key under `root` when root is a file:// URI; the key must
// be root or a descendant. Fails (kInvalid) otherwise or when a component is "..".
Result<std::string> local_path_for_key(std::string_view root, std::string_view key);

}  // namespace alluxio_fuse::common
