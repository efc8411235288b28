#pragma once
// BufferPool: a bounded free list of page-sized buffers. A readahead fetch used to allocate a
// fresh 1 MiB buffer per page; glibc served it from newly mapped memory, so every page paid
// page faults and zeroing of a megabyte (1.3-7.5 % of the daemon's CPU in cold reads through
// workers; bench/results/2026-12-03-issue3-profile/before). A lease hands out an idle buffer when
// there is one; returning it keeps at most `max_idle` buffers, so the pool's idle memory is
// bounded by max_idle × buffer_size and buffers in use stay bounded by the fetch pool's slots.
//
// Thread-safety: take() and lease destruction are safe from any thread. The pool must outlive
// its leases.

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace alluxio_fuse::cache {

class BufferPool {
 public:
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept = default;
    Lease& operator=(Lease&& o) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { give_back(); }
    char* data() const { return buf_.get(); }

   private:
    friend class BufferPool;
    Lease(BufferPool* pool, std::unique_ptr<char[]> buf) : pool_(pool), buf_(std::move(buf)) {}
    void give_back();
    BufferPool* pool_ = nullptr;
    std::unique_ptr<char[]> buf_;
  };

  BufferPool(size_t buffer_size, size_t max_idle);
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A buffer of at least `size` bytes. Larger than buffer_size: a one-off allocation that is
  // freed, not pooled, when the lease ends.
  Lease take(size_t size);
  size_t idle() const;

 private:
  void put(std::unique_ptr<char[]> buf);

  const size_t buffer_size_;
  const size_t max_idle_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<char[]>> idle_;  // GUARDED_BY(mu_)
};

}  // namespace alluxio_fuse::cache
