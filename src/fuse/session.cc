// libfuse3 low-level session: mount, loop, unmount, and the operations that read (lookup,
// attributes, directories, open/read/release, xattrs); the mutating ones are in
// session_mutations.cc, the shared internals in session_internal.h.
//
// Every callback has the same shape: an OpScope measures it and reports to the observer, the
// body calls one FileSystem method, and exactly one reply is sent. Anything thrown becomes
// EIO with a log line; a callback never lets an exception reach libfuse.
//
// Kernel cache invalidations asked for by the core go through a queue to one notifier thread:
// fuse_lowlevel_notify_inval_* must never run inside a request handler (page-cache.md §6),
// since the kernel may wait on the very request being served.
#define FUSE_USE_VERSION 314
#include "alluxio_fuse/fuse/session.h"

#include <fuse3/fuse_lowlevel.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alluxio_fuse/fuse/errno_map.h"
#include "session_internal.h"

namespace alluxio_fuse::fuse {

namespace detail {
namespace {

void op_init(void* userdata, struct fuse_conn_info* conn) {
  auto* impl = static_cast<Impl*>(userdata);
  auto max_read = static_cast<unsigned>(impl->options.max_read);
  conn->max_read = max_read;  // must equal the max_read mount option
  conn->max_write = static_cast<unsigned>(impl->options.max_write);
  conn->max_readahead = max_read;
  if ((conn->capable & FUSE_CAP_PARALLEL_DIROPS) != 0) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  if ((conn->capable & FUSE_CAP_ASYNC_READ) != 0) conn->want |= FUSE_CAP_ASYNC_READ;
  // O_TRUNC arrives with open, so a truncating open stages an empty copy instead of the
  // kernel committing an empty file first with a separate setattr.
  if ((conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) != 0) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  // Writes go through to the daemon (no writeback cache): each one can fail with its errno.
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  spdlog::info("fuse session ready: proto {}.{}, max_read {}, max_write {}, max_readahead {}",
               conn->proto_major, conn->proto_minor, max_read, conn->max_write,
               conn->max_readahead);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  OpScope scope(req, "lookup", parent);
  guarded(req, scope, "lookup", [&] {
    auto e = impl_of(req).fs.lookup(parent, name);
    if (!e.ok()) {
      scope.fail(req, e.status());
      return;
    }
    if (e->stat.ino == 0) scope.set_err(ENOENT);  // negative entry, cached by the kernel
    struct fuse_entry_param param;
    fill_entry(*e, &param);
    fuse_reply_entry(req, &param);
  });
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  {
    OpScope scope(req, "forget", ino);
    try {
      impl_of(req).fs.forget(ino, nlookup);
    } catch (...) {
      spdlog::error("forget: unexpected exception");
    }
  }
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data* forgets) {
  {
    OpScope scope(req, "forget", 0);
    try {
      for (size_t i = 0; i < count; ++i) impl_of(req).fs.forget(forgets[i].ino, forgets[i].nlookup);
    } catch (...) {
      spdlog::error("forget: unexpected exception");
    }
  }
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* /*fi*/) {
  OpScope scope(req, "getattr", ino);
  guarded(req, scope, "getattr", [&] { reply_attr(req, scope, impl_of(req).fs.getattr(ino)); });
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  OpScope scope(req, "opendir", ino);
  guarded(req, scope, "opendir", [&] {
    auto fh = impl_of(req).fs.opendir(ino);
    if (!fh.ok()) {
      scope.fail(req, fh.status());
      return;
    }
    fi->fh = *fh;
    fi->cache_readdir = 0;
    fuse_reply_open(req, fi);
  });
}

void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi,
                bool plus) {
  const char* op = plus ? "readdirplus" : "readdir";
  OpScope scope(req, op, ino);
  guarded(req, scope, op, [&] {
    std::vector<char> buf(size);
    size_t used = 0;
    auto status = impl_of(req).fs.readdir(
        ino, fi->fh, static_cast<uint64_t>(off), plus,
        [&](const fs::DirEntry& de, const fs::Entry* e) {
          size_t need;
          if (plus) {
            struct fuse_entry_param param;
            fill_entry(*e, &param);
            need = fuse_add_direntry_plus(req, buf.data() + used, size - used, de.name.c_str(),
                                          &param, static_cast<off_t>(de.next_offset));
          } else {
            struct stat st {};
            // glibc readdir() skips entries whose d_ino is 0; any non-zero number serves (no
            // use_ino).
            st.st_ino = de.next_offset;
            st.st_mode = de.is_dir ? S_IFDIR : S_IFREG;
            need = fuse_add_direntry(req, buf.data() + used, size - used, de.name.c_str(), &st,
                                     static_cast<off_t>(de.next_offset));
          }
          if (need > size - used) return false;
          used += need;
          return true;
        });
    if (!status.ok()) {
      scope.fail(req, status);
      return;
    }
    fuse_reply_buf(req, buf.data(), used);
  });
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  do_readdir(req, ino, size, off, fi, false);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info* fi) {
  do_readdir(req, ino, size, off, fi, true);
}

void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  OpScope scope(req, "releasedir", ino);
  guarded(req, scope, "releasedir", [&] {
    impl_of(req).fs.releasedir(fi->fh);
    fuse_reply_err(req, 0);
  });
}

void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  OpScope scope(req, "open", ino);
  guarded(req, scope, "open", [&] {
    auto reply = impl_of(req).fs.open(ino, fi->flags);
    if (!reply.ok()) {
      scope.fail(req, reply.status());
      return;
    }
    fi->fh = reply->fh;
    fi->keep_cache = reply->keep_cache ? 1 : 0;
    fi->direct_io = reply->direct_io ? 1 : 0;
    if (fuse_reply_open(req, fi) == -ENOENT) impl_of(req).fs.release(reply->fh);
  });
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  OpScope scope(req, "read", ino);
  guarded(req, scope, "read", [&] {
    // On an io_uring queue thread the reply is built in the ring entry's buffer (no copy);
    // elsewhere in one reusable buffer per libfuse thread (replies are at most max_read bytes).
    char* out = UringTransport::reply_buffer(size);
    if (out == nullptr) {
      thread_local std::vector<char> buf;
      if (buf.size() < size) buf.resize(size);
      out = buf.data();
    }
    // A whole page the readahead kept in memory is replied from its own buffer (no copy).
    auto got = impl_of(req).fs.read_data(fi->fh, static_cast<uint64_t>(off), size, out);
    if (!got.ok()) {
      scope.fail(req, got.status());
      return;
    }
    fuse_reply_buf(req, got->data, got->len);
  });
}

