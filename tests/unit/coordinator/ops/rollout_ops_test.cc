// Rolling updates through the application layer: the controller releasing one instance at a time
// to the (fake) agents, the rollout in the real store, pause, resume and undo.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "tests/testing/metrics.h"
#include "tests/unit/coordinator/ops/ops_fixture.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::ChangeRolloutRequest;
using bdcoord::v1::Rollout;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The chain with zk's environment changed: zk has a readiness probe, so it rolls.
std::string ChangedZk() {
  return absl::StrReplaceAll(kChainSpec,
                             {{"ready: {tcp: 2181}}", "ready: {tcp: 2181}, env: {ZOO_CFG: v2}}"}});
}

class RolloutOpsTest : public OpsTest {
 protected:
  // The zk instances and the env each host was last told to run them with.
  std::vector<std::string> ZkVersions() {
    std::vector<std::string> versions;
    auto applied = store_->GetCluster("chain");
    for (const auto& placed : applied->placement.instances()) {
      if (placed.service() != "zk") continue;
      auto desired = agents_.LatestDesired(placed.host(), "chain");
      std::string env = "none";
      for (const auto& instance : desired->instances()) {
        if (instance.name() != placed.name()) continue;
        for (const auto& var : instance.env()) env = var.value();
      }
      versions.push_back(placed.name() + "=" + env);
    }
    return versions;
  }
  void Pass() {
    controller_->RunPass();
    agents_.AnswerEveryDesiredState(bdcoord::v1::INSTANCE_STATE_RUNNING);
  }
  Rollout StoredRollout() { return store_->GetCluster("chain")->rollout; }
  // Rollouts that ended with `outcome` (done, halted), as bdcoord_rollout_duration_seconds says.
  double RolloutsTimed(const std::string& outcome) {
    return test_util::MetricValue(registry_, "bdcoord_rollout_duration_seconds",
                                  {{"outcome", outcome}})
        .value_or(-1);
  }
};

TEST_F(RolloutOpsTest, AReapplyReplacesTheChangedInstancesOneAtATimeEachReadyFirst) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  RunUntilSettled();
  auto subscription = events_.Subscribe("chain");
  ASSERT_TRUE(Apply(ChangedZk()).ok());
  EXPECT_EQ(StoredRollout().state(), Rollout::STATE_ROLLING);
  Pass();
  EXPECT_THAT(ZkVersions(), ElementsAre("zk1=v2", "zk2=none"));
  EXPECT_FALSE(ops_->Progress("chain")->done());
  EXPECT_THAT(ops_->Progress("chain")->rollout().steps(), testing::SizeIs(2));
  Pass();  // zk1 reported ready with the new spec: zk2 goes
  EXPECT_THAT(ZkVersions(), ElementsAre("zk1=v2", "zk2=v2"));
  EXPECT_FALSE(ops_->Progress("chain")->done());
  EXPECT_EQ(RolloutsTimed("done"), 0);
  clock_.Advance(absl::Seconds(90));
  Pass();
  controller_->RunPass();
  EXPECT_EQ(StoredRollout().state(), Rollout::STATE_DONE);
  EXPECT_TRUE(ops_->Progress("chain")->done());
  // Timed once, from the re-apply to the pass that saw it done.
  EXPECT_EQ(RolloutsTimed("done"), 1);
  EXPECT_EQ(
      test_util::HistogramSum(registry_, "bdcoord_rollout_duration_seconds", {{"outcome", "done"}}),
      90);
  EXPECT_EQ(RolloutsTimed("halted"), 0);
  // Kafka and drill did not change: never replaced, never steps.
  std::vector<std::string> kinds;
  while (auto event = subscription->TryNext()) {
    if (absl::StartsWith(event->kind(), "rollout")) {
      kinds.push_back(event->kind() + " " + event->instance());
    }
  }
  EXPECT_THAT(kinds, ElementsAre("rollout-step zk1", "rollout-updated zk1", "rollout-step zk2",
                                 "rollout-updated zk2", "rollout-done "));
  // Status shows the finished rollout, without the previous specs.
  auto status = ops_->Status("chain", false);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)[0].rollout().state(), Rollout::STATE_DONE);
  EXPECT_FALSE((*status)[0].rollout().steps(0).has_previous());
}

TEST_F(RolloutOpsTest, TheRolloutGoesOnAfterACoordinatorRestart) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  RunUntilSettled();
  ASSERT_TRUE(Apply(ChangedZk()).ok());
  controller_->RunPass();
  EXPECT_THAT(ZkVersions(), ElementsAre("zk1=v2", "zk2=none"));
  // A new controller on the same store: it knows nothing but what the store says.
  auto logger = spdlog::default_logger()->clone("restarted");
  ops_.reset();
  controller_ = std::make_unique<ClusterController>(inventory_, agents_, *store_, logger,
                                                    clock_.AsFunction());
  ops_ = std::make_unique<ClusterOps>(inventory_, *store_, agents_, events_, *controller_,
                                      clock_.AsFunction());
  agents_.AnswerEveryDesiredState(bdcoord::v1::INSTANCE_STATE_RUNNING);
  controller_->RunPass();  // resends; zk2 is still held on its previous spec
  EXPECT_THAT(ZkVersions(), ElementsAre("zk1=v2", "zk2=none"));
  Pass();
  Pass();
  EXPECT_THAT(ZkVersions(), ElementsAre("zk1=v2", "zk2=v2"));
  Pass();
  EXPECT_EQ(StoredRollout().state(), Rollout::STATE_DONE);
}

