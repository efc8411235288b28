#pragma once
// The composition root: each CLI command is one function here that builds what it needs from
// the configuration and tears it down in reverse. main.cc only parses arguments.
// Every function returns the process exit code: 0 success, 1 runtime failure, 2 usage or
// configuration error (config.md §4).

#include <optional>
#include <string>
#include <vector>

namespace alluxio_fuse::app {

struct MountCommand {
  std::string mountpoint;
  std::string config_path;  // may be empty when -o config=<file> names it
  bool foreground = false;
  std::vector<std::string> options;  // -o items (each may be a comma-separated list)
  std::optional<std::string> log_level;
};

int mount_command(const MountCommand& command);
int check_config_command(const std::string& config_path, const std::vector<std::string>& options);
// `stale_only`: unmount only a dead FUSE mount (ENOTCONN), exit 0 otherwise.
int unmount_command(const std::string& mountpoint, bool lazy, bool stale_only = false);

struct RouteCommand {
  std::string config_path;
  std::optional<unsigned> count;
  bool raw = false;
  bool json = false;
  std::vector<std::string> args;
};
int route_command(const RouteCommand& command);

// `alluxio-fuse load` (config.md §4, worker-rest.md §3.14): submit a distributed load of a path
// to the worker owning its key, then poll until a final state. Exit 0 on SUCCEEDED; 1 on
// FAILED, STOPPED, an unreachable cluster or the timeout (the job is stopped then); 2 for bad
// arguments, a bad configuration or standalone mode. With `stop`: stop the path's job instead.
struct LoadCommand {
  std::string config_path;
  std::string path;                   // a path under the mount (root), or a full key
  std::string timeout = "1h";         // duration; "0" waits for ever
  std::string poll_interval = "10s";  // hidden option; tests shorten it
  bool stop = false;
};
int load_command(const LoadCommand& command);

// `alluxio-fuse doctor`: checks every configured part (workers, etcd, UFS root, cache and
// staging directories, /dev/fuse, metrics port, the mount point when given) and prints one
// verdict per line. Exit 0 when nothing FAILs (WARN lines pass), 1 otherwise, 2 for a bad
// configuration.
struct DoctorCommand {
  std::string config_path;
  std::optional<std::string> mountpoint;
};
int doctor_command(const DoctorCommand& command);

std::string version_string();

}  // namespace alluxio_fuse::app
