// Design note: fork/exec of node with a pipe on stdin (its end-of-file stops the launcher even
// if this process dies) and a pipe on stdout that carries "LISTENING <port>"; a poll bounds the
// wait. NODE_OPTIONS=--openssl-legacy-provider lets s3rver make its DES continuation tokens.
#include "s3rver_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

namespace alluxio_fuse::testing {
namespace {

constexpr int kStartTimeoutMs = 30000;

bool wait_exit(pid_t pid, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || r < 0) return true;
    ::poll(nullptr, 0, 20);  // waiting for a child to exit, not ordering threads
  }
  return false;
}

}  // namespace

S3rverProcess::S3rverProcess(const std::string& bucket) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "af-s3rver-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    error_ = "mkdtemp failed";
    return;
  }
  dir_ = tmpl;
  const char* node_env = std::getenv("AF_NODE");
  std::string node = node_env != nullptr ? node_env : AF_NODE;
  if (node.empty() || node.ends_with("NOTFOUND")) node = "node";
  const std::string launcher = AF_S3RVER_LAUNCHER;
  if (!std::filesystem::exists(std::filesystem::path(launcher).parent_path() / "node_modules" /
                               "s3rver")) {
    error_ = "s3rver is not installed: run scripts/install-deps.sh (tests/s3/node_modules)";
    return;
  }
  int in[2];
  int out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
    error_ = "pipe failed";
    return;
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::setenv("NODE_OPTIONS", "--openssl-legacy-provider", 1);
    ::execlp(node.c_str(), node.c_str(), launcher.c_str(), dir_.c_str(), bucket.c_str(), "0",
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  stdin_fd_ = in[1];
  if (pid_ < 0) {
    ::close(out[0]);
    error_ = "fork failed";
    return;
  }
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStartTimeoutMs);
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{out[0], POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[256];
    ssize_t n = ::read(out[0], buf, sizeof(buf));
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  if (line.rfind("LISTENING ", 0) == 0) {
    port_ = std::atoi(line.c_str() + 10);
  } else {
    error_ = "s3rver did not start (node " + node + "): " + line;
  }
}

bool S3rverProcess::alive() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

S3rverProcess::~S3rverProcess() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  if (pid_ > 0 && !wait_exit(pid_, 5000)) {
    ::kill(pid_, SIGTERM);
    if (!wait_exit(pid_, 3000)) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

}  // namespace alluxio_fuse::testing
