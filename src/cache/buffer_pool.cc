#include "alluxio_fuse/cache/buffer_pool.h"

namespace alluxio_fuse::cache {

BufferPool::Lease& BufferPool::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    give_back();
    pool_ = o.pool_;
    buf_ = std::move(o.buf_);
    o.pool_ = nullptr;
  }
  return *this;
}

void BufferPool::Lease::give_back() {
  if (pool_ != nullptr && buf_) pool_->put(std::move(buf_));
  buf_.reset();
  pool_ = nullptr;
}

BufferPool::BufferPool(size_t buffer_size, size_t max_idle)
    : buffer_size_(buffer_size), max_idle_(max_idle) {}

BufferPool::Lease BufferPool::take(size_t size) {
  if (size > buffer_size_) return Lease(nullptr, std::unique_ptr<char[]>(new char[size]));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<char[]> buf = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(buf));
    }
  }
  return Lease(this, std::unique_ptr<char[]>(new char[buffer_size_]));
}

size_t BufferPool::idle() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_.size();
}

void BufferPool::put(std::unique_ptr<char[]> buf) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(buf));
}

}  // namespace alluxio_fuse::cache
