// PassProgress: what a report made in the middle of a pass says of the instances not reached yet.
#include "agent/pass_progress.h"

#include <gtest/gtest.h>

#include "agent/reconcile/decide.h"

namespace bdcoord::agent {
namespace {

bdcoord::v1::DesiredState TwoInstances(uint64_t generation) {
  bdcoord::v1::DesiredState desired;
  desired.set_cluster("a");
  desired.set_generation(generation);
  for (const char* name : {"a-zk1", "a-zk2"}) {
    auto* instance = desired.add_instances();
    instance->set_cluster("a");
    instance->set_service("zk");
    instance->set_name(name);
    instance->set_image("standin");
  }
  return desired;
}

bdcoord::v1::InstanceStatus ReadyOn(const bdcoord::v1::DesiredInstance& instance) {
  bdcoord::v1::InstanceStatus status;
  status.set_name(instance.name());
  status.set_service(instance.service());
  status.set_state(bdcoord::v1::INSTANCE_STATE_RUNNING);
  status.set_ready(true);
  status.set_spec_hash(SpecHashOf(instance));
  return status;
}

TEST(PassProgressTest, KeepsWhatWasReportedOfTheSameSpecAndNotOfAnother) {
  const bdcoord::v1::DesiredState before = TwoInstances(1);
  bdcoord::v1::DesiredState now = TwoInstances(2);
  now.mutable_instances(1)->add_command("--changed");
  now.mutable_instances(1)->set_hold(true);  // not part of the spec: a-zk1 below is kept
  now.mutable_instances(0)->set_hold(true);
  auto* added = now.add_instances();
  added->set_name("a-zk3");
  added->set_service("zk");

  const PassProgress progress(now, {ReadyOn(before.instances(0)), ReadyOn(before.instances(1))},
                              before.generation());
  const bdcoord::v1::StatusReport report = progress.Report();
  EXPECT_EQ(report.generation(), 2u);
  ASSERT_EQ(report.instances_size(), 3);
  EXPECT_EQ(report.instances(0).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_TRUE(report.instances(0).ready());
  EXPECT_EQ(report.instances(1).state(), bdcoord::v1::INSTANCE_STATE_PENDING)
      << "running, but the spec it runs is about to be replaced";
  EXPECT_FALSE(report.instances(1).ready());
  EXPECT_EQ(report.instances(1).message(),
            "changing to its new spec: waiting for this host's agent");
  EXPECT_EQ(report.instances(2).state(), bdcoord::v1::INSTANCE_STATE_PENDING);
  EXPECT_EQ(report.instances(2).message(), "waiting for this host's agent");
}

TEST(PassProgressTest, TheCoordinatorWaitsOnlyWhenItsLastReportWasOnAnotherGeneration) {
  const bdcoord::v1::DesiredState desired = TwoInstances(2);
  const std::vector<bdcoord::v1::InstanceStatus> reported = {ReadyOn(desired.instances(0))};
  EXPECT_TRUE(PassProgress(desired, reported, 1).CoordinatorWaits());
  EXPECT_FALSE(PassProgress(desired, reported, 2).CoordinatorWaits()) << "it has them";
  EXPECT_FALSE(PassProgress(desired, {}, 1).CoordinatorWaits()) << "nothing to tell yet";
  EXPECT_FALSE(PassProgress(desired, {}, 0).CoordinatorWaits()) << "a first pass";
  bdcoord::v1::DesiredState down = desired;
  down.set_generation(3);
  down.clear_instances();
  EXPECT_FALSE(PassProgress(down, reported, 2).CoordinatorWaits())
      << "a whole report without a-zk1 would say it is gone before the pass removed it";
  bdcoord::v1::DesiredState scaled_down = desired;
  scaled_down.set_generation(3);
  scaled_down.mutable_instances()->DeleteSubrange(0, 1);
  EXPECT_FALSE(PassProgress(scaled_down, reported, 2).CoordinatorWaits());
}

}  // namespace
}  // namespace bdcoord::agent
