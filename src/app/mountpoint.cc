// Mount point preparation. A FUSE mount whose daemon died answers every stat with ENOTCONN;
// that is the one state we repair automatically (lazy unmount), because a person would do
// exactly the same thing and a crashed daemon must not need a person to come back.
#include "mountpoint.h"

#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace alluxio_fuse::app {

using common::Code;
using common::Status;

namespace {

// Decodes the octal escapes (\040 for space) of /proc/self/mountinfo.
std::string unescape_mountinfo(const std::string& s) {
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) &&
        octal(s[i + 2]) && octal(s[i + 3])) {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 +
                                      (s[i + 3] - '0')));
      i += 3;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

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
                "cannot unmount " + path + ": " + std::strerror(err) +
                    (err == EBUSY ? " (busy: files are open; try --lazy)" : ""));
}

common::Result<std::string> prepare_mountpoint(const std::string& mountpoint) {
  struct stat st {};
  if (::stat(mountpoint.c_str(), &st) != 0) {
    if (errno == ENOTCONN || errno == ECONNABORTED) {
      // A dead FUSE mount: clear it and continue.
      spdlog::warn("mount point {} is a stale FUSE mount (daemon gone); lazily unmounting it",
                   mountpoint);
      Status s = unmount_path(mountpoint, true);
      if (!s.ok()) return s;
      if (::stat(mountpoint.c_str(), &st) != 0) {
        return Status(Code::kIo, "mount point " + mountpoint + ": " + std::strerror(errno));
      }
    } else {
      return Status(Code::kNotFound,
                    "mount point " + mountpoint + " does not exist: " + std::strerror(errno));
    }
  }
  if (!S_ISDIR(st.st_mode)) return Status(Code::kNotDir, "mount point " + mountpoint +
                                                             " is not a directory");
  char resolved[PATH_MAX];
  if (::realpath(mountpoint.c_str(), resolved) == nullptr) {
    return Status(Code::kIo, "mount point " + mountpoint + ": " + std::strerror(errno));
  }
  std::string abs(resolved);
  if (is_mountpoint(abs)) {
    return Status(Code::kExists, "mount point " + abs + " is busy: something is mounted there");
  }
  return abs;
}

}  // namespace alluxio_fuse::app
