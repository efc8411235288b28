// `alluxio-fuse doctor`: one line per configured part, each with a verdict.
//
// Design note: every check goes through the same client code the daemon uses (WorkerClient,
// EtcdMembership, the UFS stores), so a line that says OK means the daemon's own call works,
// not merely that a port is open. Checks are independent and never stop early: the operator
// gets the whole picture in one run. FAIL is what makes a mount fail or misbehave (an
// unreachable worker, a missing UFS root, an unwritable cache directory, no /dev/fuse); WARN is
// what works but deserves a look (a worker that answers 404 for the root, too little free space
// for the configured capacity, a cache directory held by a running daemon). Every network
// check has a short deadline so a hanging part costs seconds, not minutes. Messages come from
// Status texts, which by contract never carry credentials; URLs go through redact_url.
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "alluxio_fuse/app/app.h"
#include "alluxio_fuse/cluster/etcd_membership.h"
#include "alluxio_fuse/common/build_info.h"
#include "alluxio_fuse/common/errno_text.h"
#include "alluxio_fuse/common/uri.h"
#include "alluxio_fuse/config/units.h"
#include "alluxio_fuse/http/client.h"
#include "alluxio_fuse/ufs/local_store.h"
#include "alluxio_fuse/ufs/s3_store.h"
#include "alluxio_fuse/worker/worker_client.h"
#include "cli_support.h"

namespace alluxio_fuse::app {
namespace {

using common::Code;
using std::chrono::milliseconds;
namespace stdfs = std::filesystem;

constexpr milliseconds kCheckTimeout{5000};  // per network check

enum class Verdict { kOk, kWarn, kFail };

const char* name_of(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "OK";
    case Verdict::kWarn:
      return "WARN";
    default:
      return "FAIL";
  }
}

// Collects the lines and prints them as one table.
class Report {
 public:
  void add(std::string check, Verdict verdict, std::string detail) {
    lines_.push_back({std::move(check), verdict, std::move(detail)});
  }

  // Prints the table and a summary; returns the exit code.
  int print() const {
    size_t width = 5;
    for (const Line& l : lines_) width = std::max(width, std::min<size_t>(l.check.size(), 40));
    auto pad = [](const std::string& s, size_t w) {
      return s.size() >= w ? s + " " : s + std::string(w - s.size() + 1, ' ');
    };
    std::cout << pad("CHECK", width) << pad("RESULT", 6) << "DETAIL\n";
    int counts[3] = {0, 0, 0};
    for (const Line& l : lines_) {
      ++counts[static_cast<int>(l.verdict)];
      std::cout << pad(l.check, width) << pad(name_of(l.verdict), 6) << l.detail << "\n";
    }
    std::cout << "\n"
              << counts[0] << " OK, " << counts[1] << " WARN, " << counts[2] << " FAIL: "
              << (counts[2] > 0   ? "problems found (see the FAIL lines)"
                  : counts[1] > 0 ? "usable, with warnings"
                                  : "everything configured answers")
              << "\n";
    return counts[2] > 0 ? 1 : 0;
  }

