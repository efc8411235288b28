// strerror_r comes in two shapes: glibc declares the GNU one when _GNU_SOURCE is defined (g++
// always defines it): it returns the message, which may or may not be in `buf`. Other libcs
// have the XSI one: it fills `buf` and returns 0 or an error number. One overload of `text` per
// shape, so this compiles against either without feature-test macros.
#include "alluxio_fuse/common/errno_text.h"

#include <array>
#include <cstring>

namespace alluxio_fuse::common {
namespace {

[[maybe_unused]] std::string text(const char* gnu_message, const char* /*buf*/, int /*err*/) {
  return gnu_message;
}

[[maybe_unused]] std::string text(int xsi_rc, const char* buf, int err) {
  if (xsi_rc == 0) return buf;
  return "Unknown error " + std::to_string(err);
}

}  // namespace

std::string errno_text(int err) {
  std::array<char, 256> buf{};
  return text(strerror_r(err, buf.data(), buf.size()), buf.data(), err);
}

}  // namespace alluxio_fuse::common
