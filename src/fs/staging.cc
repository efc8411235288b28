// Staging area. Names are "<pid>-<seq>.stage" plus "<pid>-<seq>.stage.key" (the key, for a
// human recovering data); copies in failed/ are "<unix seconds>-<seq>-<last name component>"
// with the same sidecar. Capacity counts logical sizes (a sparse staged file counts in full),
// which errs on the side of ENOSPC before the disk is really full.
#include "alluxio_fuse/fs/staging.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <system_error>
#include <vector>

#include "alluxio_fuse/common/errno_text.h"

namespace alluxio_fuse::fs {

using common::Code;
using common::Result;
using common::Status;

namespace {

Status os_error(int err, const std::string& what) {
  Code code = (err == ENOSPC || err == EDQUOT) ? Code::kNoSpace
              : err == EFBIG                   ? Code::kTooLarge
                                               : Code::kIo;
  return Status(code, what + ": " + common::errno_text(err));
}

void write_sidecar(const std::string& path, const std::string& key) {
  int fd = ::open((path + ".key").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;  // best effort: the sidecar only helps a human
  ssize_t n = ::write(fd, key.data(), key.size());
  (void)n;
  ::close(fd);
}

std::string safe_name(const std::string& key) {
  std::string name = key.substr(key.rfind('/') + 1);
  for (char& c : name) {
    if (c == '/' || c == '\0') c = '_';
  }
  if (name.size() > 120) name.resize(120);
  return name;
}

// Copies `size` bytes of `in` (from offset 0) into `out`.
Status copy_fd(int in, int out, uint64_t size) {
  off_t off = 0;
  while (static_cast<uint64_t>(off) < size) {
    ssize_t n = ::sendfile(
        out, in, &off,
        static_cast<size_t>(std::min<uint64_t>(size - static_cast<uint64_t>(off), 1 << 30)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error(errno, "copy staged data");
    if (n == 0) break;  // the staged file is shorter than recorded: keep what there is
  }
  return Status::Ok();
}

}  // namespace

StagingArea::StagingArea(StagingOptions options) : options_(std::move(options)) {}

Status StagingArea::open() {
  if (options_.dir.empty()) return Status(Code::kInvalid, "write.staging_dir is not set");
  std::error_code ec;
  std::filesystem::create_directories(failed_dir(), ec);
  if (ec) {
    return Status(Code::kIo,
                  "cannot create staging directory " + options_.dir + ": " + ec.message());
  }
  // Leftovers of a previous run were never committed (or their commit's outcome is unknown):
  // keep them for a human, never commit them behind the user's back.
  std::vector<std::string> leftovers;
  for (const auto& entry : std::filesystem::directory_iterator(options_.dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() > 6 && name.compare(name.size() - 6, 6, ".stage") == 0) {
      leftovers.push_back(entry.path().string());
    }
  }
  for (const auto& path : leftovers) {
    if (!options_.keep_failed) {
      spdlog::warn("staging: deleting uncommitted copy {} left by a previous run", path);
      remove(path);
      continue;
    }
    std::string dest = failed_dir() + "/recovered-" + path.substr(path.rfind('/') + 1);
    if (::rename(path.c_str(), dest.c_str()) == 0) {
      ::rename((path + ".key").c_str(), (dest + ".key").c_str());
      spdlog::warn("staging: uncommitted copy left by a previous run kept at {}", dest);
    } else {
      spdlog::warn("staging: cannot move {} to failed/: {}", path, common::errno_text(errno));
    }
  }
  // Account the failed/ copies, oldest first, so the capacity covers them.
  std::vector<std::pair<std::filesystem::file_time_type, Kept>> kept;
  for (const auto& entry : std::filesystem::directory_iterator(failed_dir(), ec)) {
    std::string name = entry.path().filename().string();
    if (entry.is_regular_file(ec) && name.size() > 5 &&
        name.compare(name.size() - 5, 5, ".part") == 0) {
      ::unlink(entry.path().c_str());  // a copy cut short by a crash; its source is kept
      continue;
    }
    if (!entry.is_regular_file(ec) ||
        (name.size() > 4 && name.compare(name.size() - 4, 4, ".key") == 0)) {
      continue;
    }
    uint64_t bytes = entry.file_size(ec);
    kept.push_back({entry.last_write_time(ec), Kept{entry.path().string(), ec ? 0 : bytes}});
  }
  std::sort(kept.begin(), kept.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& k : kept) {
    used_ += k.second.bytes;
    failed_bytes_ += k.second.bytes;
    failed_.push_back(std::move(k.second));
  }
  opened_ = true;
  return Status::Ok();
}

Result<int> StagingArea::create(const std::string& key, std::string* path) {
  if (!opened_) return Status(Code::kIo, "the write staging directory is unusable");
  uint64_t seq;
  {
    std::lock_guard<std::mutex> lock(mu_);
    seq = ++seq_;
  }
  *path = options_.dir + "/" + std::to_string(::getpid()) + "-" + std::to_string(seq) + ".stage";
  int fd = ::open(path->c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return os_error(errno, "create staged copy of " + key);
  write_sidecar(*path, key);
  return fd;
}

void StagingArea::remove(const std::string& path) {
  ::unlink(path.c_str());
  ::unlink((path + ".key").c_str());
}

Status StagingArea::reserve(uint64_t bytes) {
  if (bytes == 0) return Status::Ok();
  std::vector<std::string> victims;
  Status result = Status::Ok();
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (used_ + bytes > options_.capacity && !failed_.empty()) {
      Kept oldest = failed_.front();
      forget_kept_locked(oldest.path, &victims);
    }
    if (used_ + bytes > options_.capacity) {
      result = Status(Code::kNoSpace, "write staging area is full (write.staging_capacity " +
                                          std::to_string(options_.capacity) + " bytes)");
    } else {
      used_ += bytes;
    }
  }
  for (const auto& path : victims) {
    spdlog::warn("staging: deleting failed copy {} to make room (staging area full)", path);
    remove(path);
  }
  return result;
}

void StagingArea::unreserve(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  used_ -= std::min(used_, bytes);
}

void StagingArea::forget_kept_locked(const std::string& path, std::vector<std::string>* victims) {
  for (auto it = failed_.begin(); it != failed_.end(); ++it) {
    if (it->path != path) continue;
    used_ -= std::min(used_, it->bytes);
    failed_bytes_ -= std::min(failed_bytes_, it->bytes);
    if (victims != nullptr) victims->push_back(it->path);
    failed_.erase(it);
    return;
  }
}

Status StagingArea::keep_failed(const std::string& key, int fd, uint64_t size,
                                const std::string& move_path, std::string* kept) {
  if (!options_.keep_failed) return Status::Ok();
  // A later failure of the same file replaces its earlier copy under the same name (rename
  // over it), so failed/ never holds two copies of one file, not even for a moment.
  const bool replace = !kept->empty();
  std::string dest = *kept;
  if (!replace) {
    uint64_t seq;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seq = ++seq_;
    }
    auto now = std::chrono::system_clock::now().time_since_epoch();
    dest = failed_dir() + "/" +
           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count()) + "-" +
           std::to_string(seq) + "-" + safe_name(key);
  }
  if (!move_path.empty()) {
    // The caller's reservation for the staged file becomes the failed copy's.
    if (::rename(move_path.c_str(), dest.c_str()) != 0) {
      return os_error(errno, "move staged copy of " + key + " to failed/");
    }
    ::unlink((move_path + ".key").c_str());
  } else {
    Status room = reserve(size);
    if (!room.ok()) return room;
    const std::string part = dest + ".part";
    int out = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
      unreserve(size);
      return os_error(errno, "keep failed copy of " + key);
    }
    Status copied = copy_fd(fd, out, size);
    ::close(out);
    if (copied.ok() && ::rename(part.c_str(), dest.c_str()) != 0) {
      copied = os_error(errno, "keep failed copy of " + key);
    }
    if (!copied.ok()) {
      ::unlink(part.c_str());
      unreserve(size);
      return copied;
    }
  }
  write_sidecar(dest, key);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (replace) forget_kept_locked(dest, nullptr);  // its file was just replaced
    failed_.push_back(Kept{dest, size});
    failed_bytes_ += size;
  }
  *kept = dest;
  return Status::Ok();
}

void StagingArea::discard_kept(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    forget_kept_locked(path, nullptr);
  }
  remove(path);
}

uint64_t StagingArea::used() const {
  std::lock_guard<std::mutex> lock(mu_);
  return used_;
}

uint64_t StagingArea::failed_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_bytes_;
}

}  // namespace alluxio_fuse::fs
