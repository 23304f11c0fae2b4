// How the Docker client reads dockerd's JSON, on odd bodies (tests/fuzz/docker_json.cc's finds).
#include "agent/docker/docker_json.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace bdcoord::agent {
namespace {

using ::testing::HasSubstr;

// get<int64_t>() of a float out of range was undefined behaviour (UBSan: "1e+300 is outside the
// range of representable values of type 'long'"); now clamped.
TEST(DockerJsonTest, HugeNumbersAreClamped) {
  auto info = ParseContainerInspectJson(
      R"({"Id": "c1", "State": {"ExitCode": 1e300, "Pid": -1e300},
          "RestartCount": 18446744073709551615, "Config": {"StopTimeout": -9223372036854775808}})");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->exit_code, std::numeric_limits<int>::max());
  EXPECT_EQ(info->pid, std::numeric_limits<int>::min());
  EXPECT_EQ(info->restart_count, std::numeric_limits<int>::max());
  EXPECT_EQ(info->stop_timeout_seconds, std::numeric_limits<int>::min());

  auto docker = ParseInfoJson(R"({"Name": "bd1", "NCPU": 1e19, "MemTotal": 9.3e18})");
  ASSERT_TRUE(docker.ok()) << docker.status();
  EXPECT_EQ(docker->cpus, std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(docker->memory_bytes, std::numeric_limits<int64_t>::max());
  docker = ParseInfoJson(R"({"NCPU": -4, "MemTotal": 16.5e9})");
  ASSERT_TRUE(docker.ok()) << docker.status();
  EXPECT_EQ(docker->cpus, 0u);
  EXPECT_EQ(docker->memory_bytes, 16'500'000'000);
}

TEST(DockerJsonTest, OrdinaryInspect) {
  auto info = ParseContainerInspectJson(R"({
    "Id": "c1", "Name": "/demo.zk-1", "RestartCount": 2,
    "Config": {"Image": "zk", "Labels": {"a": "b", "n": 1}, "StopTimeout": 30},
    "State": {"Status": "exited", "Running": false, "ExitCode": 137,
              "FinishedAt": "0001-01-01T00:00:00Z"},
    "HostConfig": {"NetworkMode": "lan"},
    "NetworkSettings": {"Networks": {"lan": {"IPAddress": "10.0.0.5"}}}})");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name, "demo.zk-1");
  EXPECT_EQ(info->exit_code, 137);
  EXPECT_EQ(info->restart_count, 2);
  EXPECT_EQ(info->stop_timeout_seconds, 30);
  EXPECT_EQ(info->ipv4, "10.0.0.5");
  EXPECT_EQ(info->finished_at, "");
  EXPECT_EQ(info->labels.size(), 1u);  // a label that is not a string is skipped
}

TEST(DockerJsonTest, WrongShapesReadAsEmptyAndInvalidJsonIsInternal) {
  auto info = ParseContainerInspectJson(R"([1, "x", {"Id": 3}])");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->id, "");
  auto list = ParseContainerListJson(R"({"Id": "c1"})");
  EXPECT_EQ(list.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(list.status().message(), HasSubstr("expected a JSON array"));
  list = ParseContainerListJson(R"([{"Names": [7], "Status": "Exited (99999999999) now"}, 5])");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "");
  EXPECT_EQ((*list)[0].exit_code, 0);  // does not fit an int: not read
  auto event = ParseEventJson(R"({"Action": "die", "Actor": {"ID": "c1", "Attributes": []}})");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->action, "die");
  EXPECT_TRUE(event->attributes.empty());
  auto network = ParseNetworkJson("{\"Name\": \"lan\"");
  EXPECT_EQ(network.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(network.status().message(), HasSubstr("invalid JSON"));
  EXPECT_EQ(DockerErrorMessage(R"({"message": "No such container: x"})"), "No such container: x");
  EXPECT_EQ(DockerErrorMessage(std::string(2000, 'x')), std::string(1000, 'x') + "...");
  EXPECT_EQ(DockerErrorMessage(" \n"), "(empty response body)");
}

}  // namespace
}  // namespace bdcoord::agent
