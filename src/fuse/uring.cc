// FUSE over io_uring beside libfuse 3.14 (see uring.h for the design).
#define FUSE_USE_VERSION 314
#include "uring.h"

#include <fuse3/fuse_lowlevel.h>
#include <liburing.h>
#include <linux/fuse.h>
#include <poll.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "alluxio_fuse/common/handoff_pool.h"
#include "alluxio_fuse/common/thread_name.h"
#include "uring_abi.h"

namespace alluxio_fuse::fuse {
namespace {

using uring_abi::kCmdCommitAndFetch;
using uring_abi::kCmdRegister;
using uring_abi::kFlag2OverIoUring;
using uring_abi::kOpInBytes;
using uring_abi::RingCmdReq;
using uring_abi::RingHeader;

// Reads and writes from this size on are served by the shared pool rather than inline on the
// queue thread: a sequential reader's readahead all lands on its own CPU's queue, and large
// requests are worth a hand-off to be spread over every CPU (small ones are not).
constexpr size_t kOffloadBytes = 128 * 1024;

constexpr uint64_t kWakeTag = 1;    // user_data of the eventfd poll; entries are pointers
constexpr uint64_t kStopTag = 2;    // user_data of an owner ring's poll of the stop eventfd
constexpr size_t kHeadroom = 4096;  // ring header, then room to rebuild the request's headers

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

struct Queue;

struct Entry {
  Queue* queue = nullptr;
  RingHeader* header = nullptr;
  char* region = nullptr;  // kHeadroom + cap bytes, from mmap
  size_t region_bytes = 0;
  char* payload = nullptr;  // region + kHeadroom
  size_t cap = 0;
  struct iovec iov[2]{};
  uint64_t commit_id = 0;
  char* request = nullptr;           // the request laid out for libfuse, inside region
  std::atomic<uint64_t> serving{0};  // unique of the request being served; 0: none
  uint32_t last_cmd = 0;
  bool large = false;  // the request being served is kOffloadBytes or more
  bool owned = false;  // its COMMIT_AND_FETCH went to a pool thread's own ring (OwnRing)
};

// A pool thread's own ring, for the one entry it owns. A pool thread that served a large
// request commits it here rather than through the queue thread: the kernel then hands that
// entry's next request straight to this thread (task work of the committer, completion on
// this ring), one wake-up per request as through /dev/fuse, instead of a wake-up of the queue
// thread to submit the commit and another of a pool thread to serve the next request. The
// thread then serves that entry until a small request comes (it goes back to its queue
// thread, pinned to the CPU that sent it) or the transport stops.
struct OwnRing {
  struct io_uring ring {};
  bool ok = false;
  Entry* entry = nullptr;
  ~OwnRing() {
    if (ok) io_uring_queue_exit(&ring);
  }
};

struct Queue {
  unsigned qid = 0;
  struct io_uring ring {};
  bool ring_ok = false;
  int wake_fd = -1;
  std::vector<std::unique_ptr<Entry>> entries;
  // Guards the submission queue: the queue thread adds its commits and registrations, a
  // pool thread its commit. The queue thread submits them all, except while it is busy with a
  // request of its own (busy_since): the kernel hands the task work of an entry's next request
  // to the thread that submitted its COMMIT_AND_FETCH, and were that a pool thread, it would
  // have to wake only to post the completion and wake the queue thread (two more hand-offs
  // per request: 1 MiB sequential reads measured ~30 % slower).
  std::mutex sq_mu;
  // A pool thread queued a commit and has written wake_fd; cleared by the queue thread before
  // its next flush, so one wake-up covers every commit queued until then.
  std::atomic<bool> wake_pending{false};
  // The completion queue: taken by the queue thread for each completion, and by the rescuer
  // while the queue thread is busy with a request of its own (busy_since).
  std::mutex cq_mu;
  // Steady-clock nanoseconds at which the queue thread started serving a request itself; 0
  // while it waits or hands requests over. Meanwhile pool threads submit their own commits.
  std::atomic<int64_t> busy_since{0};
  std::thread thread;
  bool failed_logged = false;  // GUARDED_BY(cq_mu)
  unsigned live = 0;           // GUARDED_BY(cq_mu): entries the kernel has not refused
};

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A queue thread serving one request for longer than this (a fetch from a slow worker, say)
// has the requests that arrive meanwhile on its CPU handed to the pool by the rescuer, instead
// of waiting behind it as they would on a single thread.
constexpr int64_t kRescueAfterNs = 20 * 1000 * 1000;

thread_local Entry* tls_entry = nullptr;    // the request this queue thread is serving
thread_local Queue* tls_queue = nullptr;    // set on queue threads only
thread_local bool tls_ring_thread = false;  // a queue or pool thread (named af-ring-*)
thread_local bool tls_pool_thread = false;  // a pool thread (af-ring-io)
thread_local std::unique_ptr<OwnRing> tls_own;

}  // namespace

struct UringTransport::Impl {
  struct fuse_session* se = nullptr;
  int fd = -1;
  Options options;
  size_t cap = 0;  // payload bytes per entry
  std::vector<std::unique_ptr<Queue>> queues;