 private:
  struct Line {
    std::string check;
    Verdict verdict;
    std::string detail;
  };
  std::vector<Line> lines_;
};

using common::errno_text;

// An approximate size for people ("181.3GiB"); free space is never a round number.
std::string approx_size(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f%s" : "%.1f%s", v, units[u]);
  return buf;
}

milliseconds capped(common::Duration d) {
  return std::min(kCheckTimeout, std::chrono::duration_cast<milliseconds>(d));
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

// ---- Workers and membership.

void check_worker(const config::Config& cfg, worker::WorkerClient& client,
                  const worker::WorkerAddress& addr, Report& r) {
  const std::string name = "worker " + addr.host + ":" + std::to_string(addr.port);
  auto info = client.info(addr, cfg.ufs_root);
  if (info.ok()) {
    if (info->is_dir()) {
      r.add(name, Verdict::kOk, "GET /v1/info of ufs_root answered (a directory)");
    } else {
      r.add(name, Verdict::kWarn, "answers, but ufs_root is a file there, not a directory");
    }
    return;
  }
  const common::Status& s = info.status();
  switch (s.code()) {
    case Code::kMiss:
      r.add(name, Verdict::kOk,
            "answers like an open-source worker (no reply for an uncached path)");
      return;
    case Code::kNotFound:
      r.add(name, Verdict::kWarn,
            "answers, but ufs_root is not found through it (404): is the UFS mounted in the "
            "cluster under this URI and scheme?");
      return;
    case Code::kPermission:
    case Code::kInvalid:
    case Code::kPrecondition:
      r.add(name, Verdict::kWarn, "answers with an error for ufs_root: " + s.to_string());
      return;
    case Code::kUnavailable:
    case Code::kTimeout:
      r.add(name, Verdict::kFail,
            "unreachable (reads fail over to other workers or the UFS): " + s.to_string());
      return;
    default:
      r.add(name, Verdict::kFail, "bad answer: " + s.to_string());
  }
}

// The etcd endpoints one by one (so a dead one is named), then the membership they give.
std::vector<worker::WorkerAddress> check_etcd(const config::Config& cfg, http::Client& http,
                                              Report& r) {
  auto options_for = [&cfg](std::vector<std::string> hosts) {
    cluster::EtcdOptions o;
    o.hosts = std::move(hosts);
    o.default_port = cfg.etcd.port;
    o.prefix = cfg.etcd.prefix;
    o.username = cfg.etcd.username.value_or("");
    o.password = cfg.etcd.password.value_or("");
    o.refresh_interval = common::Duration::zero();
    o.timeout = std::min<common::Duration>(cfg.etcd.timeout, kCheckTimeout);
    o.virtual_nodes = static_cast<int>(cfg.options.virtual_nodes);
    return o;
  };
  std::vector<worker::WorkerAddress> workers;
  for (const config::EtcdEndpoint& e : cfg.etcd.hosts) {
    const std::string name = "etcd " + config::redact_url(e.url());
    auto m = cluster::EtcdMembership::create(options_for({e.url()}), http,
                                             common::SystemClock::instance());
    if (!m.ok()) {
      r.add(name, Verdict::kFail, m.status().to_string());
      continue;
    }
    if ((*m)->refresh_once() == cluster::RefreshResult::kError) {
      r.add(name, Verdict::kFail,
            "no membership from this endpoint (unreachable, refused login, or no workers "
            "under " +
                cfg.etcd.prefix + "; see the warning above)");
      continue;
    }
    auto snap = (*m)->snapshot();
    if (snap->workers().empty()) {
      r.add(name, Verdict::kFail, "no workers registered under " + cfg.etcd.prefix);
      continue;
    }
    r.add(name, Verdict::kOk,
          std::to_string(snap->workers().size()) + " workers under " + cfg.etcd.prefix);
    if (workers.empty()) {
      for (const cluster::Worker& w : snap->workers()) {
        workers.push_back({w.address.host, w.address.port});
      }
    }
  }
  return workers;
}

void check_cluster(const config::Config& cfg, Report& r) {
  http::ClientOptions ho;
  ho.user_agent = std::string("alluxio-fuse-doctor/") + common::build_version();
  if (cfg.routing.tls_ca_file) ho.ca_file = *cfg.routing.tls_ca_file;
  std::unique_ptr<http::Client> http = http::make_curl_client(ho, nullptr);
  worker::WorkerClientOptions wo;
  wo.page_size = cfg.options.page_size;
  wo.connect_timeout = capped(cfg.routing.connect_timeout);
  wo.metadata_timeout = capped(cfg.routing.metadata_timeout);
  wo.api = to_worker_api(cfg.routing.worker_api);
  wo.tls = cfg.routing.tls;
  worker::WorkerClient client(*http, wo);

  std::vector<worker::WorkerAddress> workers;
  if (cfg.mode == config::Mode::kRingStatic) {
    for (const config::HostPort& h : cfg.worker_hosts) {
      workers.push_back({h.host, h.port != 0 ? h.port : cfg.worker_http_port});
    }
  } else if (cfg.mode == config::Mode::kRingEtcd) {
    workers = check_etcd(cfg, *http, r);
    if (workers.empty()) r.add("membership", Verdict::kFail, "no workers to route to");
  } else {
    worker::WorkerAddress domain{*cfg.load_balance_domain, cfg.worker_http_port};
    auto owner = client.node(domain, cfg.ufs_root);
    const std::string name = "domain " + domain.host + ":" + std::to_string(domain.port);
    if (owner.ok()) {
      r.add(name, Verdict::kOk,
            "GET /v1/node names " + owner->host + ":" + std::to_string(owner->port) +
                " for ufs_root");
      workers.push_back(*owner);
    } else {
      r.add(name, Verdict::kFail, "GET /v1/node failed: " + owner.status().to_string());
    }
  }
  for (const worker::WorkerAddress& w : workers) check_worker(cfg, client, w, r);
}

// ---- The UFS root, through the store the daemon would use.

void check_ufs(const config::Config& cfg, Report& r) {
  const std::string name = "ufs " + config::redact_url(cfg.ufs_root);
  const std::string_view scheme = common::uri_scheme(cfg.ufs_root);
  const bool needed = !cfg.is_cluster() || cfg.fallback.enabled;
  std::unique_ptr<http::Client> http;
  std::unique_ptr<store::Store> ufs;
  if (scheme == "file") {
    ufs = std::make_unique<ufs::LocalStore>(cfg.ufs_root);
  } else if (scheme == "s3" || scheme == "s3a") {
    if (!needed) {
      r.add(name, Verdict::kOk, "not checked: fallback.enabled is false (workers only)");
      return;
    }
    http = http::make_curl_client(ufs::s3_client_options(cfg), nullptr);
    auto s3 = ufs::make_s3_store(cfg, *http);
    if (!s3.ok()) {
      r.add(
          name, cfg.is_cluster() ? Verdict::kWarn : Verdict::kFail,
          std::string(cfg.is_cluster() ? "UFS fallback disabled: " : "") + s3.status().to_string());
      return;
    }
    ufs = std::move(*s3);
  } else {
    r.add(name, cfg.is_cluster() ? Verdict::kOk : Verdict::kFail,
          "no UFS client for scheme \"" + std::string(scheme) + "\"" +
              (cfg.is_cluster() ? ": served by the workers only, no fallback" : ""));
    return;
  }
  auto st = ufs->stat(cfg.ufs_root);
  if (!st.ok()) {
    std::string hint;
    if (st.status().code() == Code::kPermission) hint = " (reads through the mount get EACCES)";
    if (st.status().code() == Code::kNotFound) hint = " (the mount would fail to start)";
    r.add(name, needed ? Verdict::kFail : Verdict::kWarn, st.status().to_string() + hint);
    return;
  }
  if (!st->is_dir()) {
    r.add(name, Verdict::kFail, "ufs_root is a file, not a directory");
    return;
  }
  if (scheme == "file" && !cfg.mount.ro) {
    auto local = common::local_path_for_key(cfg.ufs_root, cfg.ufs_root);
    if (local.ok() && ::access(local->c_str(), W_OK | X_OK) != 0) {
      r.add(name, Verdict::kWarn,
            "a readable directory, but not writable by uid " + std::to_string(::getuid()) +
                ": writes through the mount will fail (or set mount.ro: true)");
      return;
    }
  }
  r.add(name, Verdict::kOk, "stat answered: a directory");
}

// ---- Local directories: page cache and write staging.

uint64_t bytes_under(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  size_t seen = 0;
  for (auto it = stdfs::recursive_directory_iterator(dir, ec);
       !ec && it != stdfs::recursive_directory_iterator() && seen < 2'000'000;
       it.increment(ec), ++seen) {
    std::error_code fec;
    if (it->is_regular_file(fec)) total += it->file_size(fec);
  }
  return total;
}

// The directory, or its nearest existing ancestor when it does not exist yet.
std::string existing_ancestor(std::string path) {
  struct stat st {};
  while (!path.empty() && ::stat(path.c_str(), &st) != 0) {
    const size_t slash = path.rfind('/');
    path = slash == 0 ? "/" : (slash == std::string::npos ? "" : path.substr(0, slash));
  }
  return path.empty() ? "." : path;
}

void check_dir(const std::string& label, const std::string& dir, uint64_t capacity, bool has_lock,
               Report& r) {
  const std::string& name = label;
  struct stat st {};
  const bool exists = ::stat(dir.c_str(), &st) == 0;
  const std::string base = exists ? dir : existing_ancestor(dir);
  if (exists && !S_ISDIR(st.st_mode)) {
    r.add(name, Verdict::kFail, dir + " exists and is not a directory");
    return;
  }
  if (::access(base.c_str(), R_OK | W_OK | X_OK) != 0) {
    r.add(name, Verdict::kFail,
          (exists ? dir + " is not writable"
                  : dir + " cannot be created: " + base + " is not writable") +
              " by uid " + std::to_string(::getuid()) + " (" + errno_text(errno) + ")");
    return;
  }
  struct statvfs vfs {};
  if (::statvfs(base.c_str(), &vfs) != 0) {
    r.add(name, Verdict::kWarn, dir + ": statvfs: " + errno_text(errno));
    return;
  }
  const uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  const uint64_t used = exists ? bytes_under(dir) : 0;
  std::string detail = dir + (exists ? "" : " (created at start)") + ": capacity " +
                       config::format_size(capacity) + ", " + approx_size(free_bytes) + " free";
  if (has_lock && exists) {
    const std::string lock = dir + "/.lock";
    int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      // Shared and non-blocking: never waits, and only fails while a daemon holds it.
      const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
      ::close(fd);
      if (held) {
        r.add(name, Verdict::kWarn,
              detail +
                  "; in use by a running alluxio-fuse (another mount with this directory "
                  "fails with \"is in use by another alluxio-fuse\")");
        return;
      }
    }
  }
  if (free_bytes + used < capacity) {
    r.add(name, Verdict::kWarn,
          detail +
              ": less than the capacity is available (expect ENOSPC for writes, or a "
              "smaller cache than configured)");
    return;
  }
  r.add(name, Verdict::kOk, detail);
}

// ---- FUSE, metrics port, mount point.

std::optional<std::string> mount_type_at(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::optional<std::string> type;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || dash + 1 == f.end()) continue;
    if (unescape_mountinfo(f[4]) == path) type = *(dash + 1);  // the last mount wins
  }
  return type;
}

