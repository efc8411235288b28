// FUSE over io_uring: serving the rings (see uring.h for the design, uring_impl.h for the
// state): the queue threads, the pool and the rings its threads own, the rescuer, commits.
#define FUSE_USE_VERSION 314
#include <fuse3/fuse_lowlevel.h>
#include <liburing.h>
#include <linux/fuse.h>
#include <poll.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "alluxio_fuse/common/errno_text.h"
#include "alluxio_fuse/common/handoff_pool.h"
#include "alluxio_fuse/common/thread_name.h"
#include "uring_impl.h"

namespace alluxio_fuse::fuse {

using uring_detail::Entry;
using uring_detail::kCmdCommitAndFetch;
using uring_detail::kCmdRegister;
using uring_detail::kOffloadBytes;
using uring_detail::kOpInBytes;
using uring_detail::kRescueAfterNs;
using uring_detail::kStopTag;
using uring_detail::kWakeTag;
using uring_detail::OwnRing;
using uring_detail::Queue;
using uring_detail::RingCmdReq;

namespace {

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

thread_local Entry* tls_entry = nullptr;    // the request this queue thread is serving
thread_local Queue* tls_queue = nullptr;    // set on queue threads only
thread_local bool tls_ring_thread = false;  // a queue or pool thread (named af-ring-*)
thread_local bool tls_pool_thread = false;  // a pool thread (af-ring-io)
thread_local std::unique_ptr<OwnRing> tls_own;

}  // namespace

void UringTransport::Impl::fatal(Queue* q, const std::string& what) {
  if (stopping.load() || fatal_reported.exchange(true)) return;
  const std::string why = "io_uring queue " + std::to_string(q->qid) + ": " + what;
  spdlog::error("{}; requests of CPU {} cannot be answered", why, q->qid);
  if (options.on_fatal) options.on_fatal(why);
}

unsigned UringTransport::Impl::flush_locked(Queue* q) { return flush(&q->ring); }

unsigned UringTransport::Impl::flush(struct io_uring* ring) {
  struct io_uring_sq* sq = &ring->sq;
  const unsigned tail = sq->sqe_tail;
  if (sq->sqe_head != tail) {
    sq->sqe_head = tail;
    __atomic_store_n(sq->ktail, tail, __ATOMIC_RELEASE);
  }
  return tail - __atomic_load_n(sq->khead, __ATOMIC_ACQUIRE);
}

int UringTransport::Impl::enter(Queue* q, unsigned to_submit, unsigned min_complete,
                                unsigned flags) {
  return enter(&q->ring, to_submit, min_complete, flags);
}

int UringTransport::Impl::enter(struct io_uring* ring, unsigned to_submit, unsigned min_complete,
                                unsigned flags) {
  long rc =
      ::syscall(__NR_io_uring_enter, ring->ring_fd, to_submit, min_complete, flags, nullptr, 0);
  return rc < 0 ? -errno : static_cast<int>(rc);
}

bool UringTransport::Impl::submit_locked(Queue* q) {
  const unsigned pending = flush_locked(q);
  return pending == 0 || enter(q, pending, 0, 0) >= 0;
}

struct io_uring_sqe* UringTransport::Impl::next_sqe(Queue* q) {
  struct io_uring_sqe* sqe = io_uring_get_sqe(&q->ring);
  if (sqe == nullptr) {
    submit_locked(q);
    sqe = io_uring_get_sqe(&q->ring);
  }
  return sqe;
}

void UringTransport::Impl::queue_cmd(Queue* q, Entry* e, uint32_t cmd) {
  struct io_uring_sqe* sqe = next_sqe(q);
  if (sqe == nullptr) {
    fatal(q, "no submission slot; a request is left unanswered");
    return;
  }
  fill_cmd(sqe, q, e, cmd);
}

void UringTransport::Impl::fill_cmd(struct io_uring_sqe* sqe, Queue* q, Entry* e, uint32_t cmd) {
  std::memset(static_cast<void*>(sqe), 0, 2 * sizeof(struct io_uring_sqe));  // SQE128
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = fd;
  sqe->cmd_op = cmd;
  io_uring_sqe_set_data64(sqe, reinterpret_cast<uint64_t>(e));
  RingCmdReq req{};
  req.qid = static_cast<uint16_t>(q->qid);
  if (cmd == kCmdRegister) {
    sqe->addr = reinterpret_cast<uint64_t>(e->iov);
    sqe->len = 2;
  } else {
    req.commit_id = e->commit_id;
  }
  std::memcpy(reinterpret_cast<char*>(sqe) + offsetof(struct io_uring_sqe, cmd), &req, sizeof(req));
  e->last_cmd = cmd;
}

void UringTransport::Impl::arm_wake(Queue* q) {
  struct io_uring_sqe* sqe = next_sqe(q);
  if (sqe == nullptr) return;
  io_uring_prep_poll_add(sqe, q->wake_fd, POLLIN);
  io_uring_sqe_set_data64(sqe, kWakeTag);
}

void UringTransport::Impl::serve(Queue* q, Entry* e, bool inline_ok) {
  if (!lay_out(q, e)) return;
  if (!inline_ok || e->large) {
    pool->submit(e);
    return;
  }
  // Busy from here: commits pool threads queue meanwhile are theirs to submit (commit()),
  // and what was queued before goes now, so nothing waits for this request to end.
  q->busy_since.store(steady_ns());
  {
    std::lock_guard<std::mutex> lock(q->sq_mu);
    submit_locked(q);
  }
  process(e);
  q->busy_since.store(0);
}

bool UringTransport::Impl::lay_out(Queue* q, Entry* e) {
  const auto* in = reinterpret_cast<const struct fuse_in_header*>(e->header->in_out);
  const size_t payload = e->header->ent.payload_sz;
  const size_t hdr = sizeof(struct fuse_in_header);
  e->commit_id = e->header->ent.commit_id;
  if (in->len < hdr + payload || in->len - hdr - payload > kOpInBytes || payload > e->cap) {
    spdlog::error("io_uring queue {}: malformed request (opcode {}, len {}, payload {})", q->qid,
                  in->opcode, in->len, payload);
    struct fuse_out_header out {};
    out.len = sizeof(out);
    out.error = -EIO;
    out.unique = in->unique;
    struct iovec reply = {&out, sizeof(out)};
    e->large = false;
    commit(e, &reply, 1);
    return false;
  }
  const size_t op_len = in->len - hdr - payload;
  char* start = e->payload - hdr - op_len;
  std::memcpy(start, in, hdr);
  if (op_len != 0) std::memcpy(start + hdr, e->header->op_in, op_len);
  e->large = is_large(*in, start + hdr);
  e->serving.store(in->unique, std::memory_order_release);
  e->request = start;
  return true;
}

bool UringTransport::Impl::is_large(const struct fuse_in_header& in, const char* op) {
  if (in.opcode == FUSE_READ && in.len >= sizeof(in) + sizeof(struct fuse_read_in)) {
    struct fuse_read_in r {};
    std::memcpy(&r, op, sizeof(r));
    return r.size >= kOffloadBytes;
  }
  return in.opcode == FUSE_WRITE && in.len >= sizeof(in) + kOffloadBytes;
}

void UringTransport::Impl::run_job(Entry* e) {
  process(e);
  while (tls_own != nullptr && tls_own->entry != nullptr) {
    struct io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(&tls_own->ring, &cqe) != 0) {
      const int rc = enter(&tls_own->ring, 0, 1, IORING_ENTER_GETEVENTS);
      if (rc >= 0 || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY) continue;
      fatal(tls_own->entry->queue, std::string("io_uring wait failed: ") + common::errno_text(-rc));
      release_own();
      return;
    }
    const uint64_t tag = io_uring_cqe_get_data64(cqe);
    const int res = cqe->res;
    io_uring_cqe_seen(&tls_own->ring, cqe);
    if (tag == kStopTag) {
      release_own();  // the entry's command ends with the ring, at this thread's exit
      return;
    }
    // Not a kernel pointer: the Entry* fill_cmd put in user_data, handed back as it was.
    Entry* next = reinterpret_cast<Entry*>(tag);  // NOLINT(performance-no-int-to-ptr)
    if (res == -EINTR || res == -EAGAIN) {
      submit_own(next);
      continue;
    }
    if (res < 0) {  // -ENOTCONN: the connection ended (unmount)
      if (res != -ENOTCONN) {
        spdlog::error("io_uring queue {}: commit failed: {}", next->queue->qid,
                      common::errno_text(-res));
      }
      release_own();
      return;
    }
    if (lay_out(next->queue, next)) process(next);
  }
}

