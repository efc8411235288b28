// FUSE over io_uring beside libfuse 3.14 (see uring.h for the design): preparing the queues,
// the INIT handshake between libfuse and the kernel, and stopping. uring_serve.cc serves them.
#define FUSE_USE_VERSION 314
#include "uring.h"

#include <linux/fuse.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "alluxio_fuse/common/errno_text.h"
#include "alluxio_fuse/common/handoff_pool.h"
#include "uring_impl.h"

namespace alluxio_fuse::fuse {

using uring_detail::Entry;
using uring_detail::kFlag2OverIoUring;
using uring_detail::kHeadroom;
using uring_detail::Queue;
using uring_detail::RingHeader;

namespace {

// The kernel keeps one queue per possible CPU and waits for all of them before using the
// rings, so count exactly as it does. 0 when the list is not one contiguous range from 0.
unsigned possible_cpus() {
  std::ifstream f("/sys/devices/system/cpu/possible");
  std::string s;
  if (!(f >> s)) return 0;
  unsigned first = 0;
  unsigned last = 0;
  char dash = 0;
  std::istringstream in(s);
  if (!(in >> first)) return 0;
  last = first;
  if (in >> dash) {
    if (dash != '-' || !(in >> last)) return 0;
  }
  if (first != 0 || !in.eof()) return 0;
  return last + 1;
}

size_t page_size() {
  long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? static_cast<size_t>(p) : 4096;
}

}  // namespace

UringTransport::Impl::~Impl() {
  if (stop_fd >= 0) ::close(stop_fd);
  for (auto& q : queues) {
    if (q->ring_ok) io_uring_queue_exit(&q->ring);
    if (q->wake_fd >= 0) ::close(q->wake_fd);
    for (auto& e : q->entries) {
      if (e->region != nullptr) ::munmap(e->region, e->region_bytes);
    }
  }
}

void UringTransport::Impl::abandon() {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (phase == Phase::kWaiting) phase = Phase::kStop;
  }
  cv.notify_all();
  stop_rescuer();
  if (pool != nullptr) pool->stop();
}

ssize_t UringTransport::Impl::write_init_reply(int wfd, struct iovec* iov, int count) {
  const auto* out = static_cast<const struct fuse_out_header*>(iov[0].iov_base);
  const size_t flags2_end = offsetof(struct fuse_init_out, flags2) + sizeof(uint32_t);
  if (!offered.load()) {
    spdlog::warn(
        "mount.io_uring: the kernel did not offer FUSE over io_uring (Linux >= 6.14 with "
        "/sys/module/fuse/parameters/enable_uring = Y); serving through /dev/fuse");
    abandon();
    return ::writev(wfd, iov, count);
  }
  if (out->error != 0 || count != 2 || iov[1].iov_len < flags2_end) {
    spdlog::warn("mount.io_uring: unexpected INIT reply; serving through /dev/fuse");
    abandon();
    return ::writev(wfd, iov, count);
  }
  struct fuse_init_out init {};
  std::memcpy(&init, iov[1].iov_base, std::min(iov[1].iov_len, sizeof(init)));
  const size_t pages = (init.flags & FUSE_MAX_PAGES) != 0 ? init.max_pages : 32;
  const size_t need = std::max<size_t>({8192, init.max_write, pages * page_size()});
  if (need > cap) {
    spdlog::warn(
        "mount.io_uring: requests of {} bytes exceed the ring buffers ({}); serving "
        "through /dev/fuse",
        need, cap);
    abandon();
    return ::writev(wfd, iov, count);
  }
  init.flags |= FUSE_INIT_EXT;
  init.flags2 |= kFlag2OverIoUring;
  struct iovec v[2] = {iov[0], {&init, iov[1].iov_len}};
  ssize_t n = ::writev(wfd, v, 2);
  if (n < 0) {
    abandon();
    return n;
  }
  active.store(true);
  {
    std::lock_guard<std::mutex> lock(mu);
    if (phase == Phase::kWaiting) phase = Phase::kGo;
  }
  cv.notify_all();
  spdlog::info("FUSE over io_uring: {} queues (one per CPU) x {} entries, {} KiB per entry",
               queues.size(), options.depth, cap / 1024);
  return n;
}

UringTransport::UringTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

UringTransport::~UringTransport() { stop(); }