void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  OpScope scope(req, "release", ino);
  guarded(req, scope, "release", [&] {
    impl_of(req).fs.release(fi->fh);
    fuse_reply_err(req, 0);
  });
}

void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  OpScope scope(req, "flush", ino);
  guarded(req, scope, "flush", [&] {
    common::Status s = impl_of(req).fs.flush(fi->fh);
    if (!s.ok()) {
      scope.fail(req, s);
      return;
    }
    fuse_reply_err(req, 0);
  });
}

void op_statfs(fuse_req_t req, fuse_ino_t ino) {
  OpScope scope(req, "statfs", ino);
  guarded(req, scope, "statfs", [&] {
    fs::StatFs s = impl_of(req).fs.statfs();
    struct statvfs st {};
    st.f_bsize = s.bsize;
    st.f_frsize = s.frsize;
    st.f_blocks = s.blocks;
    st.f_bfree = s.bfree;
    st.f_bavail = s.bavail;
    st.f_files = s.files;
    st.f_ffree = s.ffree;
    st.f_favail = s.ffree;
    st.f_namemax = s.namemax;
    fuse_reply_statfs(req, &st);
  });
}

// Extended attributes: a small read-only set answered locally (semantics.md §2.7).
void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  OpScope scope(req, "getxattr", ino);
  guarded(req, scope, "getxattr", [&] {
    std::string value;
    if (std::strcmp(name, "user.alluxio.ufs_uri") == 0) {
      auto key = impl_of(req).fs.key_of(ino);
      if (!key.ok()) {
        scope.fail(req, key.status());
        return;
      }
      value = *key;
    } else {
      scope.fail_errno(req, ENODATA);
      return;
    }
    if (size == 0) {
      fuse_reply_xattr(req, value.size());
    } else if (size < value.size()) {
      scope.fail_errno(req, ERANGE);
    } else {
      fuse_reply_buf(req, value.data(), value.size());
    }
  });
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  OpScope scope(req, "listxattr", ino);
  guarded(req, scope, "listxattr", [&] {
    static const char kNames[] = "user.alluxio.ufs_uri";
    size_t len = sizeof(kNames);  // includes the terminating NUL
    if (size == 0) {
      fuse_reply_xattr(req, len);
    } else if (size < len) {
      scope.fail_errno(req, ERANGE);
    } else {
      fuse_reply_buf(req, kNames, len);
    }
  });
}

// Custom io (fuse_session_custom_io) when mount.io_uring is on: the transport sees INIT and
// routes replies of ring requests to their ring entries.
ssize_t io_read(int fd, void* buf, size_t len, void* userdata) {
  return static_cast<Impl*>(userdata)->uring->read(fd, buf, len);
}

ssize_t io_writev(int fd, struct iovec* iov, int count, void* userdata) {
  return static_cast<Impl*>(userdata)->uring->writev(fd, iov, count);
}

