#pragma once
// Reads the standard process_* values from /proc (private to the metrics module).
// Thread-safety: pure functions over procfs; safe from any thread.

namespace alluxio_fuse::metrics {

// Negative fields could not be read (not Linux, or procfs unavailable).
struct ProcessStats {
  double resident_bytes = -1;
  double virtual_bytes = -1;
  double open_fds = -1;
  double cpu_seconds = -1;
  double start_time_seconds = -1;  // since the Unix epoch
};

// System boot time (btime of /proc/stat) in seconds since the epoch; -1 when unknown.
double read_boot_time_seconds();

// `boot_time_seconds` from read_boot_time_seconds(), to turn the start tick into epoch time.
ProcessStats read_process_stats(double boot_time_seconds);

}  // namespace alluxio_fuse::metrics
