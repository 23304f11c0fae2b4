#include "coordinator/plan/rollout.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "coordinator/spec/spec_loader.h"
#include "policy/spec_hash.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::InstanceStatus;
using bdcoord::v1::Rollout;
using bdcoord::v1::RolloutStep;
using ::testing::ElementsAre;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

bdcoord::v1::ClusterSpec Spec(const std::string& services) {
  LoadedSpec loaded = LoadSpec("cluster: c\nservices:\n" + services);
  EXPECT_TRUE(loaded.diagnostics.empty()) << loaded.diagnostics.front().message;
  return loaded.spec;
}

// Instances `service`1..count on host h<i>, their command `version`.
void AddInstances(ClusterVersion* version, const std::string& service, int count,
                  const std::string& command, const std::string& host = "") {
  for (int i = 1; i <= count; ++i) {
    InstanceVersion& instance = (*version)[service + std::to_string(i)];
    instance.host = host.empty() ? "h" + std::to_string(i) : host;
    instance.desired.set_name(service + std::to_string(i));
    instance.desired.set_service(service);
    instance.desired.set_index(i);
    instance.desired.add_command(command);
  }
}

std::vector<std::string> Steps(const Rollout& rollout) {
  std::vector<std::string> names;
  for (const RolloutStep& step : rollout.steps()) {
    names.push_back(step.instance() + ":" + RolloutStep::Phase_Name(step.phase()).substr(6));
  }
  return names;
}

// Statuses as an agent reports them after running `version` (ready, running).
std::map<std::string, InstanceStatus> Running(const ClusterVersion& version) {
  std::map<std::string, InstanceStatus> statuses;
  for (const auto& [name, instance] : version) {
    InstanceStatus& status = statuses[name];
    status.set_name(name);
    status.set_state(bdcoord::v1::INSTANCE_STATE_RUNNING);
    status.set_ready(true);
    status.set_spec_hash(policy::SpecHash(instance.desired));
  }
  return statuses;
}

std::map<std::string, std::string> Hashes(const ClusterVersion& version) {
  std::map<std::string, std::string> hashes;
  for (const auto& [name, instance] : version) hashes[name] = policy::SpecHash(instance.desired);
  return hashes;
}

TEST(RollingPolicyOf, AProbeMeansOneAtATimeAndNoProbeNorBlockMeansAllAtOnce) {
  const bdcoord::v1::ClusterSpec spec = Spec(
      "  zk: {image: i, ready: {tcp: 2181}}\n"
      "  web: {image: i}\n"
      "  kafka: {image: i, update: {max_parallel: 2, min_healthy: 10s, on_failure: revert}}\n"
      "  job: {image: i, run_once: true, ready: {tcp: 1}}\n");
  const auto zk = RollingPolicyOf(spec.services(0));
  ASSERT_TRUE(zk.has_value());
  EXPECT_EQ(zk->max_parallel, 1u);
  EXPECT_EQ(zk->min_healthy, absl::ZeroDuration());
  EXPECT_TRUE(zk->has_probe);
  EXPECT_FALSE(zk->revert);
  EXPECT_FALSE(RollingPolicyOf(spec.services(1)).has_value());
  const auto kafka = RollingPolicyOf(spec.services(2));
  ASSERT_TRUE(kafka.has_value());
  EXPECT_EQ(kafka->max_parallel, 2u);
  EXPECT_EQ(kafka->min_healthy, absl::Seconds(10));
  EXPECT_TRUE(kafka->revert);
  EXPECT_FALSE(kafka->has_probe);                               // ready then means running
  EXPECT_FALSE(RollingPolicyOf(spec.services(3)).has_value());  // a job never rolls
}