void UringTransport::Impl::release_own() {
  if (tls_own == nullptr || tls_own->entry == nullptr) return;
  tls_own->entry = nullptr;
  owners.fetch_sub(1);
}

bool UringTransport::Impl::take_ownership(Entry* e) {
  if (!tls_pool_thread || !e->large || stopping.load()) return false;
  if (tls_own != nullptr && tls_own->entry != nullptr) return tls_own->entry == e;
  unsigned n = owners.load();
  do {
    if (n >= owner_limit) return false;
  } while (!owners.compare_exchange_weak(n, n + 1));
  if (tls_own == nullptr) tls_own = make_own_ring();
  if (!tls_own->ok) {
    owners.fetch_sub(1);
    return false;
  }
  tls_own->entry = e;
  return true;
}

std::unique_ptr<OwnRing> UringTransport::Impl::make_own_ring() {
  auto own = std::make_unique<OwnRing>();
  struct io_uring_params params {};
  params.flags = IORING_SETUP_SQE128;
  const int rc = io_uring_queue_init_params(4, &own->ring, &params);
  if (rc < 0) {
    spdlog::warn("mount.io_uring: io_uring_setup for a pool thread: {}", common::errno_text(-rc));
    return own;
  }
  own->ok = true;
  struct io_uring_sqe* sqe = io_uring_get_sqe(&own->ring);  // submitted with the first commit
  std::memset(static_cast<void*>(sqe), 0, 2 * sizeof(struct io_uring_sqe));  // SQE128
  io_uring_prep_poll_add(sqe, stop_fd, POLLIN);
  io_uring_sqe_set_data64(sqe, kStopTag);
  return own;
}

