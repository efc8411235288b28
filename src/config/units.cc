// Design: sizes follow humanfriendly's tokenizer (a number token, then an optional unit token)
// so values written for the Python client parse to the same byte counts here. Integers are
// computed exactly; decimals go through a double multiply and truncation because that is what
// Python's int(float * divider) does, and the page size must match the workers' bit for bit.
#include "alluxio_fuse/config/units.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace alluxio_fuse::config {
namespace {

using common::Code;
using common::Result;
using common::Status;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A number token: digits, optionally '.' and more digits (humanfriendly's \d+(\.\d+)?).
struct Number {
  std::string_view text;
  bool decimal = false;
};

// Splits `s` into a leading number token and the trimmed rest. Returns false when `s` does not
// start with a digit.
bool split_number(std::string_view s, Number& num, std::string_view& rest) {
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0) return false;
  if (i + 1 < s.size() && s[i] == '.' && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
    num.decimal = true;
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  }
  num.text = s.substr(0, i);
  rest = trim(s.substr(i));
  return true;
}

bool parse_u64(std::string_view s, uint64_t& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

double parse_double(std::string_view s) {
  // strtod needs a NUL-terminated string; the token is only digits and '.', so it is exact
  // decimal-to-binary rounding, the same as Python's float().
  return std::strtod(std::string(s).c_str(), nullptr);
}

Status size_error() { return Status(Code::kInvalid, "not a size"); }
Status duration_error() { return Status(Code::kInvalid, "not a duration"); }

}  // namespace

Result<uint64_t> parse_size(std::string_view text) {
  std::string_view s = trim(text);
  Number num;
  std::string_view unit_text;
  if (!split_number(s, num, unit_text)) return size_error();
  const std::string unit = lower(unit_text);
  int shift = -1;
  if (unit.empty() || unit == "b" || unit == "bytes") {
    shift = 0;
  } else {
    static constexpr std::array<char, 4> kPrefixes = {'k', 'm', 'g', 't'};
    for (size_t i = 0; i < kPrefixes.size(); ++i) {
      const char p = kPrefixes[i];
      if (unit == std::string(1, p) || unit == std::string(1, p) + "b" ||
          unit == std::string(1, p) + "ib") {
        shift = static_cast<int>(10 * (i + 1));
      }
    }
  }
  if (shift < 0) return size_error();

  if (!num.decimal) {
    uint64_t n = 0;
    if (!parse_u64(num.text, n)) return size_error();
    if (shift > 0 && n > (std::numeric_limits<uint64_t>::max() >> shift)) return size_error();
    return n << shift;
  }
  // Python: int(float(number) * divider); a bare decimal ("1.5") is int(1.5) = 1 byte.
  const double product = parse_double(num.text) * std::ldexp(1.0, shift);
  if (!(product < 18446744073709551616.0)) return size_error();
  return static_cast<uint64_t>(product);
}

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  std::string_view s = trim(text);
  bool negative = false;
  if (!s.empty() && s.front() == '-') {
    negative = true;
    s = trim(s.substr(1));
  }
  Number num;
  std::string_view unit_text;
  if (!split_number(s, num, unit_text)) return duration_error();
  const std::string unit = lower(unit_text);
  int64_t ns_per_unit = 0;
  if (unit.empty() || unit == "s") {
    ns_per_unit = 1'000'000'000;
  } else if (unit == "ms") {
    ns_per_unit = 1'000'000;
  } else if (unit == "m") {
    ns_per_unit = 60'000'000'000;
  } else if (unit == "h") {
    ns_per_unit = 3'600'000'000'000;
  } else {
    return duration_error();
  }
  int64_t ns = 0;
  if (!num.decimal) {
    uint64_t n = 0;
    if (!parse_u64(num.text, n)) return duration_error();
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / ns_per_unit)) {
      return duration_error();
    }
    ns = static_cast<int64_t>(n) * ns_per_unit;
  } else {
    const double v = parse_double(num.text) * static_cast<double>(ns_per_unit);
    if (!(v < 9.2e18)) return duration_error();
    ns = static_cast<int64_t>(std::llround(v));
  }
  return std::chrono::nanoseconds(negative ? -ns : ns);
}

std::string format_size(uint64_t bytes) {
  static constexpr std::array<std::string_view, 4> kUnits = {"TiB", "GiB", "MiB", "KiB"};
  if (bytes == 0) return "0";
  for (size_t i = 0; i < kUnits.size(); ++i) {
    const int shift = static_cast<int>(10 * (kUnits.size() - i));
    const uint64_t unit = uint64_t{1} << shift;
    if (bytes % unit == 0) return std::to_string(bytes >> shift) + std::string(kUnits[i]);
  }
  return std::to_string(bytes);
}

std::string format_duration(std::chrono::nanoseconds d) {
  const int64_t ns = d.count();
  if (ns == 0) return "0s";
  struct Unit {
    int64_t ns;
    const char* suffix;
  };
  static constexpr std::array<Unit, 4> kUnits = {Unit{3'600'000'000'000, "h"},
                                                 Unit{60'000'000'000, "m"},
                                                 Unit{1'000'000'000, "s"}, Unit{1'000'000, "ms"}};
  for (const Unit& u : kUnits) {
    if (ns % u.ns == 0) return std::to_string(ns / u.ns) + u.suffix;
  }
  // Sub-millisecond: exact decimal seconds.
  const int64_t abs_ns = ns < 0 ? -ns : ns;
  std::string frac = std::to_string(abs_ns % 1'000'000'000);
  frac.insert(0, 9 - frac.size(), '0');
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return std::string(ns < 0 ? "-" : "") + std::to_string(abs_ns / 1'000'000'000) + "." + frac + "s";
}

}  // namespace alluxio_fuse::config
