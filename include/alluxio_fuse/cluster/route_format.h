#pragma once
// Output of `alluxio-fuse route` (config.md §4).
//
// Keys are arbitrary bytes. Escaping [decision]:
// - Text form `<key>\t<host:port>,<host:port>`: valid UTF-8 (CJK, emoji) is printed as is;
//   backslash becomes `\\`, tab `\t`, newline `\n`, carriage return `\r`, any other control
//   byte (< 0x20, 0x7F) and every byte of an invalid UTF-8 sequence becomes `\xHH` (lowercase
//   hex), so each key stays on one line, the tab stays the only field separator, and the bytes
//   can be recovered exactly.
// - JSON form: standard JSON string escapes for valid UTF-8 (control characters as \n, \t,
//   \u001f, ...). A key that is not valid UTF-8 is written with each invalid byte replaced by
//   U+FFFD, and the entry gets an extra member "key_hex" with the lowercase hex of the exact
//   key bytes. Candidates without an identity (server mode) have "identity": null.
// Thread-safety: pure functions.

#include <string>
#include <string_view>
#include <vector>

#include "alluxio_fuse/cluster/worker.h"

namespace alluxio_fuse::cluster {

struct RouteEntry {
  std::string key;
  std::vector<Worker> candidates;
};

// The key escaped for the text form (see above).
std::string escape_route_key(std::string_view key);
// One line, without the trailing newline.
std::string format_route_text(std::string_view key, const std::vector<Worker>& candidates);
// One JSON array for all entries, on one line, without the trailing newline.
std::string format_route_json(const std::vector<RouteEntry>& entries);

}  // namespace alluxio_fuse::cluster
