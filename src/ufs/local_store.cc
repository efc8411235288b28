// Local-directory UFS. OS errors become common::Code here (the store's one mapping); the key's
// last component is the entry name. Entries that are neither regular files nor directories
// (sockets, devices, dangling links) are not listed: the mount serves files and directories.
#include "alluxio_fuse/ufs/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "alluxio_fuse/common/errno_text.h"
#include "alluxio_fuse/common/uri.h"

namespace alluxio_fuse::ufs {
namespace {

using common::Code;
using common::Result;
using common::Status;

Status from_errno(int err, const std::string& what) {
  Code code = Code::kIo;
  switch (err) {
    case ENOENT:
      code = Code::kNotFound;
      break;
    case EEXIST:
      code = Code::kExists;
      break;
    case ENOTEMPTY:
      code = Code::kNotEmpty;
      break;
    case ENOTDIR:
      code = Code::kNotDir;
      break;
    case EISDIR:
      code = Code::kIsDir;
      break;
    case EACCES:
      code = Code::kPermission;
      break;
    case EPERM:
      code = Code::kNotPermitted;
      break;
    case ENAMETOOLONG:
      code = Code::kNameTooLong;
      break;
    case ENOSPC:
    case EDQUOT:
      code = Code::kNoSpace;
      break;
    case EFBIG:
      code = Code::kTooLarge;
      break;
    case EROFS:
      code = Code::kReadOnly;
      break;
    case EINVAL:
      code = Code::kInvalid;
      break;
    default:
      break;
  }
  return Status(code, what + ": " + common::errno_text(err));
}

std::string last_component(const std::string& key) {
  auto pos = key.rfind('/');
  return pos == std::string::npos ? key : key.substr(pos + 1);
}

// RAII for a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

store::FileInfo info_from_stat(const struct stat& st, std::string name) {
  store::FileInfo info;
  info.name = std::move(name);
  info.type = S_ISDIR(st.st_mode) ? store::FileType::kDirectory : store::FileType::kFile;
  info.size = S_ISDIR(st.st_mode) ? 0 : static_cast<uint64_t>(st.st_size);
  info.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  info.mtime_ms = info.mtime_ns / 1000000;
  info.atime_ms = static_cast<int64_t>(st.st_atim.tv_sec) * 1000LL + st.st_atim.tv_nsec / 1000000;
  info.mode = st.st_mode & 07777;
  info.uid = st.st_uid;
  info.gid = st.st_gid;
  return info;
}

bool servable(const struct stat& st) { return S_ISREG(st.st_mode) || S_ISDIR(st.st_mode); }

Status fsync_dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return from_errno(errno, "open dir " + dir);
  if (::fsync(fd.get()) != 0) return from_errno(errno, "fsync dir " + dir);
  return Status::Ok();
}

}  // namespace

LocalStore::LocalStore(std::string root) : root_(std::move(root)) {}

Result<std::string> LocalStore::path_of(const std::string& key) const {
  return common::local_path_for_key(root_, key);
}

Result<store::FileInfo> LocalStore::stat(const std::string& key) {
  auto path = path_of(key);
  if (!path.ok()) return path.status();
  struct stat st {};
  if (::stat(path->c_str(), &st) != 0) return from_errno(errno, "stat " + key);
  if (!servable(st)) return Status(Code::kNotFound, "not a file or directory: " + key);
  return info_from_stat(st, key == root_ ? "" : last_component(key));
}