bool in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string candidate = p.substr(start, end - start) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

void check_fuse(const config::Config& cfg, Report& r) {
  struct stat st {};
  if (::stat("/dev/fuse", &st) != 0 || !S_ISCHR(st.st_mode)) {
    r.add("/dev/fuse", Verdict::kFail,
          "missing: load the fuse module (modprobe fuse), or give the container /dev/fuse");
  } else if (::access("/dev/fuse", R_OK | W_OK) != 0) {
    r.add("/dev/fuse", Verdict::kFail,
          std::string("not usable: ") + errno_text(errno) +
              " (containers need the device and CAP_SYS_ADMIN, or privileged)");
  } else {
    r.add("/dev/fuse", Verdict::kOk, "readable and writable");
  }
  const bool root = ::geteuid() == 0;
  if (!in_path("fusermount3")) {
    r.add("fusermount3", root ? Verdict::kWarn : Verdict::kFail,
          std::string("not in PATH (package fuse3)") +
              (root ? ": unmount falls back to umount(2)" : ": needed to mount without root"));
  } else {
    r.add("fusermount3", Verdict::kOk, "in PATH");
  }
  if (cfg.mount.allow_other && !root) {
    std::ifstream conf("/etc/fuse.conf");
    std::string line;
    bool allowed = false;
    while (std::getline(conf, line)) {
      const size_t at = line.find_first_not_of(" \t");
      if (at != std::string::npos && line.compare(at, 16, "user_allow_other") == 0) allowed = true;
    }
    r.add("mount.allow_other", allowed ? Verdict::kOk : Verdict::kFail,
          allowed ? "user_allow_other is set in /etc/fuse.conf"
                  : "needs user_allow_other in /etc/fuse.conf when not running as root");
  }
  if (cfg.mount.io_uring) {
    // The kernel only offers FUSE over io_uring when the fuse module's switch is on; without
    // it the daemon serves through /dev/fuse (slower small reads, nothing else changes).
    const char* param = "/sys/module/fuse/parameters/enable_uring";
    std::ifstream in(param);
    std::string value;
    if (!(in >> value)) {
      r.add("mount.io_uring", Verdict::kWarn,
            std::string("this kernel has no FUSE over io_uring (") + param +
                " missing; Linux >= 6.14): requests go through /dev/fuse");
    } else if (value == "Y") {
      r.add("mount.io_uring", Verdict::kOk, std::string(param) + " is Y: per-CPU ring queues");
    } else {
      r.add("mount.io_uring", Verdict::kWarn,
            std::string(param) + " is " + value + ": requests go through /dev/fuse; turn it on " +
                "with `echo Y > " + param + "` (or `options fuse enable_uring=1` in " +
                "/etc/modprobe.d/) before mounting");
    }
  }
}