void UringTransport::Impl::submit_own(Entry* e) {
  struct io_uring_sqe* sqe = io_uring_get_sqe(&tls_own->ring);
  if (sqe == nullptr) {
    fatal(e->queue, "no submission slot on a pool thread's ring; a request is left unanswered");
    return;
  }
  fill_cmd(sqe, e->queue, e, kCmdCommitAndFetch);
  const int rc = enter(&tls_own->ring, flush(&tls_own->ring), 0, 0);
  if (rc < 0) fatal(e->queue, std::string("io_uring_enter failed: ") + common::errno_text(-rc));
}

void UringTransport::Impl::process(Entry* e) {
  struct fuse_buf buf {};
  buf.mem = e->request;
  buf.size = reinterpret_cast<const struct fuse_in_header*>(e->request)->len;
  tls_entry = e;
  fuse_session_process_buf(se, &buf);
  tls_entry = nullptr;
}

void UringTransport::Impl::run(Queue* q) {
  common::name_this_thread("af-ring-" + std::to_string(q->qid));
  tls_ring_thread = true;
  // Pinned to its CPU, where the kernel queues the requests of that CPU's processes: a
  // small request is then served without waking another CPU (unpinned, 4 readers on two
  // CPUs measured 0.49 of bindfs instead of 1.2).
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(q->qid, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) {
    spdlog::debug("io_uring queue {}: cannot pin to its CPU: {}", q->qid,
                  common::errno_text(errno));
  }
  const unsigned depth = static_cast<unsigned>(q->entries.size());
  struct io_uring_params params {};
  params.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQSIZE;
  params.cq_entries = 2 * (depth + 2);
  int rc = io_uring_queue_init_params(depth + 2, &q->ring, &params);
  {
    std::unique_lock<std::mutex> lock(mu);
    if (rc < 0) {
      ++failed;
      spdlog::warn("mount.io_uring: io_uring_setup: {}; serving through /dev/fuse",
                   common::errno_text(-rc));
    } else {
      q->ring_ok = true;
    }
    ++started;
    cv.notify_all();
    if (rc < 0) return;
    cv.wait(lock, [&] { return phase != Phase::kWaiting; });
    if (phase == Phase::kStop) {  // never used: give the ring back now
      io_uring_queue_exit(&q->ring);
      q->ring_ok = false;
      return;
    }
  }
  tls_queue = q;
  {
    std::lock_guard<std::mutex> lock(q->sq_mu);
    for (auto& e : q->entries) queue_cmd(q, e.get(), kCmdRegister);
    arm_wake(q);
  }
  q->live = depth;
  for (;;) {
    // One system call: submit this thread's commits, wait for the next request.
    unsigned to_submit = 0;
    {
      std::lock_guard<std::mutex> lock(q->sq_mu);
      to_submit = flush_locked(q);
    }
    int got = enter(q, to_submit, 1, IORING_ENTER_GETEVENTS);
    if (got < 0 && got != -EINTR && got != -EAGAIN && got != -EBUSY) {
      fatal(q, std::string("io_uring_enter failed: ") + common::errno_text(-got));
      return;
    }
    // One completion at a time, so that while this thread serves a request the rest stay
    // in the ring for the rescuer.
    for (;;) {
      Entry* e = nullptr;
      bool stop = false;
      {
        std::lock_guard<std::mutex> lock(q->cq_mu);
        if (!reap(q, /*rescuer=*/false, &e, &stop)) break;
      }
      if (stop) return;
      if (e != nullptr) serve(q, e, /*inline_ok=*/true);
    }
  }
}

