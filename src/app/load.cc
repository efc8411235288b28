// `alluxio-fuse load` (config.md §4, worker-rest.md §3.14).
//
// Design note: the job is submitted to the first candidate of the key's routing order — the
// same order the daemon and `route` use, taken from router::route_output so the three can never
// disagree — moving on only when a worker is plainly unavailable (refused, 503). Progress and
// stop then go to the worker that accepted the submit: it is the one that knows the job.
// A submit that timed out may still have created the job, so it is treated like the overall
// timeout: a stop is sent and the command fails. Every worker call is bounded by the smaller of
// routing.metadata_timeout and the time left before --timeout, so the command ends on time
// even against a worker that hangs; the final stop gets a fresh routing.metadata_timeout
// budget. Progress polls that fail transiently (timeout, 5xx, garbled reply) are reported and
// retried until the deadline: a long job must not be abandoned for one lost poll.
// Worker-supplied text (state, message, properties) is printed with control characters
// replaced, so a hostile reply cannot drive the terminal.
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "alluxio_fuse/app/app.h"
#include "alluxio_fuse/common/build_info.h"
#include "alluxio_fuse/common/uri.h"
#include "alluxio_fuse/config/units.h"
#include "alluxio_fuse/http/client.h"
#include "alluxio_fuse/router/backend.h"
#include "alluxio_fuse/worker/worker_client.h"
#include "cli_support.h"

namespace alluxio_fuse::app {

std::string unescape_mountinfo(const std::string& s) {
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

namespace {

using common::Code;
using common::Result;
using common::Status;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kMinPollInterval{10};

// Replaces control bytes so worker text cannot move the cursor or clear the screen.
std::string printable(std::string_view s, size_t max_len = 200) {
  std::string out;
  for (char c : s.substr(0, max_len)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  if (s.size() > max_len) out += "...";
  return out;
}

std::string format_elapsed(SteadyClock::duration d) {
  const auto ms = std::chrono::duration_cast<milliseconds>(d).count();
  char buf[32];
  if (ms < 60'000) {
    std::snprintf(buf, sizeof(buf), "%.1fs", static_cast<double>(ms) / 1000.0);
  } else {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", static_cast<long long>(ms / 60'000),
                  static_cast<long long>((ms / 1000) % 60));
  }
  return buf;
}

// ---- Which key: a full key, a path inside a mounted alluxio-fuse, or a path under the root.

// The deepest mount point of file-system type `fstype` that contains `path` (canonical).
std::optional<std::string> mount_containing(const std::string& path, const std::string& fstype) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::optional<std::string> best;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || dash + 1 == f.end() || *(dash + 1) != fstype) continue;
    std::string mnt = unescape_mountinfo(f[4]);
    const bool inside =
        path == mnt || (path.size() > mnt.size() && path.compare(0, mnt.size(), mnt) == 0 &&
                        (mnt == "/" || path[mnt.size()] == '/'));
    if (inside && (!best || mnt.size() > best->size())) best = mnt;
  }
  return best;
}