  std::atomic<bool> init_seen{false};
  std::atomic<uint64_t> init_unique{0};
  std::atomic<bool> offered{false};
  std::atomic<bool> active{false};
  std::atomic<bool> stopping{false};
  std::atomic<bool> fatal_reported{false};
  // Readable once stop() began; every owner ring polls it, so owners stop waiting.
  int stop_fd = -1;
  // Pool threads that own an entry (OwnRing) serve only it, so at most owner_limit do: the
  // others stay free for the jobs the queue threads hand over.
  std::atomic<unsigned> owners{0};
  unsigned owner_limit = 0;

  // A queue cannot serve any more: said once, and told to the owner (Options::on_fatal),
  // unless stop() is already ending the rings (their failures are expected then).
  void fatal(Queue* q, const std::string& what) {
    if (stopping.load() || fatal_reported.exchange(true)) return;
    const std::string why = "io_uring queue " + std::to_string(q->qid) + ": " + what;
    spdlog::error("{}; requests of CPU {} cannot be answered", why, q->qid);
    if (options.on_fatal) options.on_fatal(why);
  }

  // The pool for large requests (kOffloadBytes) and for what the rescuer hands over.
  std::unique_ptr<common::HandoffPool> pool;

  std::mutex mu;
  std::condition_variable cv;
  enum class Phase { kWaiting, kGo, kStop } phase = Phase::kWaiting;  // GUARDED_BY(mu)
  bool stopped = false;                                               // GUARDED_BY(mu)
  unsigned started = 0;  // GUARDED_BY(mu): queue threads past their ring setup
  unsigned failed = 0;   // GUARDED_BY(mu): ... of which could not make their ring

  ~Impl() {
    if (stop_fd >= 0) ::close(stop_fd);
    for (auto& q : queues) {
      if (q->ring_ok) io_uring_queue_exit(&q->ring);
      if (q->wake_fd >= 0) ::close(q->wake_fd);
      for (auto& e : q->entries) {
        if (e->region != nullptr) ::munmap(e->region, e->region_bytes);
      }
    }
  }

  // Publishes the queued SQEs to the kernel; returns how many it has not consumed yet.
  // With q->sq_mu held (liburing's own flush is private; this is the same two stores).
  static unsigned flush_locked(Queue* q) { return flush(&q->ring); }

  // Publishes the SQEs queued on `ring` (liburing's own flush is private; the same two stores).
  static unsigned flush(struct io_uring* ring) {
    struct io_uring_sq* sq = &ring->sq;
    const unsigned tail = sq->sqe_tail;
    if (sq->sqe_head != tail) {
      sq->sqe_head = tail;
      __atomic_store_n(sq->ktail, tail, __ATOMIC_RELEASE);
    }
    return tail - __atomic_load_n(sq->khead, __ATOMIC_ACQUIRE);
  }

  // io_uring_enter(2) without liburing's SQ bookkeeping (the caller flushed under sq_mu).
  static int enter(Queue* q, unsigned to_submit, unsigned min_complete, unsigned flags) {
    return enter(&q->ring, to_submit, min_complete, flags);
  }

