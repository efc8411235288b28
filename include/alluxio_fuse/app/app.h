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

std::string version_string();

}  // namespace alluxio_fuse::app
