#pragma once
// FUSE over io_uring (Linux ≥ 6.14 with fuse.enable_uring=Y; `mount.io_uring`): the kernel
// hands each request to the ring queue of the CPU that issued it, and that queue's thread
// serves it, one io_uring_enter per request (commit the reply and wait for the next) instead
// of a read and a writev of /dev/fuse and a wake-up of whichever libfuse thread is idle.
// Measured: a cached 4 KiB read after a restart 0.37 -> 0.80 of bindfs (README, issue 4).
// Reads and writes of 128 KiB or more go from the queue thread to a shared pool, so a
// sequential reader's readahead (all on its own CPU's queue) is still served in parallel; a
// pool thread commits such a request on an io_uring of its own, so the entry's next request
// comes straight to it (the kernel hands it to the committer), and the entry goes back to its
// queue thread with the next small request.
//
// Debian 12's libfuse (3.14) predates io_uring, so this transport sits beside it through
// fuse_session_custom_io:
//   - libfuse keeps reading /dev/fuse: INIT, FORGET and INTERRUPT always arrive there, and so
//     does everything when the kernel does not offer io_uring;
//   - read() notes the INIT request and whether the kernel offered FUSE_OVER_IO_URING;
//   - writev() adds that flag to the INIT reply when the rings are prepared, then lets the
//     queue threads register their entries; every later reply whose request came from a ring
//     entry is committed to that entry (COMMIT_AND_FETCH) instead of written to /dev/fuse.
// A fetched request is laid out as /dev/fuse would deliver it (in header, per-op header,
// payload: the payload buffer has headroom, so only the two headers move) and handed to
// fuse_session_process_buf, so every operation keeps its one code path.
//
// Thread-safety: a queue's ring is shared under two mutexes (submission, completion): its
// thread submits every commit queued there, except while it serves a request itself, and the
// rescuer reaps it while that takes long; a pool thread's own ring is its thread's alone.
// Code: uring.cc (set-up, INIT, stop), uring_serve.cc (serving), uring_impl.h (state).
// Lifetime: stop() after the file system is unmounted (a queue without entries would leave
// requests waiting until the connection ends).

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

struct fuse_session;

namespace alluxio_fuse::fuse {

class UringTransport {
 public:
  struct Options {
    unsigned depth = 8;            // ring entries per queue: requests in flight per CPU
    unsigned max_pool = 64;        // threads for large requests (at most all entries)
    size_t max_payload = 1 << 20;  // bytes of one request or reply after the headers
    // Called once, from a ring thread, when a queue can no longer take requests (io_uring_enter
    // failed for good, no submission slot, or the kernel refused every entry). The requests
    // the kernel queued on that CPU cannot move back to /dev/fuse: only ending the connection
    // fails them, so the owner should stop the daemon. Not called once stop() has begun.
    std::function<void(const std::string& why)> on_fatal;
  };

  // Allocates one queue per possible CPU (buffers, io_uring, a thread waiting to register).
  // Nothing is told to the kernel yet. Null (and a log line) when the machine cannot do it.
  static std::unique_ptr<UringTransport> prepare(struct fuse_session* se, int fuse_fd,
                                                 const Options& options);
  ~UringTransport();
  UringTransport(const UringTransport&) = delete;
  UringTransport& operator=(const UringTransport&) = delete;

  // The custom-io hooks (fuse_custom_io's read and writev).
  ssize_t read(int fd, void* buf, size_t len);
  ssize_t writev(int fd, struct iovec* iov, int count);

  // True once the kernel accepted io_uring for this mount (after INIT).
  bool active() const;
  // Ends the queue threads and releases the rings (idempotent).
  void stop();

  // While a queue thread serves a request: its entry's reply buffer when `len` fits, else
  // null. A reply built there is committed without a copy.
  static char* reply_buffer(size_t len);
  // True on a queue or pool thread (they name themselves af-ring-N / af-ring-io).
  static bool on_ring_thread();

  struct Impl;

 private:
  explicit UringTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace alluxio_fuse::fuse
