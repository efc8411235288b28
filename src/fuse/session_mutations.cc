// The mutating FUSE operations (semantics.md §2, §3.3): create, write, fsync, namespace and
// attribute changes. Same shape as every callback in session.cc:
// an OpScope, one FileSystem call, exactly one reply.
#include <sys/xattr.h>

#include "session_internal.h"

namespace alluxio_fuse::fuse::detail {

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
                struct fuse_file_info* fi) {
  OpScope scope(req, "setattr", ino);
  guarded(req, scope, "setattr", [&] {
    fs::SetAttr a;
    if ((to_set & FUSE_SET_ATTR_SIZE) != 0) a.size = static_cast<uint64_t>(attr->st_size);
    if ((to_set & FUSE_SET_ATTR_MODE) != 0) a.mode = attr->st_mode & 07777;
    if ((to_set & FUSE_SET_ATTR_UID) != 0) a.uid = attr->st_uid;
    if ((to_set & FUSE_SET_ATTR_GID) != 0) a.gid = attr->st_gid;
    if ((to_set & FUSE_SET_ATTR_ATIME_NOW) != 0) {
      a.atime = fs::SetAttr::Time::kNow;
    } else if ((to_set & FUSE_SET_ATTR_ATIME) != 0) {
      a.atime = fs::SetAttr::Time::kExplicit;
      a.atime_ns = attr->st_atim.tv_sec * 1000000000LL + attr->st_atim.tv_nsec;
    }
    if ((to_set & FUSE_SET_ATTR_MTIME_NOW) != 0) {
      a.mtime = fs::SetAttr::Time::kNow;
    } else if ((to_set & FUSE_SET_ATTR_MTIME) != 0) {
      a.mtime = fs::SetAttr::Time::kExplicit;
      a.mtime_ns = attr->st_mtim.tv_sec * 1000000000LL + attr->st_mtim.tv_nsec;
    }
    // A truncate's implicit "mtime = now" is the truncate's own business.
    if (a.size) {
      if (a.atime == fs::SetAttr::Time::kNow) a.atime = fs::SetAttr::Time::kOmit;
      if (a.mtime == fs::SetAttr::Time::kNow) a.mtime = fs::SetAttr::Time::kOmit;
    }
    reply_attr(req, scope, impl_of(req).fs.setattr(ino, a, fi != nullptr ? fi->fh : 0));
  });
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t) {
  OpScope scope(req, "mknod", parent);
  guarded(req, scope, "mknod", [&] {
    reply_entry(req, scope, impl_of(req).fs.mknod(parent, name, mode, caller_of(req)));
  });
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  OpScope scope(req, "mkdir", parent);
  guarded(req, scope, "mkdir", [&] {
    reply_entry(req, scope, impl_of(req).fs.mkdir(parent, name, mode, caller_of(req)));
  });
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  OpScope scope(req, "unlink", parent);
  guarded(req, scope, "unlink",
          [&] { reply_status(req, scope, impl_of(req).fs.unlink(parent, name)); });
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  OpScope scope(req, "rmdir", parent);
  guarded(req, scope, "rmdir",
          [&] { reply_status(req, scope, impl_of(req).fs.rmdir(parent, name)); });
}

void op_symlink(fuse_req_t req, const char*, fuse_ino_t parent, const char*) {
  OpScope scope(req, "symlink", parent);
  scope.fail_errno(req, ENOTSUP);
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
               const char* new_name, unsigned int flags) {
  OpScope scope(req, "rename", parent);
  guarded(req, scope, "rename", [&] {
    unsigned f = 0;
    if ((flags & RENAME_NOREPLACE) != 0) f |= fs::kRenameNoReplace;
    if ((flags & RENAME_EXCHANGE) != 0) f |= fs::kRenameExchange;
    if ((flags & RENAME_WHITEOUT) != 0) f |= fs::kRenameWhiteout;
    if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) != 0) {
      f |= fs::kRenameWhiteout;  // unknown flags: EINVAL like the others
    }
    reply_status(req, scope, impl_of(req).fs.rename(parent, name, new_parent, new_name, f));
  });
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t, const char*) {
  OpScope scope(req, "link", ino);
  scope.fail_errno(req, ENOTSUP);
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
               struct fuse_file_info* fi) {
  OpScope scope(req, "create", parent);
  guarded(req, scope, "create", [&] {
    auto& fs = impl_of(req).fs;
    auto created = fs.create(parent, name, mode, fi->flags, caller_of(req));
    if (!created.ok()) {
      scope.fail(req, created.status());
      return;
    }
    struct fuse_entry_param param;
    fill_entry(created->entry, &param);
    fi->fh = created->open.fh;
    fi->keep_cache = created->open.keep_cache ? 1 : 0;
    fi->direct_io = created->open.direct_io ? 1 : 0;
    if (fuse_reply_create(req, &param, fi) == -ENOENT) {
      // The caller went away (interrupted): undo the handle and the lookup reference.
      fs.release(created->open.fh);
      fs.forget(created->entry.stat.ino, 1);
    }
  });
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
              struct fuse_file_info* fi) {
  OpScope scope(req, "write", ino);
  guarded(req, scope, "write", [&] {
    auto n = impl_of(req).fs.write(fi->fh, static_cast<uint64_t>(off), buf, size);
    if (!n.ok()) {
      scope.fail(req, n.status());
      return;
    }
    fuse_reply_write(req, *n);
  });
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char*, const char*, size_t, int) {
  OpScope scope(req, "setxattr", ino);
  scope.fail_errno(req, ENOTSUP);
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char*) {
  OpScope scope(req, "removexattr", ino);
  scope.fail_errno(req, ENOTSUP);
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int, struct fuse_file_info* fi) {
  OpScope scope(req, "fsync", ino);
  guarded(req, scope, "fsync", [&] { reply_status(req, scope, impl_of(req).fs.fsync(fi->fh)); });
}

// Preallocation is not supported (glibc's posix_fallocate then writes zeros itself).
void op_fallocate(fuse_req_t req, fuse_ino_t ino, int, off_t, off_t, struct fuse_file_info*) {
  OpScope scope(req, "fallocate", ino);
  scope.fail_errno(req, EOPNOTSUPP);
}

}  // namespace alluxio_fuse::fuse::detail
