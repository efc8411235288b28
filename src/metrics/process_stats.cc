// Design note: the same sources the Prometheus Go client uses (procfs): /proc/self/stat for CPU
// ticks, start tick, vsize and rss; /proc/self/fd for the descriptor count; /proc/stat btime
// for the boot time. procfs is served from memory, so reading it at scrape time does not
// touch a disk. The comm field may contain spaces and ')' so fields are counted from the last
// ')'.

#include "process_stats.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace alluxio_fuse::metrics {

double read_boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("btime ", 0) == 0) {
      try {
        return std::stod(line.substr(6));
      } catch (...) {
        return -1;
      }
    }
  }
  return -1;
}

ProcessStats read_process_stats(double boot_time_seconds) {
  ProcessStats stats;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));

  std::ifstream in("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = content.rfind(')');
  if (close != std::string::npos && ticks > 0 && page > 0) {
    // Fields after "pid (comm)": state is field 3; utime 14, stime 15, starttime 22, vsize 23,
    // rss 24 (1-based, as in proc(5)).
    std::istringstream rest(content.substr(close + 1));
    std::vector<std::string> fields;
    std::string f;
    while (rest >> f) fields.push_back(f);
    auto field = [&](size_t n) -> double {
      size_t i = n - 3;  // fields[0] is field 3
      if (i >= fields.size()) return -1;
      try {
        return std::stod(fields[i]);
      } catch (...) {
        return -1;
      }
    };
    double utime = field(14), stime = field(15), start = field(22);
    double vsize = field(23), rss = field(24);
    if (utime >= 0 && stime >= 0) stats.cpu_seconds = (utime + stime) / ticks;
    if (start >= 0 && boot_time_seconds >= 0) {
      stats.start_time_seconds = boot_time_seconds + start / ticks;
    }
    if (vsize >= 0) stats.virtual_bytes = vsize;
    if (rss >= 0) stats.resident_bytes = rss * page;
  }

  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/self/fd", ec);
  if (!ec) {
    int count = 0;
    for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
      if (ec) break;
      ++count;
    }
    if (!ec) stats.open_fds = count - 1;  // not counting the descriptor of the listing itself
  }
  return stats;
}

}  // namespace alluxio_fuse::metrics