bool UringTransport::Impl::reap(Queue* q, bool rescuer, Entry** e, bool* stop) {
  struct io_uring_cqe* cqe = nullptr;
  if (io_uring_peek_cqe(&q->ring, &cqe) != 0) return false;
  const uint64_t tag = io_uring_cqe_get_data64(cqe);
  const int res = cqe->res;
  io_uring_cqe_seen(&q->ring, cqe);
  *e = complete(q, tag, res, rescuer, stop);
  return true;
}

Entry* UringTransport::Impl::complete(Queue* q, uint64_t tag, int res, bool rescuer, bool* stop) {
  if (tag == kWakeTag) {
    uint64_t count = 0;
    (void)!::read(q->wake_fd, &count, sizeof(count));
    q->wake_pending.store(false);  // before the queue thread's next flush
    if (stopping.load()) {
      if (!rescuer) {
        *stop = true;
        return nullptr;
      }
      const uint64_t one = 1;  // the queue thread's to see
      (void)!::write(q->wake_fd, &one, sizeof(one));
    }
    std::lock_guard<std::mutex> lock(q->sq_mu);
    arm_wake(q);
    return nullptr;
  }
  // Not a kernel pointer: the Entry* fill_cmd put in user_data, handed back as it was.
  auto* e = reinterpret_cast<Entry*>(tag);  // NOLINT(performance-no-int-to-ptr)
  if (res == -EINTR || res == -EAGAIN) {
    std::lock_guard<std::mutex> lock(q->sq_mu);
    queue_cmd(q, e, e->last_cmd);
    return nullptr;
  }
  if (res < 0) {  // -ENOTCONN: the connection ended (unmount)
    const char* cmd = e->last_cmd == kCmdRegister ? "register" : "commit";
    if (res != -ENOTCONN && !q->failed_logged) {
      q->failed_logged = true;
      spdlog::error("io_uring queue {}: {} failed: {}", q->qid, cmd, common::errno_text(-res));
    }
    // The entry is out of the ring for good. With none left, this CPU's requests wait.
    if (q->live > 0 && --q->live == 0 && res != -ENOTCONN) {
      fatal(q, std::string("the kernel refused every entry (last: ") + cmd + ": " +
                   common::errno_text(-res) + ")");
    }
    return nullptr;
  }
  return e;
}

