// Design note: the libcurl implementation of http::Client.
//
// Each pooled slot is one easy handle paired with its own multi handle. The multi owns the
// connection cache, so a slot keeps its keep-alive connection between calls; slots are pooled
// per scheme://host:port and capped at max_connections_per_host (a caller waits for a free slot,
// and the wait counts against its deadline). The transfer runs through the multi interface
// (curl_multi_perform + curl_multi_poll) rather than curl_easy_perform so cancel_all() can wake
// every transfer at once with curl_multi_wakeup instead of waiting for the next progress tick.
//
// Classification follows worker-rest.md §4.1 in classify(); the observer is called exactly once
// per attempt except when the attempt was abandoned by cancel_all() (metrics.md §1).
// No lock is held while a transfer runs: mu_ guards only the pool map and the set of active
// multi handles; each HostPool has its own mutex. Lock order: mu_ before HostPool::mu.
#include <curl/curl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include "alluxio_fuse/http/client.h"

namespace alluxio_fuse::http {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr long kStallBytes = 64L * 1024;       // worker-rest.md §1: 64 KiB per stall period
constexpr size_t kErrorBodyCap = 64UL * 1024;  // error bodies are only read for their message
constexpr int kPollMs = 100;                   // bound on cancel latency if a wakeup is missed
// libcurl's receive buffer (default 16 KiB): a 1 MiB page arrives in 8 reads, callbacks and
// poll rounds instead of 64. Allocated per connection in use (32 fetches in flight: 4 MiB).
constexpr long kReceiveBuffer = 128L * 1024;

// One transfer slot: an easy handle and the multi handle that owns its connection cache.
struct Slot {
  CURL* easy = nullptr;
  CURLM* multi = nullptr;
  // The socket of the slot's (kept-alive) connection, recorded when libcurl creates it:
  // CURLINFO_ACTIVESOCKET reads as bad during a transfer.
  curl_socket_t sock = CURL_SOCKET_BAD;
  Slot() : easy(curl_easy_init()), multi(curl_multi_init()) {}
  ~Slot() {
    if (multi != nullptr) curl_multi_cleanup(multi);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
};

struct HostPool {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<Slot>> idle;  // GUARDED_BY(mu)
  size_t total = 0;                         // GUARDED_BY(mu): idle + lent out
};

// Per-call state shared with the libcurl callbacks.
struct Transfer {
  const Request* req = nullptr;
  Response* resp = nullptr;
  CURL* easy = nullptr;
  const std::atomic<bool>* cancelled = nullptr;
  size_t limit = 0;  // bound on a 2xx body
  bool over_limit = false;
  uint64_t upload_pos = 0;
  bool read_error = false;
  // Stall detection (worker-rest.md §1): a period starts at `period_start` with `period_base`
  // bytes moved (up + down); 64 KiB more within stall_timeout starts a new period.
  curl_socket_t* sock = nullptr;  // the slot's connection socket
  Clock::time_point period_start{};
  curl_off_t period_base = 0;
  bool stalled = false;
};

std::string pool_key(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) return "";
  std::string key;
  for (char c : url.substr(0, sep)) key.push_back(static_cast<char>(std::tolower(c)));
  std::string_view rest = url.substr(sep + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  auto at = authority.rfind('@');  // never key (or report) by userinfo
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  if (authority.empty()) return "";
  key.append("://").append(authority);
  return key;
}

size_t write_cb(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  const size_t n = size * nmemb;
  long code = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
  Response& resp = *t->resp;
  if (code < 200 || code > 299) {
    // Error bodies never go to the caller's buffer; keep a bounded prefix for the message.
    size_t keep = std::min(n, kErrorBodyCap - std::min(kErrorBodyCap, resp.body.size()));
    resp.body.append(ptr, keep);
    resp.body_bytes += n;
    return n;
  }
  if (resp.body_bytes + n > t->limit) {
    t->over_limit = true;
    return 0;  // CURLE_WRITE_ERROR
  }
  if (t->req->out != nullptr) {
    std::copy(ptr, ptr + n, t->req->out + resp.body_bytes);
  } else {
    resp.body.append(ptr, n);
  }
  resp.body_bytes += n;
  return n;
}

size_t header_cb(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  const size_t n = size * nitems;
  std::string_view line(buffer, n);
  if (line.substr(0, 5) == "HTTP/") {
    t->resp->headers.clear();  // a new response (after 1xx): only the final one counts
    return n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string name;
  for (char c : line.substr(0, colon)) name.push_back(static_cast<char>(std::tolower(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  t->resp->headers.emplace_back(std::move(name), std::string(value));
  return n;
}

size_t read_cb(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  if (t->cancelled->load()) return CURL_READFUNC_ABORT;
  const uint64_t remain = t->req->upload_size - t->upload_pos;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(size * nitems, remain));
  if (want == 0) return 0;
  ssize_t got;
  do {
    got = ::pread(t->req->upload_fd, buffer, want, static_cast<off_t>(t->upload_pos));
  } while (got < 0 && errno == EINTR);
  if (got <= 0) {  // error, or the file shrank under the upload
    t->read_error = true;
    return CURL_READFUNC_ABORT;
  }
  t->upload_pos += static_cast<uint64_t>(got);
  return static_cast<size_t>(got);
}

// Lets libcurl rewind the upload to retry a request that failed on a stale reused connection.
int seek_cb(void* userdata, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(userdata);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > t->req->upload_size) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  t->upload_pos = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

// Also the stall check. libcurl's LOW_SPEED_* averages the speed over a window of several
// seconds, so after a burst (a page of reply, or an upload absorbed by socket buffers) a stream
// that then stops dead ran on for ~5 s plus the stall timeout; the fault matrix measured a 2 s
// stall_timeout upload taking 7.5 s. Counting bytes per period here aborts exactly when fewer
// than 64 KiB moved in stall_timeout.
int xferinfo_cb(void* userdata, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
  auto* t = static_cast<Transfer*>(userdata);
  if (t->cancelled->load()) return 1;
  if (t->req->stall_timeout.count() <= 0) return 0;
  const auto now = Clock::now();
  // Uploaded bytes count once the peer has them: bytes still in the socket's send queue have not
  // left. Otherwise an upload absorbed by the send buffer looks stalled while a slow but healthy
  // link drains it (the fault matrix's 1 MiB/s link failed a 2 MiB commit).
  curl_off_t queued = 0;
  if (ulnow > 0 && *t->sock != CURL_SOCKET_BAD) {
    int outq = 0;
    if (::ioctl(*t->sock, SIOCOUTQ, &outq) == 0 && outq > 0) queued = outq;
  }
  const curl_off_t moved = dlnow + ulnow - std::min(queued, ulnow);
  if (moved - t->period_base >= kStallBytes) {
    t->period_start = now;
    t->period_base = moved;
  } else if (now - t->period_start >= t->req->stall_timeout) {
    t->stalled = true;
    return 1;
  }
  return 0;
}

int sockopt_cb(void* userdata, curl_socket_t fd, curlsocktype) {
  *static_cast<Transfer*>(userdata)->sock = fd;
  return CURL_SOCKOPT_OK;
}

State classify_status(long status) {
  if (status >= 200 && status <= 299) return State::kOk;
  if (status == 404) return State::kNotFound;
  if (status >= 400 && status <= 499) return State::kHttp4xx;
  if (status >= 500 && status <= 599) return State::kHttp5xx;
  return State::kBadResponse;  // 1xx as final, 3xx (redirects are not followed)
}

// worker-rest.md §4.1.
State classify(CURLcode rc, long status) {
  switch (rc) {
    case CURLE_OK:
      return classify_status(status);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return State::kRefused;
    case CURLE_OPERATION_TIMEDOUT:
      return State::kTimeout;
    case CURLE_GOT_NOTHING:
      return State::kNoReply;
    case CURLE_RECV_ERROR:
      return status == 0 ? State::kNoReply : State::kBadResponse;
    case CURLE_SEND_ERROR:
      // The server may answer (413, 503) and close while the body is still going out.
      return status == 0 ? State::kNoReply : classify_status(status);
    default:
      return State::kBadResponse;  // partial body, over the limit, malformed reply, TLS, ...
  }
}

class CurlClient final : public Client {
 public:
  CurlClient(ClientOptions options, CallObserver* observer)
      : options_(std::move(options)), observer_(observer) {
    if (options_.max_connections_per_host == 0) options_.max_connections_per_host = 1;
  }
  // All calls must have returned: lent-out slots are owned by their callers.
  ~CurlClient() override = default;

  Response perform(const Request& request) override;
  void cancel_all() override;

 private:
  HostPool& pool_for(const std::string& key);
  // nullptr when the deadline passed (timed_out) or the client was cancelled.
  std::unique_ptr<Slot> acquire(HostPool& pool, Clock::time_point deadline);
  void release(HostPool& pool, std::unique_ptr<Slot> slot);
  CURLcode run(Slot& slot);
  curl_slist* configure(CURL* easy, const Request& request, Transfer& transfer,
                        milliseconds remaining, char* errbuf);

  ClientOptions options_;
  CallObserver* observer_;  // may be null
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<HostPool>> pools_;  // GUARDED_BY(mu_)
  std::set<CURLM*> active_;                                 // GUARDED_BY(mu_)
};

HostPool& CurlClient::pool_for(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& pool = pools_[key];
  if (!pool) pool = std::make_unique<HostPool>();
  return *pool;
}

std::unique_ptr<Slot> CurlClient::acquire(HostPool& pool, Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(pool.mu);
  while (true) {
    if (cancelled_.load()) return nullptr;
    if (!pool.idle.empty()) {
      auto slot = std::move(pool.idle.back());
      pool.idle.pop_back();
      return slot;
    }
    if (pool.total < options_.max_connections_per_host) {
      ++pool.total;
      lock.unlock();
      auto slot = std::make_unique<Slot>();
      if (slot->easy == nullptr || slot->multi == nullptr) {
        lock.lock();
        --pool.total;
        return nullptr;
      }
      return slot;
    }
    if (pool.cv.wait_until(lock, deadline) == std::cv_status::timeout && pool.idle.empty() &&
        pool.total >= options_.max_connections_per_host) {
      return nullptr;
    }
  }
}

void CurlClient::release(HostPool& pool, std::unique_ptr<Slot> slot) {
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    pool.idle.push_back(std::move(slot));
  }
  pool.cv.notify_one();
}

void CurlClient::cancel_all() {
  cancelled_.store(true);
  std::lock_guard<std::mutex> lock(mu_);
  for (CURLM* multi : active_) curl_multi_wakeup(multi);
  for (auto& [key, pool] : pools_) {
    std::lock_guard<std::mutex> pool_lock(pool->mu);
    pool->cv.notify_all();
  }
}

curl_slist* CurlClient::configure(CURL* easy, const Request& req, Transfer& t,
                                  milliseconds remaining, char* errbuf) {
  curl_easy_reset(easy);  // keeps the live connection (it belongs to the slot's multi)
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, kReceiveBuffer);
  curl_easy_setopt(easy, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  long connect_ms = std::max<long>(1, req.connect_timeout.count());
  if (req.total_timeout.count() > 0) {
    long total_ms = std::max<long>(1, remaining.count());
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, total_ms);
    connect_ms = std::min(connect_ms, total_ms);
  }
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  if (req.stall_timeout.count() > 0) {
    // A backstop only: xferinfo_cb enforces the stall timeout precisely.
    long secs = std::max<long>(1, static_cast<long>((req.stall_timeout.count() + 999) / 1000));
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, secs);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, std::max<long>(1, kStallBytes / secs));
  }
  curl_easy_setopt(easy, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());

  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(easy, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
  curl_easy_setopt(easy, CURLOPT_SOCKOPTDATA, &t);

  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: */*");
  headers = curl_slist_append(headers, "Expect:");  // never 100-continue (worker-rest.md §1)
  bool has_content_type = false;
  for (const auto& [name, value] : req.headers) {
    std::string lower;
    for (char c : name) lower.push_back(static_cast<char>(std::tolower(c)));
    if (lower == "content-type") has_content_type = true;
    std::string line;
    line.reserve(name.size() + 2 + value.size());
    line.append(name).append(": ").append(value);
    headers = curl_slist_append(headers, line.c_str());
  }
  const bool is_post = req.method == "POST";
  if (req.upload_fd >= 0) {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(easy, CURLOPT_READDATA, &t);
    curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, seek_cb);
    curl_easy_setopt(easy, CURLOPT_SEEKDATA, &t);
    if (req.chunked) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(-1));
      headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    } else {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.upload_size));
    }
    if (!is_post) curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (!req.body.empty() || is_post || req.method == "PUT") {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    if (!is_post) curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (req.method == "GET") {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  // libcurl would label a POST form-urlencoded; an unlabelled body is closer to what is meant.
  if (!has_content_type && (req.upload_fd >= 0 || !req.body.empty() || is_post)) {
    headers = curl_slist_append(headers, "Content-Type:");
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  return headers;
}

CURLcode CurlClient::run(Slot& slot) {
  curl_multi_add_handle(slot.multi, slot.easy);
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_.insert(slot.multi);
  }
  int running = 1;
  while (!cancelled_.load()) {
    if (curl_multi_perform(slot.multi, &running) != CURLM_OK || running == 0) break;
    if (curl_multi_poll(slot.multi, nullptr, 0, kPollMs, nullptr) != CURLM_OK) break;
  }
  CURLcode rc = CURLE_FAILED_INIT;
  bool done = false;
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(slot.multi, &queued)) {
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == slot.easy) {
      rc = msg->data.result;
      done = true;
    }
  }
  if (!done && cancelled_.load()) rc = CURLE_ABORTED_BY_CALLBACK;
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_.erase(slot.multi);
  }
  curl_multi_remove_handle(slot.multi, slot.easy);
  return rc;
}

Response CurlClient::perform(const Request& request) {
  const auto start = Clock::now();
  Response resp;
  auto finish = [&](State state, std::string error, bool observe) {
    resp.state = state;
    if (!error.empty()) resp.error = std::move(error);
    resp.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (observe && observer_ != nullptr) {
      observer_->observe(request.metric_method, resp.state, resp.latency_ms);
    }
    return std::move(resp);
  };
  if (cancelled_.load()) return finish(State::kTimeout, "client cancelled", false);
  const std::string key = pool_key(request.url);
  if (key.empty()) return finish(State::kBadResponse, "malformed URL", true);

  Clock::duration budget =
      request.total_timeout.count() > 0
          ? Clock::duration(request.total_timeout)
          : Clock::duration(std::max(request.connect_timeout, request.stall_timeout));
  const auto deadline = start + budget;
  HostPool& pool = pool_for(key);
  std::unique_ptr<Slot> slot = acquire(pool, deadline);
  if (!slot) {
    if (cancelled_.load()) return finish(State::kTimeout, "client cancelled", false);
    return finish(State::kTimeout, "no free connection before the deadline", true);
  }
  auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  if (request.total_timeout.count() > 0 && remaining.count() <= 0) {
    release(pool, std::move(slot));
    return finish(State::kTimeout, "no free connection before the deadline", true);
  }

  Transfer t;
  t.req = &request;
  t.resp = &resp;
  t.easy = slot->easy;
  t.cancelled = &cancelled_;
  t.limit = request.out != nullptr ? request.out_cap : request.max_body;
  t.period_start = Clock::now();
  t.sock = &slot->sock;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = configure(slot->easy, request, t, remaining, errbuf);
  CURLcode rc = run(*slot);
  curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &resp.status);
  curl_easy_setopt(slot->easy, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(slot->easy, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(headers);
  release(pool, std::move(slot));

  if (rc == CURLE_ABORTED_BY_CALLBACK && t.stalled) {
    return finish(State::kTimeout,
                  "stalled: less than 64 KiB moved in " +
                      std::to_string(request.stall_timeout.count()) + " ms",
                  true);
  }
  if (rc == CURLE_ABORTED_BY_CALLBACK && !t.read_error) {
    return finish(State::kTimeout, "client cancelled", false);
  }
  if (rc == CURLE_OK) return finish(classify(rc, resp.status), "", true);
  std::string error = errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc);
  if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE) {
    // Said plainly, so an operator reading the log sees a trust problem, not a flaky worker.
    error = "TLS certificate verification failed: " + error;
  }
  if (t.over_limit) error = "reply body over the size limit";
  if (t.read_error) error = "reading the upload source failed";
  State state = (t.read_error || t.over_limit) ? State::kBadResponse : classify(rc, resp.status);
  return finish(state, std::move(error), true);
}

}  // namespace

std::unique_ptr<Client> make_curl_client(const ClientOptions& options, CallObserver* observer) {
  static std::once_flag init_once;
  std::call_once(init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return std::make_unique<CurlClient>(options, observer);
}

}  // namespace alluxio_fuse::http
