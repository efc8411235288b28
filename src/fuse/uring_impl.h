#pragma once
// The state of the FUSE-over-io_uring transport (uring.h), internal to src/fuse. uring.cc
// prepares the queues, rewrites the INIT handshake between libfuse and the kernel and stops
// the transport; uring_serve.cc runs it: the queue threads, the pool and the rings its threads
// own, the rescuer, and the commit of every reply.

#include <liburing.h>
#include <linux/fuse.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alluxio_fuse/common/handoff_pool.h"
#include "uring.h"
#include "uring_abi.h"

namespace alluxio_fuse::fuse {
namespace uring_detail {
using uring_abi::kCmdCommitAndFetch;
using uring_abi::kCmdRegister;
using uring_abi::kFlag2OverIoUring;
using uring_abi::kOpInBytes;
using uring_abi::RingCmdReq;
using uring_abi::RingHeader;

// Reads and writes from this size on are served by the shared pool rather than inline on the
// queue thread: a sequential reader's readahead all lands on its own CPU's queue, and large
// requests are worth a hand-off to be spread over every CPU (small ones are not).
constexpr size_t kOffloadBytes = size_t{128} * 1024;

constexpr uint64_t kWakeTag = 1;    // user_data of the eventfd poll; entries are pointers
constexpr uint64_t kStopTag = 2;    // user_data of an owner ring's poll of the stop eventfd
constexpr size_t kHeadroom = 4096;  // ring header, then room to rebuild the request's headers

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

// A queue thread serving one request for longer than this (a fetch from a slow worker, say)
// has the requests that arrive meanwhile on its CPU handed to the pool by the rescuer, instead
// of waiting behind it as they would on a single thread.
constexpr int64_t kRescueAfterNs = int64_t{20} * 1000 * 1000;

}  // namespace uring_detail

struct UringTransport::Impl {
  using Entry = uring_detail::Entry;
  using Queue = uring_detail::Queue;
  using OwnRing = uring_detail::OwnRing;

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
  void fatal(Queue* q, const std::string& what);

  // The pool for large requests (kOffloadBytes) and for what the rescuer hands over.
  std::unique_ptr<common::HandoffPool> pool;

  std::mutex mu;
  std::condition_variable cv;
  enum class Phase { kWaiting, kGo, kStop } phase = Phase::kWaiting;  // GUARDED_BY(mu)
  bool stopped = false;                                               // GUARDED_BY(mu)
  unsigned started = 0;  // GUARDED_BY(mu): queue threads past their ring setup
  unsigned failed = 0;   // GUARDED_BY(mu): ... of which could not make their ring

  ~Impl();

  // Publishes the queued SQEs to the kernel; returns how many it has not consumed yet.
  // With q->sq_mu held (liburing's own flush is private; this is the same two stores).
  static unsigned flush_locked(Queue* q);

  // Publishes the SQEs queued on `ring` (liburing's own flush is private; the same two stores).
  static unsigned flush(struct io_uring* ring);

  // io_uring_enter(2) without liburing's SQ bookkeeping (the caller flushed under sq_mu).
  static int enter(Queue* q, unsigned to_submit, unsigned min_complete, unsigned flags);

  // Every io_uring_enter of the transport goes through syscall(3) here (the test shim's hook).
  static int enter(struct io_uring* ring, unsigned to_submit, unsigned min_complete,
                   unsigned flags);

  // Submits what is queued now, without waiting, with q->sq_mu held. False if the kernel
  // refused the call (what is queued stays for the queue thread's next wait).
  static bool submit_locked(Queue* q);

  // A free SQE, with q->sq_mu held; when the ring is full, what is queued goes first.
  static struct io_uring_sqe* next_sqe(Queue* q);

  // Queues a REGISTER or COMMIT_AND_FETCH for `e`, with q->sq_mu held.
  void queue_cmd(Queue* q, Entry* e, uint32_t cmd);

  // Fills a (128-byte) SQE with a REGISTER or COMMIT_AND_FETCH of `e` on queue `q`.
  void fill_cmd(struct io_uring_sqe* sqe, Queue* q, Entry* e, uint32_t cmd);

  // With q->sq_mu held.
  void arm_wake(Queue* q);

  // Lays the fetched request out as /dev/fuse would deliver it and serves it: on this thread
  // when `inline_ok` and it is small, else on the pool.
  void serve(Queue* q, Entry* e, bool inline_ok);

  // Lays the fetched request out as /dev/fuse would deliver it; false when it is malformed
  // (answered with EIO here).
  bool lay_out(Queue* q, Entry* e);

  static bool is_large(const struct fuse_in_header& in, const char* op);

  // A pool job: the request, then, if its commit made this thread the entry's owner, the
  // entry's next requests until it goes back to its queue thread or the transport stops.
  void run_job(Entry* e);

  // This thread stops owning its entry (it went back to its queue, or is gone). Every reply
  // is sent by the thread that serves its request (session.cc replies synchronously), so an
  // owned entry is only ever committed by its owner.
  void release_own();

  // Whether `e`'s commit goes to this pool thread's own ring: the request was large and this
  // thread owns `e` already, or may own it (owner_limit) and has a ring.
  bool take_ownership(Entry* e);

  std::unique_ptr<OwnRing> make_own_ring();

  // Submits `e`'s COMMIT_AND_FETCH on this thread's own ring.
  void submit_own(Entry* e);

  void process(Entry* e);

  void run(Queue* q);

  // Takes one completion of q's ring, with q->cq_mu held; false if there is none. `*e`: the
  // entry whose request is to be served, if any; `*stop`: the queue thread is to end (stop()
  // woke it).
  bool reap(Queue* q, bool rescuer, Entry** e, bool* stop);

  Entry* complete(Queue* q, uint64_t tag, int res, bool rescuer, bool* stop);

  // The rescuer: every kRescueAfterNs, the completions of a queue whose thread has been busy
  // with one request for that long go to the pool. Requests of one CPU then wait for a slow
  // request (up to routing.data_timeout) only if they arrived before it.
  std::thread rescuer;
  std::mutex rescue_mu;
  std::condition_variable rescue_cv;
  bool rescue_stop = false;  // GUARDED_BY(rescue_mu)

  void run_rescuer();

  void rescue(Queue* q);

  void stop_rescuer();

  ssize_t commit(Entry* e, const struct iovec* iov, int count);

  Entry* find_serving(uint64_t unique);

  // The kernel will not use the rings: end the threads that wait for it.
  void abandon();

  ssize_t write_init_reply(int wfd, struct iovec* iov, int count);

  // The thread-local state of ring threads (uring_serve.cc): the entry whose request this
  // thread is serving, if any; whether it is a queue or pool thread; and the set-up of a pool
  // thread.
  static Entry* current_entry();
  static bool on_ring_thread();
  static void start_pool_thread();
};

}  // namespace alluxio_fuse::fuse