TEST_F(RolloutOpsTest, AFailingNewSpecHaltsThenUndoRollsTheUpdatedOnesBack) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  RunUntilSettled();
  agents_.SetAnswerHook(
      [](const bdcoord::v1::DesiredInstance& instance, bdcoord::v1::InstanceStatus* status) {
        if (instance.env_size() > 0) {
          status->set_state(bdcoord::v1::INSTANCE_STATE_FAILED);
          status->set_ready(false);
          status->set_message("exited with code 3");
        }
      });
  ASSERT_TRUE(Apply(ChangedZk()).ok());
  Pass();
  Pass();
  Pass();  // zk not ready holds kafka back again: the hosts answer that too
  controller_->RunPass();
  EXPECT_EQ(StoredRollout().state(), Rollout::STATE_HALTED);
  EXPECT_EQ(StoredRollout().message(), "instance zk1 failed with the new spec: exited with code 3");
  EXPECT_THAT(ZkVersions(), ElementsAre("zk1=v2", "zk2=none"));  // zk2 never touched
  EXPECT_EQ(RolloutsTimed("halted"), 1);
  EXPECT_EQ(RolloutsTimed("done"), 0);
  auto progress = ops_->Progress("chain");
  EXPECT_TRUE(progress->done()) << progress->DebugString();
  ASSERT_EQ(progress->failures_size(), 1);
  EXPECT_EQ(progress->failures(0).name(), "zk1");

  const auto pause = ops_->ChangeRollout("chain", ChangeRolloutRequest::ACTION_PAUSE);
  EXPECT_EQ(pause.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(pause.status().message(),
            "the rollout of cluster 'chain' halted (instance zk1 failed with the new spec: exited "
            "with code 3): apply a mended spec, or `bdcoord rollout undo`");

  agents_.SetAnswerHook(nullptr);
  ASSERT_TRUE(ops_->ChangeRollout("chain", ChangeRolloutRequest::ACTION_UNDO).ok());
  const Rollout undo = StoredRollout();
  EXPECT_TRUE(undo.undo());
  EXPECT_EQ(undo.message(), "undone by `bdcoord rollout undo`");
  ASSERT_EQ(undo.steps_size(), 1);  // zk2 still runs the spec that comes back
  EXPECT_EQ(undo.steps(0).instance(), "zk1");
  Pass();
  EXPECT_THAT(ZkVersions(), ElementsAre("zk1=none", "zk2=none"));
  RunUntilSettled();
  EXPECT_EQ(StoredRollout().state(), Rollout::STATE_DONE);
  EXPECT_TRUE(ops_->Progress("chain")->done());
  EXPECT_EQ(ops_->Progress("chain")->failures_size(), 0);
  // Undo of the undo brings the change back (it is the spec before the current one).
  EXPECT_THAT(store_->GetCluster("chain")->previous_spec_yaml, HasSubstr("ZOO_CFG"));
}

TEST_F(RolloutOpsTest, AHaltedRolloutIsNotResumedButAMendedSpecRollsOn) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  RunUntilSettled();
  agents_.SetAnswerHook(
      [](const bdcoord::v1::DesiredInstance& instance, bdcoord::v1::InstanceStatus* status) {
        for (const auto& var : instance.env()) {
          if (var.value() == "v2") status->set_state(bdcoord::v1::INSTANCE_STATE_FAILED);
        }
      });
  ASSERT_TRUE(Apply(ChangedZk()).ok());
  Pass();
  Pass();
  ASSERT_EQ(StoredRollout().state(), Rollout::STATE_HALTED);
  const Rollout halted = StoredRollout();
  // The failed instance's last status is its failure: a resume would halt again at once.
  const auto resume = ops_->ChangeRollout("chain", ChangeRolloutRequest::ACTION_RESUME);
  EXPECT_EQ(resume.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(resume.status().message(),
            "the rollout of cluster 'chain' halted (instance zk1 failed with the new spec: "
            "failed): apply a mended spec, or `bdcoord rollout undo`");
  EXPECT_EQ(StoredRollout().SerializeAsString(), halted.SerializeAsString());  // unchanged

  // A mended spec is a new rollout: zk1 (failed on v2) and zk2 (still on v1) both go to v3.
  ASSERT_TRUE(Apply(absl::StrReplaceAll(ChangedZk(), {{"ZOO_CFG: v2", "ZOO_CFG: v3"}})).ok());
  EXPECT_EQ(StoredRollout().steps_size(), 2);
  RunUntilSettled(6);
  EXPECT_THAT(ZkVersions(), ElementsAre("zk1=v3", "zk2=v3"));
  EXPECT_EQ(StoredRollout().state(), Rollout::STATE_DONE);
}

