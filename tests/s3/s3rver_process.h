#pragma once
// An s3rver process for one test program: started on a free loopback port with its own temp
// directory (node tests/s3/s3rver_launch.js), stopped in the destructor (its stdin is closed,
// then SIGTERM, then SIGKILL), so a failing test never leaves a server behind.
//
// Thread-safety: construct and destroy on one thread; port() may be read from any.

#include <sys/types.h>

#include <string>

namespace alluxio_fuse::testing {

class S3rverProcess {
 public:
  // Starts s3rver serving `bucket`; check ok() / error() before use.
  explicit S3rverProcess(const std::string& bucket);
  ~S3rverProcess();
  S3rverProcess(const S3rverProcess&) = delete;
  S3rverProcess& operator=(const S3rverProcess&) = delete;

  bool ok() const { return port_ != 0; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  bool alive() const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int port_ = 0;
  std::string error_;
};

}  // namespace alluxio_fuse::testing