// "host:port" or "[v6]:port".
std::optional<worker::WorkerAddress> parse_address(std::string_view s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string host(s.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  for (char c : s.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port <= 0 || port > 65535) return std::nullopt;
  return worker::WorkerAddress{host, port};
}

// The key's candidates in routing order (route_output's text form: "<key>\t<a>,<b>,...").
Result<std::vector<worker::WorkerAddress>> route_candidates(const config::Config& cfg,
                                                            const std::string& key) {
  auto out = router::route_output(cfg, {key}, std::nullopt, /*raw=*/true, /*json=*/false);
  if (!out.ok()) return out.status();
  const size_t tab = out->rfind('\t');
  std::vector<worker::WorkerAddress> addrs;
  if (tab != std::string::npos) {
    std::string_view list = std::string_view(*out).substr(tab + 1);
    while (!list.empty()) {
      const size_t comma = list.find(',');
      auto addr = parse_address(list.substr(0, comma));
      if (addr) addrs.push_back(*addr);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  if (addrs.empty()) return Status(Code::kUnavailable, "no worker in the membership");
  return addrs;
}

worker::WorkerApi to_worker_api(config::WorkerApi api) {
  switch (api) {
    case config::WorkerApi::kEnterprise:
      return worker::WorkerApi::kEnterprise;
    case config::WorkerApi::kOss:
      return worker::WorkerApi::kOss;
    default:
      return worker::WorkerApi::kAuto;
  }
}

// ---- Progress display: a rewritten line with a bar on a terminal, plain lines otherwise.

class ProgressView {
 public:
  explicit ProgressView(bool tty) : tty_(tty) {}

  void update(const worker::LoadProgress& p, SteadyClock::duration elapsed) {
    std::string props;
    std::optional<double> percent;
    for (const auto& [k, v] : p.properties) {
      if (!props.empty()) props += ", ";
      props += printable(k, 60) + ": " + printable(v, 60);
      percent = percent ? percent : percent_of(k, v);
    }
    const std::string state = printable(p.raw_state.empty() ? "?" : p.raw_state, 40);
    if (!tty_) {
      std::cout << format_elapsed(elapsed) << "  " << state << (props.empty() ? "" : "  ") << props
                << std::endl;
      return;
    }
    std::string line = bar(percent) + " " + state + "  " + format_elapsed(elapsed);
    if (!props.empty()) line += "  " + props;
    if (line.size() > 160) line = line.substr(0, 157) + "...";
    std::cout << "\r\x1b[K" << line << std::flush;
    open_line_ = true;
    ++ticks_;
  }

  // A side note (a failed poll) on its own line, keeping the bar intact below it.
  void note(const std::string& text) {
    end_line();
    std::cerr << "alluxio-fuse: load: " << text << std::endl;
  }

  void end_line() {
    if (open_line_) std::cout << "\n" << std::flush;
    open_line_ = false;
  }

 private:
  // A property that is a completion percentage ("Progress: 42%"); failure rates are not.
  static std::optional<double> percent_of(const std::string& key, const std::string& value) {
    std::string k;
    for (char c : key) k.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (k.find("fail") != std::string::npos) return std::nullopt;
    if (k.find("percent") == std::string::npos && k.find("progress") == std::string::npos) {
      return std::nullopt;
    }
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (end == value.c_str() || v < 0 || v > 100) return std::nullopt;
    return v;
  }

  std::string bar(std::optional<double> percent) const {
    constexpr int kWidth = 24;
    std::string b(kWidth, ' ');
    if (percent) {
      const int filled = static_cast<int>(*percent / 100.0 * kWidth);
      std::fill(b.begin(), b.begin() + filled, '#');
    } else {
      // Alluxio reports counters, not a total: a moving marker shows the job is alive.
      const int span = kWidth - 3;
      const int pos = static_cast<int>(ticks_ % (uint64_t{2} * span));
      const int at = pos <= span ? pos : 2 * span - pos;
      b.replace(static_cast<size_t>(at), 3, "<=>");
    }
    return "[" + b + "]";
  }

  const bool tty_;
  bool open_line_ = false;
  uint64_t ticks_ = 0;
};

// One run of the command: the deadline, the HTTP client, and per-call worker clients whose
// timeouts shrink with the time left.
class LoadRun {
 public:
  LoadRun(const config::Config& cfg, std::string key, std::optional<SteadyClock::time_point> end)
      : cfg_(cfg), key_(std::move(key)), deadline_(end), start_(SteadyClock::now()) {
    http::ClientOptions ho;
    ho.user_agent = std::string("alluxio-fuse/") + common::build_version();
    if (cfg.routing.tls_ca_file) ho.ca_file = *cfg.routing.tls_ca_file;
    http_ = http::make_curl_client(ho, nullptr);
  }

  bool expired() const { return deadline_ && SteadyClock::now() >= *deadline_; }
  SteadyClock::duration elapsed() const { return SteadyClock::now() - start_; }

  // A client whose every call ends within routing.metadata_timeout and, unless `fresh`,
  // before the deadline.
  std::unique_ptr<worker::WorkerClient> client(bool fresh = false) const {
    auto budget = std::chrono::duration_cast<milliseconds>(cfg_.routing.metadata_timeout);
    if (deadline_ && !fresh) {
      auto left = std::chrono::duration_cast<milliseconds>(*deadline_ - SteadyClock::now());
      budget = std::min(budget, left);
    }
    budget = std::max(budget, milliseconds(1));  // 0 would mean "no limit" to the client
    worker::WorkerClientOptions o;
    o.page_size = cfg_.options.page_size;
    o.connect_timeout =
        std::min(budget, std::chrono::duration_cast<milliseconds>(cfg_.routing.connect_timeout));
    o.metadata_timeout = budget;
    o.api = to_worker_api(cfg_.routing.worker_api);
    o.tls = cfg_.routing.tls;
    return std::make_unique<worker::WorkerClient>(*http_, o);
  }

  // Sleeps `interval`, or until the deadline if sooner.
  void wait(milliseconds interval) const {
    auto until = SteadyClock::now() + interval;
    if (deadline_) until = std::min(until, *deadline_);
    std::this_thread::sleep_until(until);
  }

  const std::string& key() const { return key_; }

 private:
  const config::Config& cfg_;
  const std::string key_;
  const std::optional<SteadyClock::time_point> deadline_;
  const SteadyClock::time_point start_;
  std::unique_ptr<http::Client> http_;
};

// Codes after which polling again may succeed.
bool transient(Code code) {
  return code == Code::kUnavailable || code == Code::kTimeout || code == Code::kServerError ||
         code == Code::kMiss || code == Code::kBadResponse || code == Code::kIo;
}

int stop_after_timeout(LoadRun& run, const worker::WorkerAddress& addr, ProgressView& view,
                       const std::string& what) {
  view.end_line();
  Status s = run.client(/*fresh=*/true)->load_stop(addr, run.key());
  std::cerr << "alluxio-fuse: load " << run.key() << ": " << what << " after "
            << format_elapsed(run.elapsed()) << "; "
            << (s.ok() ? "stopped the job on " + addr.host + ":" + std::to_string(addr.port)
                       : "stop failed: " + s.to_string())
            << "\n";
  return 1;
}

int stop_job(LoadRun& run, const std::vector<worker::WorkerAddress>& candidates) {
  for (const worker::WorkerAddress& addr : candidates) {
    if (run.expired()) break;
    Status s = run.client()->load_stop(addr, run.key());
    if (s.ok()) {
      std::cout << "load " << run.key() << ": stopped on " << addr.host << ":" << addr.port << "\n";
      return 0;
    }
    if (s.code() != Code::kUnavailable) {
      std::cerr << "alluxio-fuse: load --stop " << run.key() << ": " << s.to_string() << "\n";
      return 1;
    }
    std::cerr << "alluxio-fuse: load --stop: " << s.to_string() << "; trying the next worker\n";
  }
  std::cerr << "alluxio-fuse: load --stop " << run.key() << ": no worker answered\n";
  return 1;
}

int submit_and_wait(LoadRun& run, const std::vector<worker::WorkerAddress>& candidates,
                    milliseconds poll_interval) {
  ProgressView view(::isatty(STDOUT_FILENO) == 1);
  std::optional<worker::WorkerAddress> owner;
  for (const worker::WorkerAddress& addr : candidates) {
    if (run.expired()) break;
    auto job = run.client()->load_submit(addr, run.key());
    if (job.ok()) {
      owner = addr;
      std::cout << "load " << run.key() << ": submitted to " << addr.host << ":" << addr.port
                << (job->empty() ? "" : " (job " + printable(*job, 80) + ")") << std::endl;
      break;
    }
    if (job.status().code() == Code::kTimeout) {
      // The worker may have created the job before the reply was lost: do not leave it behind.
      return stop_after_timeout(run, addr, view, "submit timed out");
    }
    if (job.status().code() != Code::kUnavailable) {
      std::cerr << "alluxio-fuse: load " << run.key() << ": submit to " << addr.host << ":"
                << addr.port << " failed: " << job.status().to_string() << "\n";
      return 1;
    }
    view.note(job.status().to_string() + "; trying the next worker");
  }
  if (!owner) {
    std::cerr << "alluxio-fuse: load " << run.key() << ": "
              << (run.expired() ? "timed out before any worker accepted the job"
                                : "no worker accepted the job")
              << "\n";
    return 1;
  }

  while (true) {
    if (run.expired()) return stop_after_timeout(run, *owner, view, "timed out");
    auto p = run.client()->load_progress(*owner, run.key());
    if (p.ok()) {
      view.update(*p, run.elapsed());
      switch (p->state) {
        case worker::LoadState::kSucceeded:
          view.end_line();
          std::cout << "load " << run.key() << ": SUCCEEDED in " << format_elapsed(run.elapsed())
                    << "\n";
          return 0;
        case worker::LoadState::kFailed:
        case worker::LoadState::kStopped:
          view.end_line();
          std::cerr << "alluxio-fuse: load " << run.key() << ": " << to_string(p->state)
                    << (p->message.empty() ? "" : ": " + printable(p->message)) << "\n";
          return 1;
        default:  // RUNNING, VERIFYING, or a state we do not know: keep polling (§3.14)
          break;
      }
    } else if (!transient(p.status().code())) {
      view.end_line();
      std::cerr << "alluxio-fuse: load " << run.key() << ": progress: " << p.status().to_string()
                << "\n";
      return 1;
    } else if (!run.expired()) {
      view.note("progress poll failed: " + p.status().to_string() + "; polling again");
    }
    if (run.expired()) continue;
    run.wait(poll_interval);
  }
}

}  // namespace

common::Result<std::string> resolve_cli_key(const config::Config& cfg, const std::string& arg) {
  if (arg.find("://") != std::string::npos) {
    auto key = common::normalize_root(arg);
    if (!key.ok()) return common::Status(common::Code::kInvalid, key.status().message());
    return std::move(key).value();
  }
  if (!arg.empty() && arg[0] == '/') {
    char resolved[PATH_MAX];
    if (::realpath(arg.c_str(), resolved) != nullptr) {
      const std::string real(resolved);
      if (auto mnt = mount_containing(real, "fuse." + cfg.mount.subtype)) {
        return common::join_key(cfg.ufs_root, real.substr(*mnt == "/" ? 0 : mnt->size()));
      }
    }
  }
  return common::join_key(cfg.ufs_root, arg);
}

int load_command(const LoadCommand& command) {
  quiet_cli_logging();
  std::optional<config::Config> cfg = load_config(command.config_path, {});
  if (!cfg) return 2;
  if (!cfg->is_cluster()) {
    std::cerr << "alluxio-fuse: load: standalone mode (no load_balance_domain, worker_hosts or "
                 "etcd.hosts): there is no cluster to load into\n";
    return 2;
  }
  auto timeout = config::parse_duration(command.timeout);
  auto interval = config::parse_duration(command.poll_interval);
  if (!timeout.ok() || timeout->count() < 0) {
    std::cerr << "alluxio-fuse: load: --timeout: expected a duration like \"1h\" or \"90s\", got \""
              << command.timeout << "\"\n";
    return 2;
  }
  if (!interval.ok() || std::chrono::duration_cast<milliseconds>(*interval) < kMinPollInterval) {
    std::cerr << "alluxio-fuse: load: --poll-interval: expected a duration of at least 10ms, got \""
              << command.poll_interval << "\"\n";
    return 2;
  }
  auto key = resolve_cli_key(*cfg, command.path);
  if (!key.ok()) {
    std::cerr << "alluxio-fuse: load: " << key.status().message() << "\n";
    return 2;
  }
  std::optional<SteadyClock::time_point> deadline;
  if (timeout->count() > 0) {
    deadline = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(*timeout);
  }
  LoadRun run(*cfg, *key, deadline);

  auto candidates = route_candidates(*cfg, *key);
  if (!candidates.ok()) {
    std::cerr << "alluxio-fuse: load " << *key << ": " << candidates.status().message() << "\n";
    return candidates.status().code() == Code::kInvalid ? 2 : 1;
  }
  if (cfg->mode == config::Mode::kServer) {
    // The domain may front many workers: ask it who owns the key and talk to that worker,
    // keeping the domain itself as the fallback.
    auto owner = run.client()->node(candidates->front(), *key);
    if (owner.ok() && !(*owner == candidates->front())) {
      candidates->insert(candidates->begin(), *owner);
    }
  }
  if (command.stop) return stop_job(run, *candidates);
  return submit_and_wait(run, *candidates, std::chrono::duration_cast<milliseconds>(*interval));
}

}  // namespace alluxio_fuse::app