void check_metrics(const config::Config& cfg, Report& r) {
  const std::string name = "metrics " + cfg.metrics.listen.to_string();
  if (!cfg.metrics.enabled) {
    r.add("metrics", Verdict::kOk, "disabled (metrics.enabled: false)");
    return;
  }
  if (cfg.metrics.listen.port == 0) {
    r.add(name, Verdict::kOk, "ephemeral port");
    return;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(cfg.metrics.listen.port);
  if (::getaddrinfo(cfg.metrics.listen.host.c_str(), port.c_str(), &hints, &res) != 0 || !res) {
    r.add(name, Verdict::kFail, "metrics.listen: cannot resolve " + cfg.metrics.listen.host);
    return;
  }
  int fd = ::socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
  int one = 1;
  int err = 0;
  if (fd < 0) {
    err = errno;
  } else {
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // as the server does
    if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0) err = errno;
    ::close(fd);
  }
  ::freeaddrinfo(res);
  if (err == 0) {
    r.add(name, Verdict::kOk, "free to listen on");
    return;
  }
  if (err != EADDRINUSE) {
    r.add(name, Verdict::kFail, "cannot listen: " + errno_text(err));
    return;
  }
  // Taken: by a running alluxio-fuse (which answers /healthz) or by something else.
  http::ClientOptions ho;
  std::unique_ptr<http::Client> http = http::make_curl_client(ho, nullptr);
  http::Request req;
  const std::string host = cfg.metrics.listen.host == "0.0.0.0" ? "127.0.0.1"
                           : cfg.metrics.listen.host == "::"    ? "::1"
                                                                : cfg.metrics.listen.host;
  const bool v6 = host.find(':') != std::string::npos;
  req.url = "http://" + (v6 ? "[" + host + "]" : host) + ":" + port + "/healthz";
  req.connect_timeout = milliseconds(1000);
  req.total_timeout = milliseconds(2000);
  http::Response resp = http->perform(req);
  if (resp.status == 200 || resp.status == 503) {
    r.add(name, Verdict::kWarn,
          "in use by a running alluxio-fuse (/healthz answered " + std::to_string(resp.status) +
              "); another daemon on this port exits 1 (\"cannot listen\")");
  } else {
    r.add(name, Verdict::kFail,
          "in use by another program: the daemon would exit 1 (change metrics.listen)");
  }
}