void UringTransport::Impl::run_rescuer() {
  common::name_this_thread("af-ring-rescue");
  std::unique_lock<std::mutex> lock(rescue_mu);
  while (!rescue_cv.wait_for(lock, std::chrono::nanoseconds(kRescueAfterNs),
                             [&] { return rescue_stop; })) {
    lock.unlock();
    const int64_t now = steady_ns();
    for (auto& q : queues) {
      const int64_t since = q->busy_since.load();
      if (since != 0 && now - since >= kRescueAfterNs) rescue(q.get());
    }
    lock.lock();
  }
}

void UringTransport::Impl::rescue(Queue* q) {
  if (stopping.load()) return;  // busy_since != 0: the ring is set up
  std::unique_lock<std::mutex> lock(q->cq_mu, std::try_to_lock);
  if (!lock.owns_lock()) return;
  Entry* e = nullptr;
  bool stop = false;  // for the queue thread only; reap() leaves it to it
  while (q->busy_since.load() != 0 && reap(q, /*rescuer=*/true, &e, &stop)) {
    if (e != nullptr) serve(q, e, /*inline_ok=*/false);
  }
}

void UringTransport::Impl::stop_rescuer() {
  {
    std::lock_guard<std::mutex> lock(rescue_mu);
    rescue_stop = true;
  }
  rescue_cv.notify_all();
  if (rescuer.joinable()) rescuer.join();
}

ssize_t UringTransport::Impl::commit(Entry* e, const struct iovec* iov, int count) {
  const auto* out = static_cast<const struct fuse_out_header*>(iov[0].iov_base);
  size_t total = iov[0].iov_len;
  size_t len = 0;
  int32_t error = out->error;
  for (int i = 1; i < count; ++i) {
    total += iov[i].iov_len;
    if (error != 0) continue;
    if (len + iov[i].iov_len > e->cap) {
      spdlog::error("io_uring: reply of {}+ bytes exceeds the {}-byte buffer", len + iov[i].iov_len,
                    e->cap);
      error = -EIO;
      len = 0;
      continue;
    }
    if (iov[i].iov_base != e->payload + len) {
      std::memmove(e->payload + len, iov[i].iov_base, iov[i].iov_len);
    }
    len += iov[i].iov_len;
  }
  const uint64_t unique = out->unique;
  auto* ring_out = reinterpret_cast<struct fuse_out_header*>(e->header->in_out);
  ring_out->len = static_cast<uint32_t>(sizeof(struct fuse_out_header) + len);
  ring_out->error = error;
  ring_out->unique = unique;
  e->header->ent.payload_sz = static_cast<uint32_t>(len);
  e->serving.store(0, std::memory_order_release);
  Queue* q = e->queue;
  if (take_ownership(e)) {
    submit_own(e);
    return static_cast<ssize_t>(total);
  }
  // A small request on the entry this thread owns: the entry goes back to its queue thread.
  if (tls_own != nullptr && tls_own->entry == e) release_own();
  {
    std::lock_guard<std::mutex> lock(q->sq_mu);
    queue_cmd(q, e, kCmdCommitAndFetch);
  }
  // The queue thread submits it with its next wait (see Queue::sq_mu); a pool thread wakes
  // it unless a wake-up is already on its way, or submits itself while the queue thread is
  // busy with a request of its own (it flushed when it started; see serve()).
  if (tls_queue != q) {
    bool submitted = false;
    if (q->busy_since.load() != 0) {
      std::lock_guard<std::mutex> lock(q->sq_mu);
      submitted = submit_locked(q);
    }
    if (!submitted && !q->wake_pending.exchange(true)) {
      const uint64_t one = 1;
      (void)!::write(q->wake_fd, &one, sizeof(one));
    }
  }
  return static_cast<ssize_t>(total);
}

Entry* UringTransport::Impl::find_serving(uint64_t unique) {
  for (auto& q : queues) {
    for (auto& e : q->entries) {
      if (e->serving.load(std::memory_order_acquire) == unique) return e.get();
    }
  }
  return nullptr;
}

UringTransport::Impl::Entry* UringTransport::Impl::current_entry() { return tls_entry; }

bool UringTransport::Impl::on_ring_thread() { return tls_ring_thread; }

void UringTransport::Impl::start_pool_thread() {
  tls_ring_thread = true;
  tls_pool_thread = true;
}

}  // namespace alluxio_fuse::fuse