TEST(PlanRollout, StepsAreTheChangedInstancesOfRollingServicesInIndexOrder) {
  const bdcoord::v1::ClusterSpec spec = Spec(
      "  zk: {image: i, count: 10, ready: {tcp: 2181}}\n"
      "  web: {image: i, count: 2}\n");
  ClusterVersion before, after;
  AddInstances(&before, "zk", 10, "v1");
  AddInstances(&before, "web", 2, "v1");
  AddInstances(&after, "zk", 11, "v2");       // zk11 is new: created, not a step
  AddInstances(&after, "web", 2, "v2");       // no probe, no block: replaced at once
  after["zk3"].desired.set_command(0, "v1");  // unchanged
  after["zk4"].host = "h9";                   // moved: replaced at once on its new host
  const Rollout rollout = PlanRollout(spec, before, Rollout(), after, kT0);
  EXPECT_EQ(rollout.state(), Rollout::STATE_ROLLING);
  EXPECT_THAT(Steps(rollout),
              ElementsAre("zk1:WAITING", "zk2:WAITING", "zk5:WAITING", "zk6:WAITING", "zk7:WAITING",
                          "zk8:WAITING", "zk9:WAITING", "zk10:WAITING"));
  // Each keeps what it runs now until its turn.
  EXPECT_THAT(rollout.steps(0).previous().command(), ElementsAre("v1"));
  EXPECT_EQ(rollout.revision(), 1u);
  EXPECT_EQ(PinnedInstances(rollout).size(), 8u);
}

TEST(PlanRollout, AnInstanceStillWaitingKeepsRunningWhatItRunsAcrossAnotherApply) {
  const bdcoord::v1::ClusterSpec spec = Spec("  zk: {image: i, count: 2, ready: {tcp: 2181}}\n");
  ClusterVersion v1, v2, v3;
  AddInstances(&v1, "zk", 2, "v1");
  AddInstances(&v2, "zk", 2, "v2");
  AddInstances(&v3, "zk", 2, "v3");
  Rollout first = PlanRollout(spec, v1, Rollout(), v2, kT0);
  // zk1 went to v2; zk2 still runs v1 when v3 is applied.
  first.mutable_steps(0)->set_phase(RolloutStep::PHASE_DONE);
  const Rollout second = PlanRollout(spec, v2, first, v3, kT0 + absl::Minutes(1));
  ASSERT_EQ(second.steps_size(), 2);
  EXPECT_THAT(second.steps(0).previous().command(), ElementsAre("v2"));
  EXPECT_THAT(second.steps(1).previous().command(), ElementsAre("v1"));
  EXPECT_EQ(second.revision(), first.revision() + 1);
}

TEST(PlanRollout, WithNothingToRollAFinishedRolloutIsKeptAndAHaltedOneDropped) {
  const bdcoord::v1::ClusterSpec spec = Spec("  zk: {image: i, count: 1, ready: {tcp: 2181}}\n");
  ClusterVersion v1;
  AddInstances(&v1, "zk", 1, "v1");
  Rollout done;
  done.set_state(Rollout::STATE_DONE);
  done.set_revision(5);
  done.add_steps()->set_instance("zk1");
  const Rollout kept = PlanRollout(spec, v1, done, v1, kT0);
  EXPECT_EQ(kept.state(), Rollout::STATE_DONE);
  EXPECT_EQ(kept.revision(), 6u);
  Rollout halted = done;
  halted.set_state(Rollout::STATE_HALTED);
  EXPECT_EQ(PlanRollout(spec, v1, halted, v1, kT0).state(), Rollout::STATE_UNSPECIFIED);
}

class AdvanceRolloutTest : public ::testing::Test {
 protected:
  void Plan(const std::string& services, int zk, int kafka) {
    spec_ = Spec(services);
    AddInstances(&before_, "zk", zk, "v1");
    AddInstances(&after_, "zk", zk, "v2");
    AddInstances(&before_, "kafka", kafka, "v1");
    AddInstances(&after_, "kafka", kafka, "v2");
    rollout_ = PlanRollout(spec_, before_, Rollout(), after_, kT0);
    statuses_ = Running(before_);
  }
  RolloutAdvance Advance(absl::Time now = kT0) {
    return AdvanceRollout(spec_, Hashes(after_), statuses_, probed_ ? &leaders_ : nullptr, now,
                          &rollout_);
  }
  // The agent replaced it: it runs the new spec, ready or not.
  void Replaced(const std::string& name, bool ready = true) {
    statuses_[name].set_spec_hash(policy::SpecHash(after_[name].desired));
    statuses_[name].set_ready(ready);
  }

