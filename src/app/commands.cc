// The CLI commands. `mount` forks before any thread exists; the child builds and mounts, then
// reports success or a one-line error through a pipe, so the parent's exit status tells the
// truth (0 only once the mount answers). Signals are taken by one thread with sigwait, which
// runs the graceful stop (refuse new opens, wait for open files and operations in flight up to
// mount.shutdown_timeout, unmount; a second signal forces); libfuse's worker threads never run
// signal handlers.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#ifdef ALLUXIO_FUSE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "alluxio_fuse/app/app.h"
#include "alluxio_fuse/common/build_info.h"
#include "alluxio_fuse/common/errno_text.h"
#include "alluxio_fuse/common/thread_name.h"
#include "alluxio_fuse/config/config.h"
#include "alluxio_fuse/log/log.h"
#include "alluxio_fuse/router/backend.h"
#include "cli_support.h"
#include "daemon.h"
#include "mountpoint.h"

namespace alluxio_fuse::app {

std::optional<config::Config> load_config(const std::string& path_in,
                                          const std::vector<std::string>& options,
                                          std::vector<std::string>* warnings) {
  std::string path = path_in;
  if (auto from_opts = config::find_config_option(options)) {
    if (path.empty()) path = *from_opts;
  }
  if (path.empty()) {
    std::cerr << "alluxio-fuse: no configuration file: use --config FILE or -o config=FILE\n";
    return std::nullopt;
  }
  config::LoadResult loaded = config::load_config_file(path, config::process_environment());
  for (const auto& w : loaded.warnings) std::cerr << "alluxio-fuse: warning: " << w << "\n";
  if (!loaded.errors.empty()) {
    for (const auto& e : loaded.errors) std::cerr << "alluxio-fuse: " << e << "\n";
    return std::nullopt;
  }
  config::Config cfg = std::move(*loaded.config);
  std::vector<std::string> errors = config::apply_mount_options(cfg, options);
  if (!errors.empty()) {
    for (const auto& e : errors) std::cerr << "alluxio-fuse: -o: " << e << "\n";
    return std::nullopt;
  }
  for (const auto& w : config::mount_security_warnings(cfg)) {
    std::cerr << "alluxio-fuse: warning: " << w << "\n";
    loaded.warnings.push_back(w);
  }
  for (const auto& k : loaded.env_keys_used) spdlog::info("from the environment: {}", k);
  if (warnings != nullptr) *warnings = std::move(loaded.warnings);
  return cfg;
}

void quiet_cli_logging() {
  config::LoggerConfig quiet;
  quiet.level = config::LogLevel::kWarning;
  // Cannot fail without a path or an override; a failure would leave spdlog's default anyway.
  log::setup_logging(quiet, std::nullopt).ignore();
}

namespace {

// Child → parent start-up report: one line "<exit code> <message>".
void report(int fd, int code, const std::string& message) {
  if (fd < 0) return;
  std::string line = std::to_string(code) + " " + message + "\n";
  ssize_t ignored = ::write(fd, line.data(), line.size());
  (void)ignored;
  ::close(fd);
}

int wait_for_child(int fd) {
  std::string buf;
  char chunk[512];
  ssize_t n;
  while ((n = ::read(fd, chunk, sizeof(chunk))) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    buf.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  if (buf.empty()) {
    std::cerr << "alluxio-fuse: the daemon exited during start-up\n";
    return 1;
  }
  int code = std::atoi(buf.c_str());
  auto space = buf.find(' ');
  std::string message = space == std::string::npos ? "" : buf.substr(space + 1);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  if (code != 0) std::cerr << "alluxio-fuse: " << message << "\n";
  return code;
}

// sd_notify(3) when started by systemd with Type=notify (NOTIFY_SOCKET set); a no-op otherwise.
void notify_systemd(const std::string& state) {
#ifdef ALLUXIO_FUSE_HAVE_SYSTEMD
  sd_notify(0, state.c_str());
#else
  (void)state;
#endif
}

void detach_stdio() {
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return;
  ::dup2(null, STDIN_FILENO);
  ::dup2(null, STDOUT_FILENO);
  ::dup2(null, STDERR_FILENO);
  if (null > STDERR_FILENO) ::close(null);
}

// The graceful stop after the first stop signal: new opens fail, open files and operations in
// flight get up to mount.shutdown_timeout to finish, then the caller unmounts. Returns true
// when a second signal asked to force the stop.
bool drain_before_unmount(Daemon& daemon, const sigset_t& signals, int first_signal,
                          const std::atomic<bool>& served_done) {
  notify_systemd("STOPPING=1\nSTATUS=stopping");
  daemon.begin_stop();
  const auto timeout = daemon.shutdown_timeout();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  spdlog::info(
      "signal {} received: stopping (new opens refused; waiting up to {:.0f}s for {} open "
      "files and {} operations in flight; a second signal forces)",
      first_signal, std::chrono::duration<double>(timeout).count(), daemon.open_files(),
      daemon.ops_in_flight());
  spdlog::default_logger()->flush();  // operators and tests watch for this line
  const struct timespec tick = {0, 50L * 1000 * 1000};
  while (!served_done.load()) {
    if (daemon.idle()) return false;
    if (std::chrono::steady_clock::now() >= deadline) {
      spdlog::warn(
          "mount.shutdown_timeout passed with {} files open and {} operations in flight; "
          "unmounting anyway (their next calls fail with ENOTCONN)",
          daemon.open_files(), daemon.ops_in_flight());
      return false;
    }
    int again = sigtimedwait(&signals, nullptr, &tick);
    if (again > 0) {
      spdlog::warn("signal {} received again: forcing the stop ({} files open)", again,
                   daemon.open_files());
      return true;
    }
  }
  return false;
}

}  // namespace

int mount_command(const MountCommand& command) {
  std::vector<std::string> config_warnings;
  std::optional<config::Config> cfg =
      load_config(command.config_path, command.options, &config_warnings);
  if (!cfg) return 2;
  if (::access("/dev/fuse", R_OK | W_OK) != 0) {
    std::cerr << "alluxio-fuse: /dev/fuse is not usable: " << common::errno_text(errno)
              << " (load the fuse module, or give the container /dev/fuse)\n";
    return 1;
  }
  auto mountpoint = prepare_mountpoint(command.mountpoint);
  if (!mountpoint.ok()) {
    std::cerr << "alluxio-fuse: " << mountpoint.status().message() << "\n";
    return 1;
  }
  config::resolve_paths(*cfg, *mountpoint);

  int report_fd = -1;
  if (!command.foreground) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      std::cerr << "alluxio-fuse: pipe: " << common::errno_text(errno) << "\n";
      return 1;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
      std::cerr << "alluxio-fuse: fork: " << common::errno_text(errno) << "\n";
      return 1;
    }
    if (pid > 0) {
      ::close(fds[1]);
      return wait_for_child(fds[0]);
    }
    ::close(fds[0]);
    report_fd = fds[1];
    ::setsid();
    if (::chdir("/") != 0) {
      // Not fatal: the daemon uses absolute paths only.
    }
  }

