// Design: one spdlog default logger with a single sink, replaced atomically by
// spdlog::set_default_logger so code that logs during set-up never sees a half-built logger.
// spdlog throws spdlog_ex (for example when the log file cannot be opened); it is caught here,
// the one file that calls spdlog's set-up API, and turned into a Status.
#include "alluxio_fuse/log/log.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>

#include <filesystem>
#include <memory>
#include <system_error>

namespace alluxio_fuse::log {
namespace {

using common::Code;
using common::Status;

spdlog::level::level_enum to_spdlog(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::kDebug:
      return spdlog::level::debug;
    case config::LogLevel::kInfo:
      return spdlog::level::info;
    case config::LogLevel::kWarning:
      return spdlog::level::warn;
    case config::LogLevel::kError:
      return spdlog::level::err;
    case config::LogLevel::kCritical:
      return spdlog::level::critical;
  }
  return spdlog::level::info;
}

// Timestamp with milliseconds, level, thread id, message.
constexpr const char* kPattern = "%Y-%m-%d %H:%M:%S.%e %l [%t] %v";

}  // namespace

Status setup_logging(const config::LoggerConfig& config, std::optional<std::string> level_override,
                     bool daemon) {
  config::LogLevel level = config.level;
  if (level_override) {
    auto parsed = config::parse_log_level(*level_override);
    if (!parsed.ok()) {
      return Status(Code::kInvalid,
                    "log level: expected one of DEBUG, INFO, WARNING (WARN), ERROR, CRITICAL or "
                    "a number from 10 to 50, got \"" +
                        *level_override + "\"");
    }
    level = *parsed;
  }
  try {
    spdlog::sink_ptr sink;
    if (config.path && !config.path->empty()) {
      std::error_code ec;
      std::filesystem::create_directories(*config.path, ec);
      if (ec) {
        return Status(Code::kIo, "logger.path: cannot create directory \"" + *config.path +
                                     "\": " + ec.message());
      }
      const std::string file = (std::filesystem::path(*config.path) / kLogFileName).string();
      sink =
          std::make_shared<spdlog::sinks::rotating_file_sink_mt>(file, kRotateBytes, kRotateFiles);
    } else if (daemon) {
      sink = std::make_shared<spdlog::sinks::syslog_sink_mt>("alluxio-fuse", LOG_PID, LOG_DAEMON,
                                                             true);
    } else {
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    }
    auto logger = std::make_shared<spdlog::logger>("alluxio-fuse", std::move(sink));
    logger->set_pattern(kPattern);
    logger->set_level(to_spdlog(level));
    // Warnings and errors reach the file at once; a crash right after them must not lose them.
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(std::move(logger));
  } catch (const spdlog::spdlog_ex& e) {
    return Status(Code::kIo, std::string("logger: cannot open the log: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace alluxio_fuse::log
