#include "alluxio_fuse/common/thread_name.h"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace alluxio_fuse::common {

void name_this_thread(std::string_view name) {
  std::array<char, 16> buf{};  // 15 characters and the terminating NUL
  const size_t n = std::min(name.size(), buf.size() - 1);
  std::memcpy(buf.data(), name.data(), n);
  // Only ERANGE is possible, and the length is bounded above.
  (void)pthread_setname_np(pthread_self(), buf.data());
}

}  // namespace alluxio_fuse::common