  // Block the stop signals before any thread exists so only the waiter thread sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  common::Status logging = log::setup_logging(cfg->logger, command.log_level, !command.foreground);
  if (!logging.ok()) {
    std::string msg = "logger: " + logging.message();
    if (report_fd >= 0) {
      report(report_fd, 2, msg);
    } else {
      std::cerr << "alluxio-fuse: " << msg << "\n";
    }
    return 2;
  }

  // Said again in the daemon's log: stderr is gone once it detaches, and these are the
  // warnings an operator must not miss (secrets readable by others, allow_other without
  // default_permissions).
  for (const auto& w : config_warnings) spdlog::warn("configuration: {}", w);

  auto daemon = std::make_unique<Daemon>(std::move(*cfg), *mountpoint);
  int code = 1;
  common::Status started = daemon->start(&code);
  if (!started.ok()) {
    spdlog::error("start-up failed: {}", started.message());
    if (report_fd >= 0) {
      report(report_fd, code, started.message());
    } else {
      std::cerr << "alluxio-fuse: " << started.message() << "\n";
    }
    return code;
  }
  // Readiness: the mount answers once the loop has handled the kernel's INIT, so a probe from
  // another thread (statfs always reaches the daemon) decides when to tell the parent and
  // systemd. Until then nothing reports success.
  std::thread ready_thread = common::named_thread("af-ready", [report_fd, mp = *mountpoint,
                                                               &daemon]() mutable {
    bool ok = false;
    for (int i = 0; i < 200 && !ok; ++i) {
      struct statfs sfs {};
      ok = ::statfs(mp.c_str(), &sfs) == 0;
      if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (report_fd >= 0) {
      // A daemon holds none of its parent's terminal or pipes (logs went to a file or syslog).
      if (ok) detach_stdio();
      report(report_fd, ok ? 0 : 1, ok ? "mounted" : "the mount did not answer within 10s");
    }
    if (ok) {
      spdlog::info("mount {} is answering", mp);
      common::Status ra = set_kernel_readahead(mp, daemon->kernel_readahead());
      if (ra.ok()) {
        spdlog::info("kernel readahead of {} set to {} KiB", mp, daemon->kernel_readahead() / 1024);
      } else {
        spdlog::info("kernel readahead left at the default: {}", ra.message());
      }
      notify_systemd("READY=1\nSTATUS=serving " + mp);
    } else {
      spdlog::error("mount {} did not answer within 10s; stopping", mp);
      daemon->request_stop();
    }
  });

  std::atomic<bool> served_done{false};
  std::thread signal_thread = common::named_thread("af-signal", [&daemon, &served_done,
                                                                 stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (served_done.load()) return;  // our own wake-up after serve() returned
    // A broken mount (Daemon::failed) sent this signal itself: no graceful wait, since the
    // requests stranded on it end only when the connection does.
    const bool failed = daemon->failed();
    bool forced = false;
    if (failed) {
      notify_systemd("STOPPING=1\nSTATUS=failed: the mount can no longer answer requests");
      daemon->begin_stop();
    } else {
      forced = drain_before_unmount(*daemon, stop_signals, sig, served_done);
    }
    daemon->request_stop();
    // A file still open on the mount keeps the FUSE connection (and our loop) alive after the
    // unmount. Give it a moment, then commit staged data and exit: closing /dev/fuse aborts
    // the connection, so the process never hangs on a busy mount.
    for (int i = 0; i < 50 && !forced && !served_done.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (served_done.load()) return;
    spdlog::warn("the mount is still in use after unmount; committing staged files and exiting");
    bool ok = daemon->commit_staged();
    spdlog::shutdown();
    ::_exit(ok && !forced && !failed ? 0 : 1);
  });
  common::Status served = daemon->serve();
  served_done = true;
  ready_thread.join();
  notify_systemd("STOPPING=1");
  // The loop may have ended without a signal (external unmount): stop, then wake the waiter.
  daemon->request_stop();
  // SIGTERM is blocked in every thread (sigwait above takes it): this wakes that thread, no
  // default action runs. NOLINTNEXTLINE(bugprone-bad-signal-to-kill-thread)
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  const bool committed = daemon->commit_staged();
  const bool failed = daemon->failed();
  daemon.reset();
  spdlog::info("alluxio-fuse exiting");
  spdlog::shutdown();
  return served.ok() && committed && !failed ? 0 : 1;
}

int check_config_command(const std::string& config_path, const std::vector<std::string>& options) {
  std::optional<config::Config> cfg = load_config(config_path, options);
  if (!cfg) return 2;
  std::cout << config::render_effective(*cfg);
  return 0;
}

int unmount_command(const std::string& mountpoint, bool lazy, bool stale_only) {
  if (stale_only) {
    // For ExecStartPre: clear a dead mount, leave a live one (or no mount) alone.
    struct statfs sfs {};
    if (::statfs(mountpoint.c_str(), &sfs) == 0 || (errno != ENOTCONN && errno != ECONNABORTED)) {
      return 0;
    }
    lazy = true;
  }
  common::Status s = unmount_path(mountpoint, lazy);
  if (!s.ok()) {
    std::cerr << "alluxio-fuse: " << s.message() << "\n";
    return 1;
  }
  return 0;
}

int route_command(const RouteCommand& command) {
  // Quiet: route prints only its answer on stdout; problems go to stderr.
  quiet_cli_logging();
  std::optional<config::Config> cfg = load_config(command.config_path, {});
  if (!cfg) return 2;
  // Paths inside a live mount are translated through it, like `load` does.
  std::vector<std::string> keys = command.args;
  if (!command.raw) {
    for (std::string& arg : keys) {
      auto key = resolve_cli_key(*cfg, arg);
      if (!key.ok()) {
        std::cerr << "alluxio-fuse: route: " << key.status().message() << "\n";
        return 2;
      }
      arg = std::move(key).value();
    }
  }
  auto out = router::route_output(*cfg, keys, command.count, /*raw=*/true, command.json);
  if (!out.ok()) {
    std::cerr << "alluxio-fuse: route: " << out.status().message() << "\n";
    return out.status().code() == common::Code::kInvalid ? 2 : 1;
  }
  std::cout << *out << "\n";
  return 0;
}

std::string version_string() {
  return std::string("alluxio-fuse ") + common::build_version() + " (" + common::build_revision() +
         ")";
}

}  // namespace alluxio_fuse::app
