// test-deps: spdlog::spdlog
// setup_logging: file destination, line format, levels and overrides, failures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "alluxio_fuse/log/log.h"

namespace alluxio_fuse::log {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class LogSetupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/af_log_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    // Back to stderr so the file can be removed and later tests are unaffected.
    setup_logging(config::LoggerConfig{}, std::nullopt).ignore();
    fs::remove_all(dir_);
  }
  std::string read_log() {
    spdlog::default_logger()->flush();
    std::ifstream in(fs::path(dir_) / "logs" / kLogFileName);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  config::LoggerConfig file_config(config::LogLevel level) {
    config::LoggerConfig c;
    c.path = (fs::path(dir_) / "logs").string();  // created by setup_logging
    c.level = level;
    return c;
  }
  std::string dir_;
};

TEST_F(LogSetupTest, WritesFormattedLinesToFile) {
  ASSERT_TRUE(setup_logging(file_config(config::LogLevel::kInfo), std::nullopt).ok());
  spdlog::info("hello {}", "world");
  spdlog::debug("hidden-debug");
  const std::string log = read_log();
  EXPECT_THAT(log, ::testing::ContainsRegex(
                       "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} info "
                       "\\[[0-9]+\\] hello world"));
  EXPECT_THAT(log, Not(HasSubstr("hidden-debug")));
}

TEST_F(LogSetupTest, LevelFromConfigAndOverride) {
  ASSERT_TRUE(setup_logging(file_config(config::LogLevel::kError), std::nullopt).ok());
  spdlog::warn("warn-dropped");
  spdlog::error("error-kept");
  std::string log = read_log();
  EXPECT_THAT(log, Not(HasSubstr("warn-dropped")));
  EXPECT_THAT(log, HasSubstr("error-kept"));

  ASSERT_TRUE(setup_logging(file_config(config::LogLevel::kError), "10").ok());  // Python DEBUG
  spdlog::debug("debug-kept");
  EXPECT_THAT(read_log(), HasSubstr("debug-kept"));
}

TEST_F(LogSetupTest, BadOverrideKeepsPreviousLogger) {
  ASSERT_TRUE(setup_logging(file_config(config::LogLevel::kInfo), std::nullopt).ok());
  common::Status s = setup_logging(file_config(config::LogLevel::kInfo), "LOUD");
  EXPECT_EQ(s.code(), common::Code::kInvalid);
  EXPECT_THAT(s.message(), HasSubstr("LOUD"));
  spdlog::info("still-here");
  EXPECT_THAT(read_log(), HasSubstr("still-here"));
}

TEST_F(LogSetupTest, UncreatableDirectoryIsIoError) {
  std::ofstream(fs::path(dir_) / "file") << "x";
  config::LoggerConfig c;
  c.path = (fs::path(dir_) / "file" / "sub").string();  // a path through a regular file
  common::Status s = setup_logging(c, std::nullopt);
  EXPECT_EQ(s.code(), common::Code::kIo);
  EXPECT_THAT(s.message(), HasSubstr("logger.path"));
}

}  // namespace
}  // namespace alluxio_fuse::log
