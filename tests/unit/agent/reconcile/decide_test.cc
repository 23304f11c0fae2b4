// The reconciler's pure diff: desired instances against the managed containers, no Docker.
#include "agent/reconcile/decide.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "agent/docker/labels.h"

namespace bdcoord::agent {
namespace {

using ::testing::IsEmpty;

bdcoord::v1::DesiredState Desired(int count) {
  bdcoord::v1::DesiredState desired;
  desired.set_cluster("demo");
  for (int i = 1; i <= count; ++i) {
    auto* instance = desired.add_instances();
    instance->set_cluster("demo");
    instance->set_name(absl::StrCat("zk", i));
    instance->set_image("standin");
    instance->set_ip(absl::StrCat("10.1.0.", 10 + i));
  }
  return desired;
}

ContainerInfo Container(const std::string& instance, const std::string& hash,
                        const std::string& state = "running") {
  ContainerInfo container;
  container.id = absl::StrCat("id-", instance);
  container.name = instance;
  container.state = state;
  container.running = state == "running";
  container.labels = {{kClusterLabel, "demo"}, {kInstanceLabel, instance}, {kSpecHashLabel, hash}};
  return container;
}

TEST(Decide, CreatesWhatHasNoContainer) {
  const Decision decision = Decide(Desired(2), {});
  ASSERT_EQ(decision.instances.size(), 2u);
  EXPECT_EQ(decision.instances[0].action, InstanceAction::kCreate);
  EXPECT_EQ(decision.instances[1].action, InstanceAction::kCreate);
  EXPECT_FALSE(decision.instances[0].existing);
  EXPECT_EQ(decision.instances[0].spec_hash, SpecHash(Desired(2).instances(0)));
  EXPECT_THAT(decision.remove, IsEmpty());
}

TEST(Decide, KeepsStartsOrReplacesByTheSpecHash) {
  const auto desired = Desired(3);
  const Decision decision =
      Decide(desired, {Container("zk1", SpecHash(desired.instances(0))),
                       Container("zk2", SpecHash(desired.instances(1)), "created"),
                       Container("zk3", "an-older-spec")});
  EXPECT_EQ(decision.instances[0].action, InstanceAction::kKeep);
  EXPECT_EQ(decision.instances[1].action, InstanceAction::kStart);
  EXPECT_EQ(decision.instances[2].action, InstanceAction::kReplace);
  ASSERT_TRUE(decision.instances[2].existing);
  EXPECT_EQ(decision.instances[2].existing->id, "id-zk3");
}

TEST(Decide, AHeldInstanceIsCreatedButItsContainerNeverStarted) {
  auto desired = Desired(3);
  for (auto& instance : *desired.mutable_instances()) instance.set_hold(true);
  const Decision decision =
      Decide(desired, {Container("zk1", SpecHash(desired.instances(0)), "created"),
                       Container("zk2", SpecHash(desired.instances(1)))});
  EXPECT_EQ(decision.instances[0].action, InstanceAction::kKeep);  // left created
  EXPECT_EQ(decision.instances[1].action, InstanceAction::kKeep);  // left running
  EXPECT_EQ(decision.instances[2].action, InstanceAction::kCreate);
}

// A held instance's container made behind bdgate runs only the gate: it is started even while
// held (its start failed, or it was fenced and is unfenced now).
TEST(Decide, AGatedContainerIsStartedEvenWhileHeld) {
  auto desired = Desired(3);
  for (auto& instance : *desired.mutable_instances()) instance.set_hold(true);
  std::vector<ContainerInfo> managed = {Container("zk1", SpecHash(desired.instances(0)), "created"),
                                        Container("zk2", SpecHash(desired.instances(1)), "exited"),
                                        Container("zk3", SpecHash(desired.instances(2)), "exited")};
  for (ContainerInfo& container : managed) container.labels[kGateLabel] = "1";
  const Decision decision = Decide(desired, managed, {}, {"zk2"});
  EXPECT_EQ(decision.instances[0].action, InstanceAction::kStart);
  EXPECT_EQ(decision.instances[1].action, InstanceAction::kStart) << "stopped by its fence";
  EXPECT_EQ(decision.instances[2].action, InstanceAction::kKeep) << "its restart policy decides";
}

TEST(Decide, AGivenSpecHashWinsOverTheComputedOne) {
  auto desired = Desired(1);
  desired.mutable_instances(0)->set_spec_hash("from-the-coordinator");
  const Decision decision = Decide(desired, {Container("zk1", "from-the-coordinator")});
  EXPECT_EQ(decision.instances[0].action, InstanceAction::kKeep);
}

TEST(Decide, ACompletedJobIsOnlyReportedWithOrWithoutItsContainer) {
  auto desired = Desired(1);
  desired.mutable_instances(0)->set_completed(true);
  EXPECT_EQ(Decide(desired, {}).instances[0].action, InstanceAction::kReportCompleted);
  const Decision decision = Decide(desired, {Container("zk1", "an-older-spec", "exited")});
  EXPECT_EQ(decision.instances[0].action, InstanceAction::kReportCompleted);
  EXPECT_TRUE(decision.instances[0].existing);
}

TEST(Decide, RemovesManagedContainersNoInstanceWants) {
  ContainerInfo unlabelled = Container("zk9", "x");
  unlabelled.labels.erase(kInstanceLabel);
  const Decision decision =
      Decide(Desired(1), {Container("zk1", "x"), Container("zk2", "x"), unlabelled});
  ASSERT_EQ(decision.remove.size(), 1u);
  EXPECT_EQ(decision.remove[0].name, "zk2");
  EXPECT_EQ(decision.instances[0].action, InstanceAction::kReplace);
}

TEST(SpecHash, IgnoresTheGivenHashCompletionAndHoldButNotTheSpec) {
  auto instance = Desired(1).instances(0);
  const std::string hash = SpecHash(instance);
  instance.set_spec_hash("anything");
  instance.set_completed(true);
  instance.set_hold(true);
  EXPECT_EQ(SpecHash(instance), hash);
  instance.set_image("other");
  EXPECT_NE(SpecHash(instance), hash);
  EXPECT_EQ(hash.size(), 16u);
}

TEST(DecideRestart, FollowsThePolicyAndTheExitCode) {
  using Mode = bdcoord::v1::RestartPolicy;
  struct Case {
    Mode::Mode mode;
    bool run_once;
    std::string state;
    int exit_code;
    RestartAction want;
  };
  const absl::Time now = absl::FromUnixSeconds(1000);
  for (const Case& c : std::vector<Case>{
           {Mode::MODE_ALWAYS, false, "exited", 0, RestartAction::kRestart},
           {Mode::MODE_UNLESS_STOPPED, false, "exited", 137, RestartAction::kRestart},
           {Mode::MODE_ON_FAILURE, false, "exited", 137, RestartAction::kRestart},
           {Mode::MODE_ON_FAILURE, false, "exited", 0, RestartAction::kNone},
           {Mode::MODE_NO, false, "exited", 137, RestartAction::kNone},
           {Mode::MODE_UNSPECIFIED, false, "dead", 1, RestartAction::kNone},
           {Mode::MODE_ON_FAILURE, true, "exited", 1, RestartAction::kNone},  // run once
           {Mode::MODE_ALWAYS, false, "running", 0, RestartAction::kNone},
           {Mode::MODE_ALWAYS, false, "restarting", 1, RestartAction::kNone},  // Docker's turn
           {Mode::MODE_ALWAYS, false, "created", 0, RestartAction::kNone},
       }) {
    auto instance = Desired(1).instances(0);
    instance.mutable_restart()->set_mode(c.mode);
    instance.set_run_once(c.run_once);
    ContainerInfo container = Container("zk1", "x", c.state);
    container.exit_code = c.exit_code;
    EXPECT_EQ(DecideRestart(instance, container, {}, now).action, c.want)
        << Mode::Mode_Name(c.mode) << " " << c.state << " " << c.exit_code;
  }
}

TEST(DecideRestart, CountsDockersRestartsSinceTheAgentsLastStartAndBacksOff) {
  auto instance = Desired(1).instances(0);
  instance.mutable_restart()->set_mode(bdcoord::v1::RestartPolicy::MODE_ALWAYS);
  ContainerInfo container = Container("zk1", "x", "exited");
  container.restart_count = 3;  // Docker's, since the agent's last start
  const absl::Time start = absl::FromUnixSeconds(1000);
  RestartHistory history{
      .restarts = 1, .docker_baseline = 1, .last_start = start, .backoff = absl::Seconds(4)};
  RestartDecision decision = DecideRestart(instance, container, history, start + absl::Seconds(3));
  EXPECT_EQ(decision.action, RestartAction::kWait);
  EXPECT_EQ(decision.restarts, 3);
  EXPECT_EQ(decision.due, start + absl::Seconds(4));
  decision = DecideRestart(instance, container, history, start + absl::Seconds(4));
  EXPECT_EQ(decision.action, RestartAction::kRestart);
  const RestartHistory next = AfterRestart(history, decision, 0, start + absl::Seconds(4));
  EXPECT_EQ(next.restarts, 4);
  EXPECT_EQ(next.docker_baseline, 0);
  EXPECT_EQ(next.backoff, absl::Seconds(8));
  history.backoff = absl::Seconds(20);
  EXPECT_EQ(AfterRestart(history, decision, 0, start).backoff, kMaxRestartBackoff);
  container.restart_count = 5;
  EXPECT_EQ(DecideRestart(instance, container, history, start).action, RestartAction::kGiveUp);
}

// Fencing: an instance with fence_after is fenced once the agent has not heard from the
// coordinator for that long; not before, and never one without it or a run-once job.
TEST(Fence, FencedOnceTheCoordinatorIsSilentForFenceAfter) {
  bdcoord::v1::DesiredState desired = Desired(3);
  desired.mutable_instances(0)->mutable_fence_after()->set_seconds(10);
  desired.mutable_instances(1)->mutable_fence_after()->set_seconds(30);
  EXPECT_EQ(ShortestFence(desired), absl::Seconds(10));
  EXPECT_THAT(FencedNow(desired, absl::Seconds(9)), IsEmpty());
  EXPECT_THAT(FencedNow(desired, absl::Seconds(10)), ::testing::ElementsAre("zk1"));
  EXPECT_THAT(FencedNow(desired, absl::Seconds(31)), ::testing::ElementsAre("zk1", "zk2"));
  desired.mutable_instances(0)->set_run_once(true);
  EXPECT_THAT(FencedNow(desired, absl::Hours(1)), ::testing::ElementsAre("zk2"));
  EXPECT_EQ(ShortestFence(Desired(2)), absl::InfiniteDuration());
  EXPECT_THAT(FencedNow(Desired(2), absl::Hours(1)), IsEmpty());
}

TEST(Fence, AFencedInstanceIsStoppedAndStartedAgainWhenUnfenced) {
  const bdcoord::v1::DesiredState desired = Desired(2);
  const std::string hash = SpecHash(desired.instances(0));
  const Decision fenced = Decide(
      desired, {Container("zk1", hash), Container("zk2", SpecHash(desired.instances(1)))}, {"zk1"});
  EXPECT_EQ(fenced.instances[0].action, InstanceAction::kFence);
  EXPECT_EQ(fenced.instances[1].action, InstanceAction::kKeep);
  // The coordinator is back and still wants it: its stopped container starts again.
  const Decision back = Decide(desired, {Container("zk1", hash, "exited")}, {}, {"zk1"});
  EXPECT_EQ(back.instances[0].action, InstanceAction::kStart);
  // Exited for another reason: the restart policy decides, as before.
  EXPECT_EQ(Decide(desired, {Container("zk1", hash, "exited")}).instances[0].action,
            InstanceAction::kKeep);
  // The fence_after is not part of what the container runs.
  bdcoord::v1::DesiredInstance with_fence = desired.instances(0);
  with_fence.mutable_fence_after()->set_seconds(10);
  EXPECT_EQ(SpecHash(with_fence), hash);
}

}  // namespace
}  // namespace bdcoord::agent
