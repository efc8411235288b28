#pragma once
// Helpers shared by the libFuzzer targets: splitting one input into parts, and a check that
// aborts (so libFuzzer records the input) when a parser breaks one of its documented promises.
// Thread-safety: pure functions.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace alluxio_fuse::fuzz {

// The input as text.
inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits `text` at the first '\n': {before, after}; {"", text} when there is none.
inline std::pair<std::string_view, std::string_view> split_line(std::string_view text) {
  auto nl = text.find('\n');
  if (nl == std::string_view::npos) return {std::string_view(), text};
  return {text.substr(0, nl), text.substr(nl + 1)};
}

// A crash the fuzzer records: a broken invariant, not a rejected input.
#define AF_FUZZ_CHECK(cond)                                                             \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

}  // namespace alluxio_fuse::fuzz