struct fuse_lowlevel_ops make_ops() {
  struct fuse_lowlevel_ops ops {};
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.mknod = op_mknod;
  ops.mkdir = op_mkdir;
  ops.unlink = op_unlink;
  ops.rmdir = op_rmdir;
  ops.symlink = op_symlink;
  ops.rename = op_rename;
  ops.link = op_link;
  ops.open = op_open;
  ops.read = op_read;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.release = op_release;
  ops.fsync = op_fsync;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.readdirplus = op_readdirplus;
  ops.releasedir = op_releasedir;
  ops.statfs = op_statfs;
  ops.setxattr = op_setxattr;
  ops.getxattr = op_getxattr;
  ops.listxattr = op_listxattr;
  ops.removexattr = op_removexattr;
  ops.create = op_create;
  ops.fallocate = op_fallocate;
  return ops;
}

}  // namespace
}  // namespace detail

Session::Session(fs::FileSystem& fs, SessionOptions options, OpObserver* observer)
    : impl_(std::make_unique<Impl>(fs, std::move(options), observer)) {}

Session::~Session() {
  impl_->fs.set_notifier(nullptr);
  impl_->notifier.stop();
  unmount();
  if (impl_->se != nullptr) fuse_session_destroy(impl_->se);
}

common::Status Session::mount(const std::string& mountpoint) {
  const SessionOptions& o = impl_->options;
  std::string opts =
      "fsname=" + o.fsname + ",subtype=" + o.subtype + ",max_read=" + std::to_string(o.max_read);
  if (o.allow_other) opts += ",allow_other";
  if (o.default_permissions) opts += ",default_permissions";
  if (o.read_only) opts += ",ro";
  for (const auto& extra : o.extra_options) opts += "," + extra;
  std::vector<std::string> argv_s = {"alluxio-fuse", "-o", opts};
  std::vector<char*> argv;
  argv.reserve(argv_s.size());
  for (auto& a : argv_s) argv.push_back(a.data());
  struct fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  static const struct fuse_lowlevel_ops kOps = detail::make_ops();
  impl_->se = fuse_session_new(&args, &kOps, sizeof(kOps), impl_.get());
  if (impl_->se == nullptr) {
    return common::Status(common::Code::kInvalid, "fuse: bad mount options: " + opts);
  }
  if (fuse_session_mount(impl_->se, mountpoint.c_str()) != 0) {
    return common::Status(common::Code::kIo, "fuse: cannot mount on " + mountpoint);
  }
  if (o.io_uring) start_uring();
  impl_->notifier.start(impl_->se);
  impl_->fs.set_notifier(&impl_->notifier);
  std::lock_guard<std::mutex> lock(impl_->mount_mu);
  impl_->mounted = true;
  impl_->mountpoint = mountpoint;
  spdlog::info("mounted on {} (-o {})", mountpoint, opts);
  return common::Status::Ok();
}

void Session::start_uring() {
  const int fd = fuse_session_fd(impl_->se);
  UringTransport::Options uo;
  uo.max_payload = std::max(impl_->options.max_read, impl_->options.max_write);
  uo.max_pool = impl_->options.max_threads;
  uo.on_fatal = impl_->options.on_fatal;
  impl_->uring = UringTransport::prepare(impl_->se, fd, uo);
  if (impl_->uring == nullptr) return;  // logged; /dev/fuse serves everything
  struct fuse_custom_io io {};
  io.read = detail::io_read;
  io.writev = detail::io_writev;
  if (fuse_session_custom_io(impl_->se, &io, fd) != 0) {
    spdlog::warn("mount.io_uring: libfuse refused custom io; serving through /dev/fuse");
    impl_->uring.reset();
  }
}

common::Status Session::run() {
  struct fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(cfg, impl_->options.max_threads);
  fuse_loop_cfg_set_idle_threads(cfg, impl_->options.max_idle_threads);
  int rc = fuse_session_loop_mt(impl_->se, cfg);
  fuse_loop_cfg_destroy(cfg);
  if (rc != 0 && rc != SIGTERM && rc != SIGINT && rc != SIGHUP) {
    return common::Status(common::Code::kIo, "fuse loop ended with " + std::to_string(rc));
  }
  return common::Status::Ok();
}

int64_t Session::ops_in_flight() const { return impl_->in_flight.load(); }

void Session::exit() {
  if (impl_->se != nullptr) fuse_session_exit(impl_->se);
}

void Session::unmount() {
  std::lock_guard<std::mutex> lock(impl_->mount_mu);
  if (impl_->mounted && impl_->se != nullptr) {
    fuse_session_unmount(impl_->se);
    impl_->mounted = false;
    if (impl_->uring != nullptr) impl_->uring->stop();  // after the unmount (uring.h)
    spdlog::info("unmounted {}", impl_->mountpoint);
  }
}

void Session::invalidate_inode(uint64_t ino) { impl_->notifier.inval_inode(ino); }

}  // namespace alluxio_fuse::fuse