  bdcoord::v1::ClusterSpec spec_;
  ClusterVersion before_, after_;
  Rollout rollout_;
  std::map<std::string, InstanceStatus> statuses_;
  std::set<std::string> leaders_;
  bool probed_ = true;  // the controller ran the leader probes (leaders_ is known)
};

TEST_F(AdvanceRolloutTest, ReleasesMaxParallelAtATimeAndTheNextServiceAfterTheFirst) {
  Plan(
      "  zk: {image: i, count: 3, ready: {tcp: 2181}}\n"
      "  kafka: {image: i, count: 2, update: {max_parallel: 2}}\n",
      3, 2);
  RolloutAdvance advance = Advance();
  EXPECT_TRUE(advance.changed);
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:UPDATING", "zk2:WAITING", "zk3:WAITING",
                                           "kafka1:WAITING", "kafka2:WAITING"));
  ASSERT_EQ(advance.events.size(), 1u);
  EXPECT_EQ(advance.events[0].kind, "rollout-step");
  EXPECT_EQ(advance.events[0].instance, "zk1");
  // Nothing reported yet: nothing moves.
  EXPECT_FALSE(Advance().changed);

  Replaced("zk1", /*ready=*/false);  // replaced, probe not passed yet
  Advance();
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:UPDATING", "zk2:WAITING", "zk3:WAITING",
                                           "kafka1:WAITING", "kafka2:WAITING"));
  Replaced("zk1");
  Advance();
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:DONE", "zk2:UPDATING", "zk3:WAITING",
                                           "kafka1:WAITING", "kafka2:WAITING"));
  Replaced("zk2");
  Advance();
  Replaced("zk3");
  Advance();
  // zk done: kafka goes, two at a time.
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:DONE", "zk2:DONE", "zk3:DONE", "kafka1:UPDATING",
                                           "kafka2:UPDATING"));
  EXPECT_EQ(rollout_.state(), Rollout::STATE_ROLLING);
  Replaced("kafka1", /*ready=*/false);  // no probe: running is enough
  Replaced("kafka2", /*ready=*/false);
  advance = Advance();
  EXPECT_EQ(rollout_.state(), Rollout::STATE_DONE);
  EXPECT_EQ(advance.events.back().kind, "rollout-done");
  EXPECT_EQ(advance.events.back().message, "5 instances updated");
  EXPECT_TRUE(PinnedInstances(rollout_).empty());
}

TEST_F(AdvanceRolloutTest, MinHealthyCountsFromReadyAndStartsAgainWhenItWasNot) {
  Plan("  zk: {image: i, count: 2, ready: {tcp: 2181}, update: {min_healthy: 10s}}\n", 2, 0);
  Advance(kT0);
  Replaced("zk1");
  // Ready from 1 s on: the controller is to look again at 11 s.
  EXPECT_EQ(Advance(kT0 + absl::Seconds(1)).recheck_at, kT0 + absl::Seconds(11));
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:UPDATING", "zk2:WAITING"));
  Replaced("zk1", /*ready=*/false);
  Advance(kT0 + absl::Seconds(9));
  EXPECT_FALSE(rollout_.steps(0).has_ready_since());
  Replaced("zk1");
  Advance(kT0 + absl::Seconds(12));  // ready again from here
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:UPDATING", "zk2:WAITING"));
  Advance(kT0 + absl::Seconds(22));
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:DONE", "zk2:UPDATING"));
}

