// Mount point preparation. A FUSE mount whose daemon died answers every stat with ENOTCONN;
// that is the one state we repair automatically (lazy unmount), because a person would do
// exactly the same thing and a crashed daemon must not need a person to come back.
#include "mountpoint.h"

#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "alluxio_fuse/common/errno_text.h"
#include "cli_support.h"

namespace alluxio_fuse::app {

using common::Code;
using common::Status;

namespace {

int run_program(const char* prog, const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(prog));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(prog, argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

Status set_kernel_readahead(const std::string& mountpoint, uint64_t bytes) {
  struct stat st {};
  if (::stat(mountpoint.c_str(), &st) != 0) {
    return Status(Code::kIo, "stat " + mountpoint + ": " + common::errno_text(errno));
  }
  const std::string path = "/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" +
                           std::to_string(minor(st.st_dev)) + "/read_ahead_kb";
  std::ofstream out(path);
  out << (bytes / 1024) << "\n";
  out.flush();
  if (!out) return Status(Code::kIo, "cannot write " + path);
  return Status::Ok();
}

bool is_mountpoint(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mnt;
    fields >> id >> parent >> devno >> root >> mnt;
    if (unescape_mountinfo(mnt) == path) return true;
  }
  return false;
}

Status unmount_path(const std::string& path, bool lazy) {
  std::vector<std::string> args = {"-u"};
  if (lazy) args.push_back("-z");
  args.push_back("-q");
  args.push_back(path);
  if (run_program("fusermount3", args) == 0) return Status::Ok();
  if (::umount2(path.c_str(), lazy ? MNT_DETACH : 0) == 0) return Status::Ok();
  int err = errno;
  return Status(err == EBUSY ? Code::kIo : Code::kInvalid,
                "cannot unmount " + path + ": " + common::errno_text(err) +
                    (err == EBUSY ? " (busy: files are open; try --lazy)" : ""));
}

namespace {

bool is_dead_connection(int err) { return err == ENOTCONN || err == ECONNABORTED; }

// Absolute path without following the last component (which may be a dead mount).
common::Result<std::string> absolute(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto slash = p.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
  std::string base = slash == std::string::npos ? p : p.substr(slash + 1);
  char resolved[PATH_MAX];
  if (::realpath(dir.c_str(), resolved) == nullptr) {
    return Status(Code::kNotFound, "mount point " + path + ": " + common::errno_text(errno));
  }
  std::string out(resolved);
  if (base.empty() || base == ".") return out;
  return (out == "/" ? "" : out) + "/" + base;
}

}  // namespace

common::Result<std::string> prepare_mountpoint(const std::string& mountpoint) {
  auto abs = absolute(mountpoint);
  if (!abs.ok()) return abs.status();
  // statfs always reaches the daemon (stat may be answered from the kernel's attribute cache),
  // so it tells a dead FUSE mount from a live one.
  struct statfs sfs {};
  bool dead = false;
  if (::statfs(abs->c_str(), &sfs) != 0) {
    if (!is_dead_connection(errno)) {
      return Status(Code::kNotFound,
                    "mount point " + *abs + " does not exist: " + common::errno_text(errno));
    }
    dead = true;
  }
  if (dead) {
    spdlog::warn("mount point {} is a stale FUSE mount (its daemon is gone); lazily unmounting it",
                 *abs);
    std::cerr << "alluxio-fuse: clearing stale mount at " << *abs << "\n";
    Status s = unmount_path(*abs, true);
    if (!s.ok()) return s;
  }
  struct stat st {};
  if (::stat(abs->c_str(), &st) != 0) {
    return Status(Code::kNotFound,
                  "mount point " + *abs + " does not exist: " + common::errno_text(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status(Code::kNotDir, "mount point " + *abs + " is not a directory");
  }
  char resolved[PATH_MAX];
  if (::realpath(abs->c_str(), resolved) == nullptr) {
    return Status(Code::kIo, "mount point " + *abs + ": " + common::errno_text(errno));
  }
  std::string canonical(resolved);
  if (is_mountpoint(canonical)) {
    return Status(Code::kExists,
                  "mount point " + canonical + " is busy: something is mounted there");
  }
  return canonical;
}

}  // namespace alluxio_fuse::app
