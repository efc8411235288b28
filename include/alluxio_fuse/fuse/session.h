#pragma once
// The FUSE adapter: a libfuse3 low-level session whose callbacks decode a request, call one
// fs::FileSystem method, and reply exactly once. errno is born here and nowhere else
// (fuse/errno_map.h). libfuse stays inside src/fuse (linked PRIVATE).
//
// Thread-safety: callbacks run on libfuse's worker threads; the session object itself is
// driven from one thread (mount → run → unmount). exit() may be called from any thread.
// Ownership: the FileSystem and observer are injected, non-owning, and outlive the session.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/fs/file_system.h"

namespace alluxio_fuse::fuse {

// Per-op observations for metrics (op names from the closed set of metrics.md §2).
class OpObserver {
 public:
  virtual ~OpObserver() = default;
  virtual void op_started(std::string_view op) = 0;
  // err = 0 on success, else the errno replied.
  virtual void op_finished(std::string_view op, double seconds, int err) = 0;
};

struct SessionOptions {
  std::string fsname = "alluxio";
  std::string subtype = "alluxio-fuse";
  bool allow_other = false;
  bool default_permissions = true;
  bool read_only = false;
  uint64_t max_read = 1 << 20;
  uint64_t max_write = 1 << 20;
  unsigned max_threads = 64;
  unsigned max_idle_threads = 16;
  // Serve requests over FUSE-over-io_uring per-CPU queues when the kernel offers it (uring.h).
  bool io_uring = false;
  // Called once (from a ring thread) when an io_uring queue breaks for good: the requests
  // the kernel queued on it can only fail by the connection ending (uring.h).
  std::function<void(const std::string& why)> on_fatal;
  std::vector<std::string> extra_options;  // mount.fuse_options, passed to libfuse as -o
  std::chrono::nanoseconds slow_op_threshold{std::chrono::seconds(10)};
};

class Session {
 public:
  Session(fs::FileSystem& fs, SessionOptions options, OpObserver* observer);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Creates the session and mounts it on `mountpoint`; the mount is live on return.
  common::Status mount(const std::string& mountpoint);
  // Serves requests on the multi-threaded loop until exit() or unmount from outside.
  common::Status run();
  // FUSE requests being handled right now (the graceful stop waits for 0).
  int64_t ops_in_flight() const;
  // Asks the loop to stop (signal-safe enough for use from a signal-handling thread).
  void exit();
  // Unmounts (idempotent). Called after run() returns.
  void unmount();

  // Tells the kernel to drop cached data/attributes of `ino` (from a background thread).
  void invalidate_inode(uint64_t ino);

  struct Impl;

 private:
  void start_uring();
  std::unique_ptr<Impl> impl_;
};

}  // namespace alluxio_fuse::fuse