std::unique_ptr<UringTransport> UringTransport::prepare(struct fuse_session* se, int fuse_fd,
                                                        const Options& options) {
  const unsigned cpus = possible_cpus();
  if (cpus == 0) {
    spdlog::warn("mount.io_uring: cannot read the possible CPUs; serving through /dev/fuse");
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  impl->se = se;
  impl->fd = fuse_fd;
  impl->options = options;
  const size_t page = page_size();
  impl->cap = (std::max<size_t>(options.max_payload, 8192) + page - 1) / page * page;
  impl->stop_fd = eventfd(0, EFD_CLOEXEC);
  if (impl->stop_fd < 0) {
    spdlog::warn("mount.io_uring: eventfd: {}; serving through /dev/fuse",
                 common::errno_text(errno));
    return nullptr;
  }
  const unsigned depth = std::max(1U, options.depth);
  for (unsigned qid = 0; qid < cpus; ++qid) {
    auto q = std::make_unique<Queue>();
    q->qid = qid;
    q->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (q->wake_fd < 0) {
      spdlog::warn("mount.io_uring: eventfd: {}; serving through /dev/fuse",
                   common::errno_text(errno));
      return nullptr;
    }
    for (unsigned i = 0; i < depth; ++i) {
      auto e = std::make_unique<Entry>();
      e->queue = q.get();
      e->cap = impl->cap;
      e->region_bytes = kHeadroom + impl->cap;
      void* mem = ::mmap(nullptr, e->region_bytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (mem == MAP_FAILED) {
        spdlog::warn("mount.io_uring: mmap: {}; serving through /dev/fuse",
                     common::errno_text(errno));
        impl->queues.push_back(std::move(q));
        return nullptr;
      }
      e->region = static_cast<char*>(mem);
      e->header = reinterpret_cast<RingHeader*>(e->region);
      e->payload = e->region + kHeadroom;
      e->iov[0] = {e->header, sizeof(RingHeader)};
      e->iov[1] = {e->payload, impl->cap};
      q->entries.push_back(std::move(e));
    }
    impl->queues.push_back(std::move(q));
  }
  Impl* raw = impl.get();
  for (auto& q : impl->queues) {
    Queue* qp = q.get();
    q->thread = std::thread([raw, qp] { raw->run(qp); });
  }
  // A large request may wait on a fetch; every entry may hold one.
  const unsigned pool_threads = std::max(1U, std::min(options.max_pool, cpus * depth));
  raw->owner_limit = pool_threads / 2;
  impl->pool = std::make_unique<common::HandoffPool>(
      pool_threads, "af-ring-io", [raw](void* job) { raw->run_job(static_cast<Entry*>(job)); },
      [] { Impl::start_pool_thread(); });
  raw->rescuer = std::thread([raw] { raw->run_rescuer(); });
  auto transport = std::unique_ptr<UringTransport>(new UringTransport(std::move(impl)));
  {
    std::unique_lock<std::mutex> lock(raw->mu);
    raw->cv.wait(lock, [&] { return raw->started == raw->queues.size(); });
    if (raw->failed == 0) return transport;
  }
  return nullptr;  // the destructor ends the threads
}

ssize_t UringTransport::read(int fd, void* buf, size_t len) {
  ssize_t n = ::read(fd, buf, len);
  if (n >= static_cast<ssize_t>(sizeof(struct fuse_in_header)) && !impl_->init_seen.load()) {
    const auto* in = static_cast<const struct fuse_in_header*>(buf);
    if (in->opcode == FUSE_INIT) {
      bool offered = false;
      if (static_cast<size_t>(n) >= sizeof(*in) + sizeof(struct fuse_init_in)) {
        const auto* init = reinterpret_cast<const struct fuse_init_in*>(in + 1);
        offered = (init->flags & FUSE_INIT_EXT) != 0 && (init->flags2 & kFlag2OverIoUring) != 0;
      }
      impl_->offered.store(offered);
      impl_->init_unique.store(in->unique);
      impl_->init_seen.store(true);
    }
  }
  return n;
}

ssize_t UringTransport::writev(int fd, struct iovec* iov, int count) {
  const auto* out = static_cast<const struct fuse_out_header*>(iov[0].iov_base);
  const uint64_t unique = out->unique;
  if (impl_->active.load(std::memory_order_acquire) && unique != 0 &&
      !impl_->stopping.load(std::memory_order_relaxed)) {
    Entry* e = Impl::current_entry();
    if (e == nullptr || e->serving.load(std::memory_order_acquire) != unique) {
      e = impl_->find_serving(unique);
    }
    if (e != nullptr) return impl_->commit(e, iov, count);
  } else if (!impl_->active.load() && impl_->init_seen.load() && unique != 0 &&
             unique == impl_->init_unique.load()) {
    return impl_->write_init_reply(fd, iov, count);
  }
  return ::writev(fd, iov, count);
}

bool UringTransport::active() const { return impl_->active.load(); }

void UringTransport::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->phase = Impl::Phase::kStop;
  }
  impl_->cv.notify_all();
  impl_->stopping.store(true);
  if (impl_->stop_fd >= 0) {
    const uint64_t one = 1;
    (void)!::write(impl_->stop_fd, &one, sizeof(one));
  }
  for (auto& q : impl_->queues) {
    const uint64_t one = 1;
    if (q->wake_fd >= 0) (void)!::write(q->wake_fd, &one, sizeof(one));
  }
  for (auto& q : impl_->queues) {
    if (q->thread.joinable()) q->thread.join();
  }
  impl_->stop_rescuer();
  if (impl_->pool != nullptr) impl_->pool->stop();
}

char* UringTransport::reply_buffer(size_t len) {
  Entry* e = Impl::current_entry();
  return e != nullptr && len <= e->cap ? e->payload : nullptr;
}

bool UringTransport::on_ring_thread() { return Impl::on_ring_thread(); }

}  // namespace alluxio_fuse::fuse
