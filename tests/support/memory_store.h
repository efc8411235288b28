#pragma once
// Test doubles for the store contract.
//
// MemoryStore: an in-memory store (files and directories keyed by full key) that behaves as
// the contract says, so the core can be tested without processes. FaultStore: a wrapper that
// injects failures and counts calls, for the core's error paths.
// Thread-safety: both are safe for concurrent use.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "alluxio_fuse/store/store.h"

namespace alluxio_fuse::testing {

class MemoryStore final : public store::Store {
 public:
  explicit MemoryStore(std::string root);

  // Test setup: create a file (and its parent directories) or a directory.
  void put_file(const std::string& key, std::string data, int64_t mtime_ms = 1700000000000);
  void put_dir(const std::string& key);

  common::Result<store::FileInfo> stat(const std::string& key) override;
  common::Result<std::vector<store::FileInfo>> list(const std::string& key) override;
  common::Result<store::ReadReply> read(const store::ReadRequest& request, char* buf) override;
  common::Status write_file(const std::string& key, int fd, uint64_t size) override;
  common::Status mkdir(const std::string& key) override;
  common::Status remove(const std::string& key, bool directory) override;
  common::Status rename(const std::string& src, const std::string& dst) override;

  std::atomic<int> stat_calls{0};
  std::atomic<int> list_calls{0};
  std::atomic<int> read_calls{0};

 private:
  struct Node {
    bool dir = false;
    std::string data;
    int64_t mtime_ms = 0;
  };
  std::string parent_of(const std::string& key) const;
  bool has_children_locked(const std::string& key) const;

  std::string root_;
  std::mutex mu_;
  std::map<std::string, Node> nodes_;  // GUARDED_BY(mu_)
};

// Wraps a store; `fail` decides per call ("stat", "list", "read", ...) whether to fail with the
// returned status instead of delegating.
class FaultStore final : public store::Store {
 public:
  using Hook = std::function<common::Status(const char* op, const std::string& key)>;
  FaultStore(store::Store& inner, Hook hook) : inner_(inner), hook_(std::move(hook)) {}

  common::Result<store::FileInfo> stat(const std::string& key) override;
  common::Result<std::vector<store::FileInfo>> list(const std::string& key) override;
  common::Result<store::ReadReply> read(const store::ReadRequest& request, char* buf) override;
  common::Status write_file(const std::string& key, int fd, uint64_t size) override;
  common::Status mkdir(const std::string& key) override;
  common::Status remove(const std::string& key, bool directory) override;
  common::Status rename(const std::string& src, const std::string& dst) override;

 private:
  store::Store& inner_;
  Hook hook_;
};

}  // namespace alluxio_fuse::testing
