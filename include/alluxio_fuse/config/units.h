#pragma once
// Size and duration parsing for conf.yaml values and `-o` options (config.md §1,
// page-cache.md §1), and the inverse formatting used by `check-config`.
// Thread-safety: pure functions.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "alluxio_fuse/common/status.h"

namespace alluxio_fuse::config {

// Python `humanfriendly.parse_size(s, binary=True)` restricted to the units page-cache.md §1
// lists: a number (`123` or `1.5`) with an optional unit B, K, KB, KiB, M, MB, MiB, G, GB, GiB,
// T, TB, TiB (case-insensitive, optional space; every unit is binary). A bare integer is bytes.
// Decimals are multiplied in double precision and rounded down, exactly as Python does.
// Fails (kInvalid) on anything else, on negatives and on values that do not fit in 64 bits.
common::Result<uint64_t> parse_size(std::string_view text);

// `<number><unit>` with unit ms, s, m or h ("500ms", "120s", "1.5h", optional space); a bare
// number is seconds. A leading '-' is accepted: callers decide whether negatives are allowed.
// Fails (kInvalid) on anything else or on overflow.
common::Result<std::chrono::nanoseconds> parse_duration(std::string_view text);

// "10GiB", "1MiB", "4KiB" when exact, else a plain number of bytes. parse_size reads it back.
std::string format_size(uint64_t bytes);

// "2h", "2m", "30s", "500ms" when exact, else decimal seconds ("0.000001s"). parse_duration
// reads it back.
std::string format_duration(std::chrono::nanoseconds d);

}  // namespace alluxio_fuse::config