  // Every io_uring_enter of the transport goes through syscall(3) here (the test shim's hook).
  static int enter(struct io_uring* ring, unsigned to_submit, unsigned min_complete,
                   unsigned flags) {
    long rc =
        ::syscall(__NR_io_uring_enter, ring->ring_fd, to_submit, min_complete, flags, nullptr, 0);
    return rc < 0 ? -errno : static_cast<int>(rc);
  }

  // Submits what is queued now, without waiting, with q->sq_mu held. False if the kernel
  // refused the call (what is queued stays for the queue thread's next wait).
  static bool submit_locked(Queue* q) {
    const unsigned pending = flush_locked(q);
    return pending == 0 || enter(q, pending, 0, 0) >= 0;
  }

  // A free SQE, with q->sq_mu held; when the ring is full, what is queued goes first.
  static struct io_uring_sqe* next_sqe(Queue* q) {
    struct io_uring_sqe* sqe = io_uring_get_sqe(&q->ring);
    if (sqe == nullptr) {
      submit_locked(q);
      sqe = io_uring_get_sqe(&q->ring);
    }
    return sqe;
  }

  // Queues a REGISTER or COMMIT_AND_FETCH for `e`, with q->sq_mu held.
  void queue_cmd(Queue* q, Entry* e, uint32_t cmd) {
    struct io_uring_sqe* sqe = next_sqe(q);
    if (sqe == nullptr) {
      fatal(q, "no submission slot; a request is left unanswered");
      return;
    }
    fill_cmd(sqe, q, e, cmd);
  }

  // Fills a (128-byte) SQE with a REGISTER or COMMIT_AND_FETCH of `e` on queue `q`.
  void fill_cmd(struct io_uring_sqe* sqe, Queue* q, Entry* e, uint32_t cmd) {
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
    std::memcpy(reinterpret_cast<char*>(sqe) + offsetof(struct io_uring_sqe, cmd), &req,
                sizeof(req));
    e->last_cmd = cmd;
  }

  // With q->sq_mu held.
  void arm_wake(Queue* q) {
    struct io_uring_sqe* sqe = next_sqe(q);
    if (sqe == nullptr) return;
    io_uring_prep_poll_add(sqe, q->wake_fd, POLLIN);
    io_uring_sqe_set_data64(sqe, kWakeTag);
  }

