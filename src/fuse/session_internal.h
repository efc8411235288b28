#pragma once
// Internals shared by the FUSE adapter's translation units (session.cc: lifecycle, lookups,
// reads, directories; session_mutations.cc: the mutating operations). Not a public header:
// it sits in src/fuse and includes libfuse, which stays private to this module.
#define FUSE_USE_VERSION 314
#include <fuse3/fuse_lowlevel.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include "alluxio_fuse/common/thread_name.h"
#include "alluxio_fuse/fuse/errno_map.h"
#include "alluxio_fuse/fuse/session.h"
#include "uring.h"

namespace alluxio_fuse::fuse {

// Queues kernel invalidations and sends them from its own thread.
class Notifier final : public fs::KernelNotifier {
 public:
  Notifier() = default;
  ~Notifier() override { stop(); }

  void start(struct fuse_session* se) {
    se_ = se;
    thread_ = common::named_thread("af-notify", [this] { run(); });
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void inval_inode(uint64_t ino) override { push(Item{ino, 0, ""}); }
  void inval_entry(uint64_t parent, const std::string& name) override {
    push(Item{0, parent, name});
  }

 private:
  struct Item {
    uint64_t ino;
    uint64_t parent;
    std::string name;
  };
  void push(Item item) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_ || queue_.size() >= 100000) return;  // best effort: the kernel TTLs still bound it
      queue_.push_back(std::move(item));
    }
    cv_.notify_one();
  }
  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      Item item = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      if (item.ino != 0) {
        fuse_lowlevel_notify_inval_inode(se_, item.ino, 0, 0);
      } else {
        fuse_lowlevel_notify_inval_entry(se_, item.parent, item.name.c_str(), item.name.size());
      }
      lock.lock();
    }
  }

  struct fuse_session* se_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;  // GUARDED_BY(mu_)
  bool stop_ = false;       // GUARDED_BY(mu_)
  std::thread thread_;
};

struct Session::Impl {
  Impl(fs::FileSystem& f, SessionOptions o, OpObserver* obs)
      : fs(f), options(std::move(o)), observer(obs) {}
  fs::FileSystem& fs;
  SessionOptions options;
  OpObserver* observer;
  struct fuse_session* se = nullptr;
  std::mutex mount_mu;   // serialises unmount between the main and signal threads
  bool mounted = false;  // GUARDED_BY(mount_mu)
  std::string mountpoint;
  Notifier notifier;
  std::atomic<int64_t> in_flight{0};
  std::unique_ptr<UringTransport> uring;  // mount.io_uring; null: /dev/fuse only
};

