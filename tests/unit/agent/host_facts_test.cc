// This host's labels and facts.
#include "agent/host_facts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/testing/fake_docker_client.h"
#include "tests/testing/temp_dir.h"

namespace bdcoord::agent {
namespace {

TEST(LoadLabels, MergesFileAndFlagsWithFlagsWinning) {
  test_util::TempDir dir("agent-config");
  const std::filesystem::path path = dir.path() + "/agent.yaml";
  std::ofstream(path) << "labels:\n  rack: r1\n  ssd: \"true\"\n";
  auto labels = LoadLabels(path.string(), {"rack=r2", "zone=z"});
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(labels->at("rack"), "r2");
  EXPECT_EQ(labels->at("ssd"), "true");
  EXPECT_EQ(labels->at("zone"), "z");
  EXPECT_TRUE(LoadLabels("/nonexistent/agent.yaml", {}).ok()) << "a missing file is fine";
  const auto bad = LoadLabels("", {"rack"});
  EXPECT_EQ(bad.status().message(), "--label 'rack' is not KEY=VALUE (e.g. --label rack=r1)");
  std::ofstream(path) << "labels: [r1]\n";
  EXPECT_EQ(LoadLabels(path.string(), {}).status().message(),
            path.string() + ":1: labels must be a mapping, e.g. `labels: {rack: r1}`");
}

TEST(CollectHostFacts, ReportsThisHost) {
  testing::FakeDockerClient docker;
  const auto facts = CollectHostFacts(&docker, {{"rack", "r1"}});
  EXPECT_GT(facts.cpus(), 0u);
  EXPECT_GT(facts.memory_bytes(), 0);
  EXPECT_EQ(facts.docker_api_version(), "1.41");
  EXPECT_THAT(facts.interfaces(), ::testing::Contains("lo"));
  EXPECT_EQ(facts.labels().at("rack"), "r1");
}

TEST(CollectHostFacts, LeavesDockerFieldsEmptyWhenDockerIsDown) {
  testing::FakeDockerClient docker;
  docker.FailAll(absl::UnavailableError("down"));
  const auto facts = CollectHostFacts(&docker, {});
  EXPECT_EQ(facts.docker_api_version(), "");
  EXPECT_GT(facts.cpus(), 0u) << "the host's own facts do not need Docker";
}

}  // namespace
}  // namespace bdcoord::agent