Result<std::vector<store::FileInfo>> LocalStore::list(const std::string& key) {
  auto path = path_of(key);
  if (!path.ok()) return path.status();
  Fd dfd(::open(path->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0) return from_errno(errno, "list " + key);
  DIR* dir = ::fdopendir(dfd.get());
  if (dir == nullptr) return from_errno(errno, "list " + key);
  int fd = dfd.release();
  std::vector<store::FileInfo> out;
  errno = 0;
  while (struct dirent* de = ::readdir(dir)) {
    std::string name = de->d_name;
    if (!common::is_valid_name(name)) continue;
    struct stat st {};
    if (::fstatat(fd, de->d_name, &st, 0) != 0 || !servable(st)) continue;
    out.push_back(info_from_stat(st, std::move(name)));
  }
  ::closedir(dir);
  return out;
}

Result<store::ReadReply> LocalStore::read(const store::ReadRequest& request, char* buf) {
  auto path = path_of(request.key);
  if (!path.ok()) return path.status();
  Fd fd(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return from_errno(errno, "open " + request.key);
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status(Code::kIsDir, "read of a directory: " + request.key);
  }
  size_t done = 0;
  while (done < request.length) {
    ssize_t n = ::pread(fd.get(), buf + done, request.length - done,
                        static_cast<off_t>(request.offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return from_errno(errno, "read " + request.key);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return store::ReadReply{done, store::Source::kUfs};
}

Status LocalStore::write_file(const std::string& key, int src_fd, uint64_t size) {
  auto path = path_of(key);
  if (!path.ok()) return path.status();
  std::string tmpl = *path;
  auto slash = tmpl.rfind('/');
  tmpl.insert(slash + 1, ".");
  tmpl += ".af-XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  Fd out(::mkostemp(name.data(), O_CLOEXEC));
  if (out.get() < 0) return from_errno(errno, "create temporary for " + key);
  std::string tmp_path(name.data());
  auto fail = [&](int err, const std::string& what) {
    ::unlink(tmp_path.c_str());
    return from_errno(err, what);
  };
  // At most the file's size, not zero-filled (every byte written was read into it first).
  const size_t cap = static_cast<size_t>(std::clamp<uint64_t>(size, 1, 1 << 20));
  auto buf = std::make_unique_for_overwrite<char[]>(cap);
  uint64_t off = 0;
  while (off < size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(cap, size - off));
    ssize_t n = ::pread(src_fd, buf.get(), want, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(n < 0 ? errno : EIO, "read staged data of " + key);
    size_t written = 0;
    while (written < static_cast<size_t>(n)) {
      ssize_t w = ::write(out.get(), buf.get() + written, static_cast<size_t>(n) - written);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return fail(errno, "write " + key);
      written += static_cast<size_t>(w);
    }
    off += static_cast<uint64_t>(n);
  }
  // Keep the mode (and, when we may, the owner) of the file being replaced, else the umask
  // default for new files: a commit must not undo a chmod/chown passed through earlier.
  struct stat st {};
  mode_t mode = 0644;
  if (::stat(path->c_str(), &st) == 0) {
    mode = st.st_mode & 07777;
    if (::geteuid() == 0 && ::fchown(out.get(), st.st_uid, st.st_gid) != 0) {
      return fail(errno, "chown " + key);
    }
  }
  if (::fchmod(out.get(), mode) != 0) return fail(errno, "chmod " + key);
  if (::fsync(out.get()) != 0) return fail(errno, "fsync " + key);
  if (::rename(tmp_path.c_str(), path->c_str()) != 0) return fail(errno, "rename into " + key);
  return fsync_dir_of(*path);
}

Status LocalStore::mkdir(const std::string& key) {
  auto path = path_of(key);
  if (!path.ok()) return path.status();
  if (::mkdir(path->c_str(), 0755) != 0) return from_errno(errno, "mkdir " + key);
  return Status::Ok();
}

Status LocalStore::remove(const std::string& key, bool directory) {
  auto path = path_of(key);
  if (!path.ok()) return path.status();
  int rc = directory ? ::rmdir(path->c_str()) : ::unlink(path->c_str());
  if (rc != 0) {
    int err = errno == EEXIST ? ENOTEMPTY : errno;
    return from_errno(err, (directory ? "rmdir " : "unlink ") + key);
  }
  return Status::Ok();
}

Status LocalStore::rename(const std::string& src, const std::string& dst) {
  auto from = path_of(src);
  if (!from.ok()) return from.status();
  auto to = path_of(dst);
  if (!to.ok()) return to.status();
  if (::renameat2(AT_FDCWD, from->c_str(), AT_FDCWD, to->c_str(), RENAME_NOREPLACE) != 0) {
    return from_errno(errno, "rename " + src + " to " + dst);
  }
  return Status::Ok();
}

Status LocalStore::set_mode(const std::string& key, uint32_t mode) {
  auto path = path_of(key);
  if (!path.ok()) return path.status();
  if (::chmod(path->c_str(), static_cast<mode_t>(mode & 07777)) != 0) {
    return from_errno(errno, "chmod " + key);
  }
  return Status::Ok();
}

Status LocalStore::set_owner(const std::string& key, std::optional<uint32_t> uid,
                             std::optional<uint32_t> gid) {
  auto path = path_of(key);
  if (!path.ok()) return path.status();
  uid_t u = uid ? static_cast<uid_t>(*uid) : static_cast<uid_t>(-1);
  gid_t g = gid ? static_cast<gid_t>(*gid) : static_cast<gid_t>(-1);
  if (::lchown(path->c_str(), u, g) != 0) return from_errno(errno, "chown " + key);
  return Status::Ok();
}

Status LocalStore::set_times(const std::string& key, std::optional<int64_t> atime_ns,
                             std::optional<int64_t> mtime_ns) {
  auto path = path_of(key);
  if (!path.ok()) return path.status();
  auto to_ts = [](std::optional<int64_t> ns) {
    struct timespec ts {};
    if (!ns) {
      ts.tv_nsec = UTIME_OMIT;
    } else {
      ts.tv_sec = static_cast<time_t>(*ns / 1000000000LL);
      ts.tv_nsec = static_cast<long>(*ns % 1000000000LL);
      if (ts.tv_nsec < 0) {
        ts.tv_nsec += 1000000000L;
        ts.tv_sec -= 1;
      }
    }
    return ts;
  };
  struct timespec times[2] = {to_ts(atime_ns), to_ts(mtime_ns)};
  if (::utimensat(AT_FDCWD, path->c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return from_errno(errno, "utimens " + key);
  }
  return Status::Ok();
}

}  // namespace alluxio_fuse::ufs
