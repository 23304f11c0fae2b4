// The set-up both daemons share: --log-level, parsing, the program's logger.
#include "proto/rpc/daemon.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace bdcoord::rpc {
namespace {

std::optional<int> Parse(std::vector<const char*> args, std::string* level) {
  CLI::App app{"test daemon"};
  AddLogLevelFlag(&app, level);
  AddVersionFlag(&app, "testd");
  args.insert(args.begin(), "daemon");
  return ParseCommandLine(&app, static_cast<int>(args.size()), const_cast<char**>(args.data()));
}

TEST(ParseCommandLine, GoesOnOrSaysHowToLeave) {
  std::string level = "info";
  EXPECT_EQ(Parse({"--log-level", "debug"}, &level), std::nullopt);
  EXPECT_EQ(level, "debug");
  testing::internal::CaptureStdout();
  EXPECT_EQ(Parse({"--help"}, &level), 0);
  EXPECT_NE(testing::internal::GetCapturedStdout().find("--log-level"), std::string::npos);
  testing::internal::CaptureStderr();
  EXPECT_EQ(Parse({"--log-level", "loud"}, &level), 2);
  EXPECT_NE(
      testing::internal::GetCapturedStderr().find("loud not in {trace,debug,info,warn,error}"),
      std::string::npos);
}

TEST(ParseCommandLine, VersionPrintsTheProgramAndTheProjectsVersion) {
  std::string level = "info";
  testing::internal::CaptureStdout();
  EXPECT_EQ(Parse({"--version"}, &level), 0);
  EXPECT_THAT(testing::internal::GetCapturedStdout(),
              testing::MatchesRegex("testd [0-9]+\\.[0-9]+\\.[0-9]+\n"));
}

TEST(SetUpDaemonLogger, BecomesTheDefaultLoggerAtTheLevel) {
  const auto logger = SetUpDaemonLogger("testd", "warn");
  EXPECT_EQ(logger->name(), "testd");
  EXPECT_EQ(spdlog::default_logger()->name(), "testd");
  EXPECT_EQ(spdlog::get_level(), spdlog::level::warn);
  EXPECT_EQ(SetUpDaemonLogger("testd", "info"), logger) << "one logger per name";
}

}  // namespace
}  // namespace bdcoord::rpc