TEST_F(AdvanceRolloutTest, AFailureOfTheNewSpecHaltsTheRestOnTheirPreviousSpec) {
  Plan("  zk: {image: i, count: 3, ready: {tcp: 2181}}\n", 3, 0);
  Advance();
  Replaced("zk1");
  statuses_["zk1"].set_state(bdcoord::v1::INSTANCE_STATE_FAILED);
  statuses_["zk1"].set_message("exited with code 3");
  const RolloutAdvance advance = Advance();
  EXPECT_EQ(rollout_.state(), Rollout::STATE_HALTED);
  EXPECT_EQ(rollout_.message(), "instance zk1 failed with the new spec: exited with code 3");
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:FAILED", "zk2:WAITING", "zk3:WAITING"));
  EXPECT_FALSE(advance.revert_requested);
  EXPECT_EQ(advance.events.back().kind, "rollout-halted");
  EXPECT_EQ(PinnedInstances(rollout_).size(), 2u);
  // Halted: nothing more happens.
  EXPECT_FALSE(Advance().changed);
}

// Its host went down (no status at all), or the new spec never gets ready: the step fails at
// its progress_deadline instead of holding the rollout forever.
TEST_F(AdvanceRolloutTest, AStepNotReadyWithinItsProgressDeadlineFails) {
  Plan("  zk: {image: i, count: 2, ready: {tcp: 2181}, update: {progress_deadline: 1m}}\n", 2, 0);
  Advance(kT0);
  statuses_.erase("zk1");  // its host stopped reporting
  RolloutAdvance advance = Advance(kT0 + absl::Seconds(30));
  EXPECT_FALSE(advance.changed);
  EXPECT_EQ(advance.recheck_at, kT0 + absl::Minutes(1));  // the controller looks again then
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:UPDATING", "zk2:WAITING"));
  advance = Advance(kT0 + absl::Minutes(1));
  EXPECT_EQ(rollout_.state(), Rollout::STATE_HALTED);
  EXPECT_EQ(rollout_.message(),
            "instance zk1 failed with the new spec: not ready within 1m of its release "
            "(update.progress_deadline)");
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:FAILED", "zk2:WAITING"));
  ASSERT_GE(advance.events.size(), 2u);
  EXPECT_EQ(advance.events[0].kind, "rollout-failed");

  // Without the field: 10 minutes. Replaced but never ready (a probe that never passes).
  Plan("  zk: {image: i, count: 2, ready: {tcp: 2181}}\n", 2, 0);
  Advance(kT0);
  Replaced("zk1", /*ready=*/false);
  EXPECT_EQ(Advance(kT0 + absl::Minutes(9)).recheck_at, kT0 + absl::Minutes(10));
  EXPECT_EQ(rollout_.state(), Rollout::STATE_ROLLING);
  Advance(kT0 + absl::Minutes(10));
  EXPECT_EQ(rollout_.state(), Rollout::STATE_HALTED);
  // Ready in time, min_healthy still counting: not failed by the deadline.
  Plan(
      "  zk: {image: i, count: 2, ready: {tcp: 2181},"
      " update: {progress_deadline: 5s, min_healthy: 30s}}\n",
      2, 0);
  Advance(kT0);
  Replaced("zk1");
  Advance(kT0 + absl::Seconds(1));
  Advance(kT0 + absl::Seconds(20));
  EXPECT_EQ(rollout_.state(), Rollout::STATE_ROLLING);
  Advance(kT0 + absl::Seconds(31));
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:DONE", "zk2:UPDATING"));
}