namespace detail {

using Impl = Session::Impl;

inline Impl& impl_of(fuse_req_t req) { return *static_cast<Impl*>(fuse_req_userdata(req)); }

// Measures one request and reports it; `err` is set by the reply helpers below.
class OpScope {
 public:
  OpScope(fuse_req_t req, const char* op, uint64_t ino)
      : impl_(impl_of(req)), op_(op), ino_(ino), start_(std::chrono::steady_clock::now()) {
    // libfuse starts its workers; each names itself at its first request.
    // io_uring queue and pool threads have their own names (af-ring-N, af-ring-io).
    thread_local bool named = false;
    if (!named) {
      if (!UringTransport::on_ring_thread()) common::name_this_thread("af-fuse");
      named = true;
    }
    impl_.in_flight.fetch_add(1);
    if (impl_.observer != nullptr) impl_.observer->op_started(op_);
  }
  ~OpScope() {
    auto elapsed = std::chrono::steady_clock::now() - start_;
    double secs = std::chrono::duration<double>(elapsed).count();
    if (impl_.observer != nullptr) impl_.observer->op_finished(op_, secs, err_);
    if (elapsed > impl_.options.slow_op_threshold) {
      spdlog::warn("slow operation: op={} inode={} duration={:.3f}s result={}", op_, ino_, secs,
                   err_ == 0 ? "ok" : errno_name(err_));
    }
    impl_.in_flight.fetch_sub(1);
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

  int fail(fuse_req_t req, const common::Status& status) {
    err_ = to_errno(status);
    // ENOENT on lookup is normal traffic; log only the unexpected.
    if (err_ != ENOENT && err_ != ENODATA) {
      spdlog::warn("{} inode={} failed: {} ({})", op_, ino_, status.to_string(), errno_name(err_));
    }
    fuse_reply_err(req, err_);
    return err_;
  }
  void fail_errno(fuse_req_t req, int err) {
    err_ = err;
    fuse_reply_err(req, err);
  }
  void set_err(int err) { err_ = err; }

 private:
  Impl& impl_;
  const char* op_;
  uint64_t ino_;
  std::chrono::steady_clock::time_point start_;
  int err_ = 0;
};

inline void fill_stat(const fs::Stat& s, struct stat* st) {
  std::memset(st, 0, sizeof(*st));
  st->st_ino = s.ino;
  st->st_mode = s.mode;
  st->st_nlink = s.nlink;
  st->st_uid = s.uid;
  st->st_gid = s.gid;
  st->st_size = static_cast<off_t>(s.size);
  st->st_blksize = s.blksize;
  st->st_blocks = static_cast<blkcnt_t>(s.blocks);
  st->st_mtim.tv_sec = s.mtime_ns / 1000000000LL;
  st->st_mtim.tv_nsec = s.mtime_ns % 1000000000LL;
  st->st_atim.tv_sec = s.atime_ns / 1000000000LL;
  st->st_atim.tv_nsec = s.atime_ns % 1000000000LL;
  st->st_ctim.tv_sec = s.ctime_ns / 1000000000LL;
  st->st_ctim.tv_nsec = s.ctime_ns % 1000000000LL;
}

inline void fill_entry(const fs::Entry& e, struct fuse_entry_param* out) {
  std::memset(out, 0, sizeof(*out));
  out->ino = e.stat.ino;
  out->generation = 1;
  out->attr_timeout = e.attr_timeout;
  out->entry_timeout = e.entry_timeout;
  if (e.stat.ino != 0) fill_stat(e.stat, &out->attr);
}

// Runs `body`, turning any escaped exception into EIO so libfuse never sees one.
template <typename Body>
void guarded(fuse_req_t req, OpScope& scope, const char* op, Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    spdlog::error("{}: unexpected exception: {}", op, e.what());
    scope.fail_errno(req, EIO);
  } catch (...) {
    spdlog::error("{}: unexpected exception", op);
    scope.fail_errno(req, EIO);
  }
}

inline fs::Caller caller_of(fuse_req_t req) {
  const struct fuse_ctx* ctx = fuse_req_ctx(req);
  fs::Caller c;
  if (ctx != nullptr) {
    c.uid = ctx->uid;
    c.gid = ctx->gid;
  }
  return c;
}

inline void reply_entry(fuse_req_t req, OpScope& scope, const common::Result<fs::Entry>& e) {
  if (!e.ok()) {
    scope.fail(req, e.status());
    return;
  }
  struct fuse_entry_param param;
  fill_entry(*e, &param);
  fuse_reply_entry(req, &param);
}

inline void reply_attr(fuse_req_t req, OpScope& scope, const common::Result<fs::Entry>& e) {
  if (!e.ok()) {
    scope.fail(req, e.status());
    return;
  }
  struct stat st;
  fill_stat(e->stat, &st);
  fuse_reply_attr(req, &st, e->attr_timeout);
}

inline void reply_status(fuse_req_t req, OpScope& scope, const common::Status& s) {
  if (!s.ok()) {
    scope.fail(req, s);
    return;
  }
  fuse_reply_err(req, 0);
}

// The mutating operations (session_mutations.cc; semantics.md §2, §3.3).
void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
                struct fuse_file_info* fi);
void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev);
void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name);
void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name);
void op_symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name);
void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
               const char* new_name, unsigned int flags);
void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name);
void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
               struct fuse_file_info* fi);
void op_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
              struct fuse_file_info* fi);
void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                 int flags);
void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name);
void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info* fi);
void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                  struct fuse_file_info* fi);

}  // namespace detail
}  // namespace alluxio_fuse::fuse
