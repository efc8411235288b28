#include "memory_store.h"

#include <unistd.h>

#include <algorithm>

namespace alluxio_fuse::testing {

using common::Code;
using common::Status;

MemoryStore::MemoryStore(std::string root) : root_(std::move(root)) {
  nodes_[root_] = Node{true, "", 1700000000000};
}

std::string MemoryStore::parent_of(const std::string& key) const {
  if (key == root_) return root_;
  std::string parent = key.substr(0, key.rfind('/'));
  return parent.size() < root_.size() ? root_ : parent;
}

void MemoryStore::put_dir(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string k = key;
  while (k != root_ && nodes_.count(k) == 0) {
    nodes_[k] = Node{true, "", 1700000000000};
    k = parent_of(k);
  }
}

void MemoryStore::put_file(const std::string& key, std::string data, int64_t mtime_ms) {
  put_dir(parent_of(key));
  std::lock_guard<std::mutex> lock(mu_);
  nodes_[key] = Node{false, std::move(data), mtime_ms};
}

bool MemoryStore::has_children_locked(const std::string& key) const {
  std::string prefix = key + "/";
  auto it = nodes_.lower_bound(prefix);
  return it != nodes_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

common::Result<store::FileInfo> MemoryStore::stat(const std::string& key) {
  ++stat_calls;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(key);
  if (it == nodes_.end()) return Status(Code::kNotFound, "absent: " + key);
  store::FileInfo info;
  info.name = key == root_ ? "" : key.substr(key.rfind('/') + 1);
  info.type = it->second.dir ? store::FileType::kDirectory : store::FileType::kFile;
  info.size = it->second.dir ? 0 : it->second.data.size();
  info.mtime_ms = it->second.mtime_ms;
  return info;
}

common::Result<std::vector<store::FileInfo>> MemoryStore::list(const std::string& key) {
  ++list_calls;
  std::vector<std::string> children;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = nodes_.find(key);
    if (it == nodes_.end()) return Status(Code::kNotFound, "absent: " + key);
    if (!it->second.dir) return Status(Code::kNotDir, "not a directory: " + key);
    std::string prefix = key + "/";
    for (auto c = nodes_.lower_bound(prefix);
         c != nodes_.end() && c->first.compare(0, prefix.size(), prefix) == 0; ++c) {
      if (c->first.find('/', prefix.size()) == std::string::npos) children.push_back(c->first);
    }
  }
  std::vector<store::FileInfo> out;
  for (const auto& c : children) {
    auto info = stat(c);
    --stat_calls;  // internal
    if (info.ok()) out.push_back(*info);
  }
  return out;
}

common::Result<store::ReadReply> MemoryStore::read(const store::ReadRequest& request, char* buf) {
  ++read_calls;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(request.key);
  if (it == nodes_.end()) return Status(Code::kNotFound, "absent: " + request.key);
  if (it->second.dir) return Status(Code::kIsDir, "directory: " + request.key);
  const std::string& data = it->second.data;
  size_t n = 0;
  if (request.offset < data.size()) {
    n = std::min<size_t>(request.length, data.size() - request.offset);
    std::copy_n(data.data() + request.offset, n, buf);
  }
  return store::ReadReply{n, store::Source::kWorker};
}

Status MemoryStore::write_file(const std::string& key, int fd, uint64_t size) {
  std::string data(size, '\0');
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, data.data() + done, size - done, static_cast<off_t>(done));
    if (n <= 0) return Status(Code::kIo, "read staged data");
    done += static_cast<size_t>(n);
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto parent = nodes_.find(parent_of(key));
  if (parent == nodes_.end()) return Status(Code::kNotFound, "no parent: " + key);
  if (!parent->second.dir) return Status(Code::kNotDir, "parent is a file: " + key);
  auto it = nodes_.find(key);
  if (it != nodes_.end() && it->second.dir) return Status(Code::kIsDir, "directory: " + key);
  nodes_[key] = Node{false, std::move(data), 1700000000000};
  return Status::Ok();
}

Status MemoryStore::mkdir(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (nodes_.count(key) != 0) return Status(Code::kExists, "exists: " + key);
  auto parent = nodes_.find(parent_of(key));
  if (parent == nodes_.end()) return Status(Code::kNotFound, "no parent: " + key);
  if (!parent->second.dir) return Status(Code::kNotDir, "parent is a file: " + key);
  nodes_[key] = Node{true, "", 1700000000000};
  return Status::Ok();
}

Status MemoryStore::remove(const std::string& key, bool directory) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(key);
  if (it == nodes_.end()) return Status(Code::kNotFound, "absent: " + key);
  if (directory && !it->second.dir) return Status(Code::kNotDir, "not a directory: " + key);
  if (!directory && it->second.dir) return Status(Code::kIsDir, "directory: " + key);
  if (directory && has_children_locked(key)) return Status(Code::kNotEmpty, "not empty: " + key);
  nodes_.erase(it);
  return Status::Ok();
}

Status MemoryStore::rename(const std::string& src, const std::string& dst) {
  std::lock_guard<std::mutex> lock(mu_);
  if (nodes_.count(src) == 0) return Status(Code::kNotFound, "absent: " + src);
  if (nodes_.count(dst) != 0) return Status(Code::kExists, "exists: " + dst);
  if (nodes_.count(parent_of(dst)) == 0) return Status(Code::kNotFound, "no parent: " + dst);
  std::map<std::string, Node> moved;
  std::string prefix = src + "/";
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (it->first == src || it->first.compare(0, prefix.size(), prefix) == 0) {
      moved[dst + it->first.substr(src.size())] = it->second;
      it = nodes_.erase(it);
    } else {
      ++it;
    }
  }
  nodes_.insert(moved.begin(), moved.end());
  return Status::Ok();
}

#define AF_FAULT(op, key)                \
  do {                                   \
    Status injected = hook_(op, key);    \
    if (!injected.ok()) return injected; \
  } while (0)

common::Result<store::FileInfo> FaultStore::stat(const std::string& key) {
  AF_FAULT("stat", key);
  return inner_.stat(key);
}
common::Result<std::vector<store::FileInfo>> FaultStore::list(const std::string& key) {
  AF_FAULT("list", key);
  return inner_.list(key);
}
common::Result<store::ReadReply> FaultStore::read(const store::ReadRequest& request, char* buf) {
  AF_FAULT("read", request.key);
  return inner_.read(request, buf);
}
Status FaultStore::write_file(const std::string& key, int fd, uint64_t size) {
  AF_FAULT("write_file", key);
  return inner_.write_file(key, fd, size);
}
Status FaultStore::mkdir(const std::string& key) {
  AF_FAULT("mkdir", key);
  return inner_.mkdir(key);
}
Status FaultStore::remove(const std::string& key, bool directory) {
  AF_FAULT("remove", key);
  return inner_.remove(key, directory);
}
Status FaultStore::rename(const std::string& src, const std::string& dst) {
  AF_FAULT("rename", src);
  return inner_.rename(src, dst);
}

}  // namespace alluxio_fuse::testing