TEST_F(AdvanceRolloutTest, OnFailureRevertAsksForTheUndo) {
  Plan("  zk: {image: i, count: 2, ready: {tcp: 2181}, update: {on_failure: revert}}\n", 2, 0);
  Advance();
  Replaced("zk1");
  statuses_["zk1"].set_state(bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_TRUE(Advance().revert_requested);
  // An undo that fails halts: reverting the revert would loop.
  Plan("  zk: {image: i, count: 2, ready: {tcp: 2181}, update: {on_failure: revert}}\n", 2, 0);
  rollout_.set_undo(true);
  Advance();
  Replaced("zk1");
  statuses_["zk1"].set_state(bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_FALSE(Advance().revert_requested);
  EXPECT_EQ(rollout_.state(), Rollout::STATE_HALTED);
}

TEST_F(AdvanceRolloutTest, PausedReleasesNothingButFinishesWhatIsUnderway) {
  Plan("  zk: {image: i, count: 2, ready: {tcp: 2181}}\n", 2, 0);
  Advance();
  rollout_.set_state(Rollout::STATE_PAUSED);
  Replaced("zk1");
  Advance();
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:DONE", "zk2:WAITING"));
  EXPECT_EQ(rollout_.state(), Rollout::STATE_PAUSED);
  rollout_.set_state(Rollout::STATE_ROLLING);
  Advance();
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:DONE", "zk2:UPDATING"));
}

TEST_F(AdvanceRolloutTest, AnOldSpecFailingIsNotTheNewSpecFailing) {
  Plan("  zk: {image: i, count: 2, ready: {tcp: 2181}}\n", 2, 0);
  Advance();
  statuses_["zk1"].set_state(bdcoord::v1::INSTANCE_STATE_FAILED);  // still the old hash
  Advance();
  EXPECT_EQ(rollout_.state(), Rollout::STATE_ROLLING);
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:UPDATING", "zk2:WAITING"));
}

constexpr char kLeaderLast[] =
    "  zk: {image: i, count: 3, ready: {tcp: 2181}, update: {order: leader_last, leader: {exec: "
    "[is-leader]}}}\n";

TEST_F(AdvanceRolloutTest, LeaderLastReplacesTheLeaderWhenNoOtherIsLeft) {
  Plan(kLeaderLast, 3, 0);
  // Leaders unknown: nothing goes, the controller is asked to probe the waiting ones.
  probed_ = false;
  RolloutAdvance advance = Advance();
  EXPECT_THAT(advance.probe_leaders, ElementsAre("zk1", "zk2", "zk3"));
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:WAITING", "zk2:WAITING", "zk3:WAITING"));
  probed_ = true;
  leaders_ = {"zk1"};
  Advance();
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:WAITING", "zk2:UPDATING", "zk3:WAITING"));
  // The next release comes in the same pass as zk2's update: it asks again then.
  probed_ = false;
  Replaced("zk2");
  advance = Advance();
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:WAITING", "zk2:DONE", "zk3:WAITING"));
  EXPECT_THAT(advance.probe_leaders, ElementsAre("zk1", "zk3"));
  leaders_ = {"zk3"};  // the leader moved meanwhile
  probed_ = true;
  Advance();
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:UPDATING", "zk2:DONE", "zk3:WAITING"));
  Replaced("zk1");
  probed_ = false;
  advance = Advance();  // one left: no choice, no probe
  EXPECT_THAT(advance.probe_leaders, testing::IsEmpty());
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:DONE", "zk2:DONE", "zk3:UPDATING"));
}

TEST_F(AdvanceRolloutTest, WithoutLeaderLastTheLeadersAreIgnored) {
  Plan("  zk: {image: i, count: 2, ready: {tcp: 2181}}\n", 2, 0);
  probed_ = false;
  EXPECT_THAT(Advance().probe_leaders, testing::IsEmpty());
  EXPECT_THAT(Steps(rollout_), ElementsAre("zk1:UPDATING", "zk2:WAITING"));
}

TEST(RolloutForReply, LeavesThePreviousSpecsOut) {
  Rollout rollout;
  rollout.add_steps()->mutable_previous()->add_command("big");
  EXPECT_FALSE(RolloutForReply(rollout).steps(0).has_previous());
}

}  // namespace
}  // namespace bdcoord::coordinator