  // Lays the fetched request out as /dev/fuse would deliver it and serves it: on this thread
  // when `inline_ok` and it is small, else on the pool.
  void serve(Queue* q, Entry* e, bool inline_ok) {
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

  // Lays the fetched request out as /dev/fuse would deliver it; false when it is malformed
  // (answered with EIO here).
  bool lay_out(Queue* q, Entry* e) {
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

  static bool is_large(const struct fuse_in_header& in, const char* op) {
    if (in.opcode == FUSE_READ && in.len >= sizeof(in) + sizeof(struct fuse_read_in)) {
      struct fuse_read_in r {};
      std::memcpy(&r, op, sizeof(r));
      return r.size >= kOffloadBytes;
    }
    return in.opcode == FUSE_WRITE && in.len >= sizeof(in) + kOffloadBytes;
  }

  // A pool job: the request, then, if its commit made this thread the entry's owner, the
  // entry's next requests until it goes back to its queue thread or the transport stops.
  void run_job(Entry* e) {
    process(e);
    while (tls_own != nullptr && tls_own->entry != nullptr) {
      struct io_uring_cqe* cqe = nullptr;
      if (io_uring_peek_cqe(&tls_own->ring, &cqe) != 0) {
        const int rc = enter(&tls_own->ring, 0, 1, IORING_ENTER_GETEVENTS);
        if (rc >= 0 || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY) continue;
        fatal(tls_own->entry->queue, std::string("io_uring wait failed: ") + std::strerror(-rc));
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
      Entry* next = reinterpret_cast<Entry*>(tag);
      if (res == -EINTR || res == -EAGAIN) {
        submit_own(next);
        continue;
      }
      if (res < 0) {  // -ENOTCONN: the connection ended (unmount)
        if (res != -ENOTCONN) {
          spdlog::error("io_uring queue {}: commit failed: {}", next->queue->qid,
                        std::strerror(-res));
        }
        release_own();
        return;
      }
      if (lay_out(next->queue, next)) process(next);
    }
  }

  // This thread stops owning its entry (it went back to its queue, or is gone).
  void release_own() {
    tls_own->entry->owned = false;
    tls_own->entry = nullptr;
    owners.fetch_sub(1);
  }

  // Whether `e`'s commit goes to this pool thread's own ring: the request was large and this
  // thread owns `e` already, or may own it (owner_limit) and has a ring.
  bool take_ownership(Entry* e) {
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
    e->owned = true;
    return true;
  }

  std::unique_ptr<OwnRing> make_own_ring() {
    auto own = std::make_unique<OwnRing>();
    struct io_uring_params params {};
    params.flags = IORING_SETUP_SQE128;
    const int rc = io_uring_queue_init_params(4, &own->ring, &params);
    if (rc < 0) {
      spdlog::warn("mount.io_uring: io_uring_setup for a pool thread: {}", std::strerror(-rc));
      return own;
    }
    own->ok = true;
    struct io_uring_sqe* sqe = io_uring_get_sqe(&own->ring);  // submitted with the first commit
    std::memset(static_cast<void*>(sqe), 0, 2 * sizeof(struct io_uring_sqe));  // SQE128
    io_uring_prep_poll_add(sqe, stop_fd, POLLIN);
    io_uring_sqe_set_data64(sqe, kStopTag);
    return own;
  }

  // Submits `e`'s COMMIT_AND_FETCH on this thread's own ring.
  void submit_own(Entry* e) {
    struct io_uring_sqe* sqe = io_uring_get_sqe(&tls_own->ring);
    if (sqe == nullptr) {
      fatal(e->queue, "no submission slot on a pool thread's ring; a request is left unanswered");
      return;
    }
    fill_cmd(sqe, e->queue, e, kCmdCommitAndFetch);
    const int rc = enter(&tls_own->ring, flush(&tls_own->ring), 0, 0);
    if (rc < 0) fatal(e->queue, std::string("io_uring_enter failed: ") + std::strerror(-rc));
  }

  void process(Entry* e) {
    struct fuse_buf buf {};
    buf.mem = e->request;
    buf.size = reinterpret_cast<const struct fuse_in_header*>(e->request)->len;
    tls_entry = e;
    fuse_session_process_buf(se, &buf);
    tls_entry = nullptr;
  }

  void run(Queue* q) {
    common::name_this_thread("af-ring-" + std::to_string(q->qid));
    tls_ring_thread = true;
    // Pinned to its CPU, where the kernel queues the requests of that CPU's processes: a
    // small request is then served without waking another CPU (unpinned, 4 readers on two
    // CPUs measured 0.49 of bindfs instead of 1.2).
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(q->qid, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
      spdlog::debug("io_uring queue {}: cannot pin to its CPU: {}", q->qid, std::strerror(errno));
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
                     std::strerror(-rc));
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
        fatal(q, std::string("io_uring_enter failed: ") + std::strerror(-got));
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

  // Takes one completion of q's ring, with q->cq_mu held; false if there is none. `*e`: the
  // entry whose request is to be served, if any; `*stop`: the queue thread is to end (stop()
  // woke it).
  bool reap(Queue* q, bool rescuer, Entry** e, bool* stop) {
    struct io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(&q->ring, &cqe) != 0) return false;
    const uint64_t tag = io_uring_cqe_get_data64(cqe);
    const int res = cqe->res;
    io_uring_cqe_seen(&q->ring, cqe);
    *e = complete(q, tag, res, rescuer, stop);
    return true;
  }

  Entry* complete(Queue* q, uint64_t tag, int res, bool rescuer, bool* stop) {
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
    auto* e = reinterpret_cast<Entry*>(tag);
    if (res == -EINTR || res == -EAGAIN) {
      std::lock_guard<std::mutex> lock(q->sq_mu);
      queue_cmd(q, e, e->last_cmd);
      return nullptr;
    }
    if (res < 0) {  // -ENOTCONN: the connection ended (unmount)
      const char* cmd = e->last_cmd == kCmdRegister ? "register" : "commit";
      if (res != -ENOTCONN && !q->failed_logged) {
        q->failed_logged = true;
        spdlog::error("io_uring queue {}: {} failed: {}", q->qid, cmd, std::strerror(-res));
      }
      // The entry is out of the ring for good. With none left, this CPU's requests wait.
      if (q->live > 0 && --q->live == 0 && res != -ENOTCONN) {
        fatal(q, std::string("the kernel refused every entry (last: ") + cmd + ": " +
                     std::strerror(-res) + ")");
      }
      return nullptr;
    }
    return e;
  }

  // The rescuer: every kRescueAfterNs, the completions of a queue whose thread has been busy
  // with one request for that long go to the pool. Requests of one CPU then wait for a slow
  // request (up to routing.data_timeout) only if they arrived before it.
  std::thread rescuer;
  std::mutex rescue_mu;
  std::condition_variable rescue_cv;
  bool rescue_stop = false;  // GUARDED_BY(rescue_mu)

  void run_rescuer() {
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

  void rescue(Queue* q) {
    if (stopping.load()) return;  // busy_since != 0: the ring is set up
    std::unique_lock<std::mutex> lock(q->cq_mu, std::try_to_lock);
    if (!lock.owns_lock()) return;
    Entry* e = nullptr;
    bool stop = false;  // for the queue thread only; reap() leaves it to it
    while (q->busy_since.load() != 0 && reap(q, /*rescuer=*/true, &e, &stop)) {
      if (e != nullptr) serve(q, e, /*inline_ok=*/false);
    }
  }

  void stop_rescuer() {
    {
      std::lock_guard<std::mutex> lock(rescue_mu);
      rescue_stop = true;
    }
    rescue_cv.notify_all();
    if (rescuer.joinable()) rescuer.join();
  }

  ssize_t commit(Entry* e, const struct iovec* iov, int count) {
    const auto* out = static_cast<const struct fuse_out_header*>(iov[0].iov_base);
    size_t total = iov[0].iov_len;
    size_t len = 0;
    int32_t error = out->error;
    for (int i = 1; i < count; ++i) {
      total += iov[i].iov_len;
      if (error != 0) continue;
      if (len + iov[i].iov_len > e->cap) {
        spdlog::error("io_uring: reply of {}+ bytes exceeds the {}-byte buffer",
                      len + iov[i].iov_len, e->cap);
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
    if (e->owned) release_own();  // a small request: the entry goes back to its queue thread
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

  Entry* find_serving(uint64_t unique) {
    for (auto& q : queues) {
      for (auto& e : q->entries) {
        if (e->serving.load(std::memory_order_acquire) == unique) return e.get();
      }
    }
    return nullptr;
  }

  // The kernel will not use the rings: end the threads that wait for it.
  void abandon() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (phase == Phase::kWaiting) phase = Phase::kStop;
    }
    cv.notify_all();
    stop_rescuer();
    if (pool != nullptr) pool->stop();
  }

  ssize_t write_init_reply(int wfd, struct iovec* iov, int count) {
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
};

UringTransport::UringTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

UringTransport::~UringTransport() { stop(); }

std::unique_ptr<UringTransport> UringTransport::prepare(struct fuse_session* se, int fuse_fd,
                                                        Options options) {
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
    spdlog::warn("mount.io_uring: eventfd: {}; serving through /dev/fuse", std::strerror(errno));
    return nullptr;
  }
  const unsigned depth = std::max(1U, options.depth);
  for (unsigned qid = 0; qid < cpus; ++qid) {
    auto q = std::make_unique<Queue>();
    q->qid = qid;
    q->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (q->wake_fd < 0) {
      spdlog::warn("mount.io_uring: eventfd: {}; serving through /dev/fuse", std::strerror(errno));
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
        spdlog::warn("mount.io_uring: mmap: {}; serving through /dev/fuse", std::strerror(errno));
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
      [] {
        tls_ring_thread = true;
        tls_pool_thread = true;
      });
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
    Entry* e = tls_entry;
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
  Entry* e = tls_entry;
  return e != nullptr && len <= e->cap ? e->payload : nullptr;
}

bool UringTransport::on_ring_thread() { return tls_ring_thread; }

}  // namespace alluxio_fuse::fuse