TEST_F(RolloutOpsTest, OnFailureRevertUndoesByItself) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  RunUntilSettled();
  agents_.SetAnswerHook(
      [](const bdcoord::v1::DesiredInstance& instance, bdcoord::v1::InstanceStatus* status) {
        if (instance.env_size() > 0) status->set_state(bdcoord::v1::INSTANCE_STATE_FAILED);
      });
  ASSERT_TRUE(Apply(absl::StrReplaceAll(ChangedZk(), {{"env: {ZOO_CFG: v2}}",
                                                       "env: {ZOO_CFG: v2}, update: "
                                                       "{on_failure: revert}}"}}))
                  .ok());
  Pass();
  Pass();
  EXPECT_TRUE(StoredRollout().undo());
  EXPECT_EQ(StoredRollout().message(), "reverted: instance zk1 failed with the new spec: failed");
  Pass();
  Pass();
  EXPECT_THAT(ZkVersions(), ElementsAre("zk1=none", "zk2=none"));
  EXPECT_EQ(StoredRollout().state(), Rollout::STATE_DONE);
}

TEST_F(RolloutOpsTest, LeaderLastAsksTheAgentsWhichIsTheLeaderAndReplacesItLast) {
  const std::string leader_last =
      absl::StrReplaceAll(kChainSpec, {{"ready: {tcp: 2181}}",
                                        "ready: {tcp: 2181}, update: {order: leader_last, "
                                        "leader: {exec: [is-leader]}}}"}});
  ConnectAll();
  ASSERT_TRUE(Apply(leader_last).ok());
  RunUntilSettled();
  bdcoord::v1::CommandResult yes;
  yes.set_ok(true);
  agents_.SetProbeResult("c-zk1", yes);  // zk2's probe has no answer: not the leader
  ASSERT_TRUE(Apply(absl::StrReplaceAll(
                        leader_last,
                        {{"ready: {tcp: 2181}, ", "env: {ZOO_CFG: v2}, ready: {tcp: 2181}, "}}))
                  .ok());
  Pass();
  EXPECT_THAT(ZkVersions(), ElementsAre("zk1=none", "zk2=v2"));
  // Each waiting instance's leader probe ran on its host, on its container.
  std::vector<std::string> probed;
  for (const auto& [host, request] : agents_.probes()) {
    EXPECT_THAT(request.probe().exec().command(), ElementsAre("is-leader"));
    probed.push_back(request.container());
  }
  EXPECT_THAT(probed, testing::UnorderedElementsAre("c-zk1", "c-zk2"));
  Pass();
  EXPECT_THAT(ZkVersions(), ElementsAre("zk1=v2", "zk2=v2"));
  EXPECT_EQ(agents_.probes().size(), 2u);  // one left: no need to ask
}

TEST_F(RolloutOpsTest, PauseAndResumeAndTheirErrors) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  RunUntilSettled();
  auto none = ops_->ChangeRollout("chain", ChangeRolloutRequest::ACTION_RESUME);
  EXPECT_EQ(none.status().message(), "cluster 'chain' has no rollout underway");
  auto undo = ops_->ChangeRollout("chain", ChangeRolloutRequest::ACTION_UNDO);
  EXPECT_EQ(undo.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(undo.status().message(),
            "cluster 'chain' has no earlier spec to go back to: it was applied once");

  ASSERT_TRUE(Apply(ChangedZk()).ok());
  ASSERT_TRUE(ops_->ChangeRollout("chain", ChangeRolloutRequest::ACTION_PAUSE).ok());
  ASSERT_TRUE(ops_->ChangeRollout("", ChangeRolloutRequest::ACTION_PAUSE).ok());  // idempotent
  Pass();
  Pass();
  EXPECT_THAT(ZkVersions(), ElementsAre("zk1=none", "zk2=none"));
  EXPECT_EQ(StoredRollout().state(), Rollout::STATE_PAUSED);
  ASSERT_TRUE(ops_->ChangeRollout("chain", ChangeRolloutRequest::ACTION_RESUME).ok());
  Pass();
  EXPECT_THAT(ZkVersions(), ElementsAre("zk1=v2", "zk2=none"));
  Pass();
  Pass();
  EXPECT_EQ(StoredRollout().state(), Rollout::STATE_DONE);
  auto done = ops_->ChangeRollout("chain", ChangeRolloutRequest::ACTION_PAUSE);
  EXPECT_EQ(done.status().message(),
            "cluster 'chain' has no rollout underway (the last one is done)");
}

}  // namespace
}  // namespace bdcoord::coordinator
