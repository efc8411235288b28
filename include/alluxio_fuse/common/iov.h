#pragma once
// Partial writev()/sendmsg() bookkeeping: after the kernel took `bytes` of the `count` iovecs
// at `iov`, skips the ones fully written and trims the first one left, so the next call sends
// exactly what remains. Shared by the page cache's file writes and the fake worker's replies.

#include <sys/uio.h>

#include <cstddef>

namespace alluxio_fuse::common {

// `bytes` must not exceed the iovecs' total length (what a successful call returns).
inline void consume_iov(iovec*& iov, int& count, size_t bytes) {
  while (count > 0 && bytes >= iov->iov_len) {
    bytes -= iov->iov_len;
    ++iov;
    --count;
  }
  if (count > 0) {
    iov->iov_base = static_cast<char*>(iov->iov_base) + bytes;
    iov->iov_len -= bytes;
  }
}

}  // namespace alluxio_fuse::common
