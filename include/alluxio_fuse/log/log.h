#pragma once
// Logging set-up from the `logger` section (config.md §2.4). The rest of the code logs through
// spdlog's default logger directly (spdlog::info(...)); this header deliberately exposes no
// spdlog type, so only the log module depends on spdlog's headers at build time.
//
// Thread-safety: call setup_logging once at start-up, before other threads log; spdlog's
// default logger is itself thread-safe.

#include <optional>
#include <string>

#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/config/config.h"

namespace alluxio_fuse::log {

// File name inside logger.path, and its rotation (100 MiB, 5 files kept).
inline constexpr const char* kLogFileName = "alluxio-fuse.log";
inline constexpr size_t kRotateBytes = size_t{100} * 1024 * 1024;
inline constexpr size_t kRotateFiles = 5;

// Installs the default logger: stderr when `logger.path` is unset, else a rotating file
// `<path>/alluxio-fuse.log` (the directory is created when missing). `level_override` (a
// command-line --log-level, already validated or not) wins over `config.level`; it takes the
// same names and Python numbers. Lines carry a timestamp, the level and the thread id.
// Fails with kInvalid for a bad override and kIo when the file cannot be opened; the previous
// logger stays in place then.
// `daemon`: the process has detached from its terminal, so without `logger.path` the lines go
// to syslog (journald) instead of a stderr nobody reads.
common::Status setup_logging(const config::LoggerConfig& config,
                             std::optional<std::string> level_override, bool daemon = false);

}  // namespace alluxio_fuse::log
