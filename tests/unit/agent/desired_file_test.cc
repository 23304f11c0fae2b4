// Running from a desired-state file: reading it, the messages for a bad one, --once's output.
#include "agent/desired_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_docker_client.h"
#include "tests/testing/fake_host_files.h"
#include "tests/testing/fake_prober.h"
#include "tests/testing/temp_dir.h"

namespace bdcoord::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class DesiredFileTest : public ::testing::Test {
 protected:
  DesiredFileTest()
      : reconciler_(&docker_, &hosts_, nullptr,
                    {.now = test_util::RealClock(), .prober = &prober_}),
        agent_(&docker_, &reconciler_, &prober_,
               {.docker_socket = "", .now = test_util::RealClock()}) {}

  test_util::TempDir dir_{"desired-file"};
  std::string path_ = dir_.path() + "/desired.json";
  testing::FakeDockerClient docker_;
  testing::FakeHostFiles hosts_;
  testing::FakeProber prober_;
  Reconciler reconciler_;
  Agent agent_;
};

TEST_F(DesiredFileTest, TheFileIsTheOnlyDesiredState) {
  agent_.SetDesired([] {
    bdcoord::v1::DesiredState other;
    other.set_cluster("other");
    return other;
  }());
  std::ofstream(path_) << R"({"cluster": "demo", "generation": 4})";
  DesiredFile file(path_, &agent_);
  ASSERT_TRUE(file.Refresh().ok());
  EXPECT_THAT(agent_.clusters(), ElementsAre("demo"));
}

TEST_F(DesiredFileTest, SaysWhatIsWrongWithTheFile) {
  DesiredFile file(path_, &agent_);
  EXPECT_EQ(file.Refresh(), absl::NotFoundError("cannot read " + path_));
  std::ofstream(path_) << "{not json";
  const absl::Status bad = file.Refresh();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), StartsWith(path_ + ": not a desired state: "));
}

TEST(StatusesJson, PrintsEveryInstanceOfEveryCluster) {
  PassSummary pass;
  pass.clusters.resize(2);
  pass.clusters[0].result.statuses.resize(1);
  pass.clusters[0].result.statuses[0].set_name("zk1");
  pass.clusters[1].result.statuses.resize(1);
  pass.clusters[1].result.statuses[0].set_name("kafka1");
  // The format bdagent --once has always printed: one indented object per instance.
  EXPECT_EQ(StatusesJson(pass), "[\n{\n \"name\": \"zk1\"\n}\n,\n{\n \"name\": \"kafka1\"\n}\n]\n");
  EXPECT_EQ(StatusesJson(PassSummary{}), "[]\n");
}

TEST(OnceExitCode, IsOneWhenAnythingFailed) {
  PassSummary pass;
  pass.clusters.resize(1);
  pass.clusters[0].result.statuses.resize(1);
  pass.clusters[0].result.statuses[0].set_state(bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(OnceExitCode(pass), 0);
  pass.clusters[0].result.statuses[0].set_state(bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(OnceExitCode(pass), 1);
  pass.clusters[0].result.statuses[0].set_state(bdcoord::v1::INSTANCE_STATE_RUNNING);
  pass.clusters[0].result.errors.push_back("network 'lan': no parent");
  EXPECT_EQ(OnceExitCode(pass), 1);
}

}  // namespace
}  // namespace bdcoord::agent

namespace bdcoord::agent {
namespace {

TEST_F(DesiredFileTest, RunOnceAndPrintPrintsTheStatusesOrFailsWithTwo) {
  DesiredFile file(path_, &agent_);
  std::ostringstream out;
  EXPECT_EQ(RunOnceAndPrint(
                &agent_, [&] { return file.Refresh(); }, out),
            2)
      << "no file";
  EXPECT_EQ(out.str(), "");
  docker_.AddImage("standin");
  std::ofstream(path_) << R"({"cluster": "demo", "instances": [
      {"cluster": "demo", "name": "zk1", "service": "zk", "image": "standin"}]})";
  EXPECT_EQ(RunOnceAndPrint(
                &agent_, [&] { return file.Refresh(); }, out),
            0);
  EXPECT_THAT(out.str(), HasSubstr("\"name\": \"zk1\""));
  EXPECT_THAT(out.str(), HasSubstr("INSTANCE_STATE_RUNNING"));
}

}  // namespace
}  // namespace bdcoord::agent
