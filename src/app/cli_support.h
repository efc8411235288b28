#pragma once
// Helpers shared by the one-shot CLI commands (check-config, route, load, doctor): loading the
// configuration with its errors printed, and quiet logging to stderr so stdout carries only
// the command's answer.
// Thread-safety: call from the main thread before other threads start.

#include <optional>
#include <string>
#include <vector>

#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/config/config.h"

namespace alluxio_fuse::app {

// Loads `path` (or the `config=` among `options`) with the -o options applied. Prints every
// error and warning to stderr and returns nullopt on error (the caller exits 2). The warnings,
// with those about the effective mount options, are also stored in `*warnings` when given, so
// a daemon can repeat them in its log once logging is set up.
std::optional<config::Config> load_config(const std::string& path,
                                          const std::vector<std::string>& options,
                                          std::vector<std::string>* warnings = nullptr);

// Decodes the octal escapes (\040 for a space) of a /proc/self/mountinfo field.
std::string unescape_mountinfo(const std::string& field);

// The key a command-line argument names (config.md §4 "a path under a mount point or a full
// key"): a full key (`scheme://…`, normalised), an absolute path inside a live alluxio-fuse
// mount (translated through that mount), or else a path under `ufs_root`. kInvalid for a
// malformed key.
common::Result<std::string> resolve_cli_key(const config::Config& cfg, const std::string& arg);

// Logs WARNING and above to stderr (library warnings stay visible, progress stays clean).
void quiet_cli_logging();

}  // namespace alluxio_fuse::app