void check_mountpoint(const config::Config& cfg, const std::string& mp, Report& r) {
  const std::string name = "mount point " + mp;
  struct statfs sfs {};
  if (::statfs(mp.c_str(), &sfs) != 0) {
    if (errno == ENOTCONN || errno == ECONNABORTED) {
      r.add(name, Verdict::kFail,
            "stale FUSE mount (its daemon is gone): alluxio-fuse unmount --lazy " + mp +
                ", or restart the service (ExecStartPre clears it)");
    } else {
      r.add(name, Verdict::kFail, std::string("cannot be used: ") + errno_text(errno));
    }
    return;
  }
  struct stat st {};
  if (::stat(mp.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    r.add(name, Verdict::kFail, "not a directory");
    return;
  }
  if (auto type = mount_type_at(mp)) {
    if (*type == "fuse." + cfg.mount.subtype) {
      r.add(name, Verdict::kOk, "mounted (" + *type + ") and answering");
    } else {
      r.add(name, Verdict::kFail, "busy: a " + *type + " file system is mounted there");
    }
    return;
  }
  std::error_code ec;
  if (!stdfs::is_empty(mp, ec) && !ec) {
    r.add(name, Verdict::kWarn, "not mounted; not empty (the mount will hide its contents)");
    return;
  }
  r.add(name, Verdict::kOk, "not mounted; an empty directory, ready to mount");
}

}  // namespace

int doctor_command(const DoctorCommand& command) {
  quiet_cli_logging();
  std::optional<config::Config> loaded = load_config(command.config_path, {});
  if (!loaded) return 2;
  config::Config cfg = std::move(*loaded);
  Report r;
  r.add("config", Verdict::kOk, command.config_path + ": " + config::describe_mode(cfg));

  std::optional<std::string> mp;
  if (command.mountpoint) {
    std::error_code ec;
    stdfs::path abs = stdfs::absolute(*command.mountpoint, ec);
    mp = (ec ? stdfs::path(*command.mountpoint) : abs.lexically_normal()).string();
    while (mp->size() > 1 && mp->back() == '/') mp->pop_back();
  }
  const bool cache_dir_given = !cfg.page_cache.dir.empty();
  const bool staging_dir_given = !cfg.write.staging_dir.empty();
  // The per-mount default directories are named after the mount point.
  config::resolve_paths(cfg, mp.value_or("/"));

  if (cfg.is_cluster()) check_cluster(cfg, r);
  check_ufs(cfg, r);
  if (!cfg.page_cache.enabled) {
    r.add("page_cache", Verdict::kOk, "disabled");
  } else if (!cache_dir_given && !mp) {
    check_dir("page_cache.dir", "/var/cache/alluxio-fuse", cfg.page_cache.capacity, false, r);
  } else {
    check_dir("page_cache.dir", cfg.page_cache.dir, cfg.page_cache.capacity, true, r);
  }
  if (!staging_dir_given && !mp) {
    check_dir("write.staging_dir", "/var/lib/alluxio-fuse", cfg.write.staging_capacity, false, r);
  } else {
    check_dir("write.staging_dir", cfg.write.staging_dir, cfg.write.staging_capacity, false, r);
  }
  check_fuse(cfg, r);
  check_metrics(cfg, r);
  if (mp) check_mountpoint(cfg, *mp, r);
  return r.print();
}

}  // namespace alluxio_fuse::app
