// Host loss: which instances leave a lost host when (DueReschedules), the agents' fence
// (FenceAfter), and the planner keeping a rescheduled service off its lost host while every
// other instance stays where it is, with the same IPs.
#include "coordinator/plan/reschedule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coordinator/plan/planner.h"
#include "coordinator/render/desired_state.h"
#include "coordinator/spec/spec_loader.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kSpec[] = R"(cluster: demo
hosts:
  - {name: h1}
  - {name: h2}
  - {name: h3}
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24}
services:
  zk: {image: zk, count: 3, placement: {distinct_hosts: true}, reschedule: {after: 30s}}
  web: {image: web, count: 3, placement: {distinct_hosts: true}}
  slow: {image: slow, count: 3, placement: {distinct_hosts: true}, reschedule: {after: 2m}}
)";

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

class RescheduleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ = LoadSpec(kSpec);
    ASSERT_THAT(loaded_.diagnostics, IsEmpty());
    plan_ = MakePlan(loaded_, {});
    ASSERT_THAT(plan_.diagnostics, IsEmpty());
    ASSERT_THAT(plan_.failures, IsEmpty());
    for (const auto& instance : plan_.placement.instances()) {
      if (instance.host() == "h2") on_h2_.push_back(instance.name());
    }
  }
  LoadedSpec loaded_;
  Plan plan_;
  std::vector<std::string> on_h2_;
};

TEST_F(RescheduleTest, OnlyServicesWithRescheduleLeaveALostHostOnceTheirAfterHasPassed) {
  const std::map<std::string, absl::Time> lost = {{"h2", kT0}};
  // Not yet: the soonest is due 30 s after the last heartbeat.
  RescheduleDecision early =
      DueReschedules(loaded_.spec, plan_.placement, lost, kT0 + absl::Seconds(29));
  EXPECT_TRUE(early.empty());
  EXPECT_EQ(early.next_due, kT0 + absl::Seconds(30));

  RescheduleDecision due =
      DueReschedules(loaded_.spec, plan_.placement, lost, kT0 + absl::Seconds(30));
  ASSERT_EQ(due.instances.size(), 1u);
  EXPECT_EQ(due.instances[0].service, "zk");
  EXPECT_EQ(due.instances[0].from, "h2");
  EXPECT_EQ(due.instances[0].lost_for, absl::Seconds(30));
  EXPECT_THAT(due.moving_off.at("zk"), ElementsAre("h2"));
  EXPECT_EQ(due.next_due, kT0 + absl::Minutes(2)) << "slow's turn";

  RescheduleDecision later =
      DueReschedules(loaded_.spec, plan_.placement, lost, kT0 + absl::Minutes(2));
  ASSERT_EQ(later.instances.size(), 2u) << "zk and slow; web stays on h2 for good";
  EXPECT_EQ(later.instances[0].service, "zk");
  EXPECT_EQ(later.instances[1].service, "slow");
  EXPECT_FALSE(later.moving_off.contains("web"));
  EXPECT_EQ(later.next_due, absl::InfiniteFuture());

  // No lost host, or a host nothing is on: nothing moves.
  EXPECT_TRUE(DueReschedules(loaded_.spec, plan_.placement, {}, kT0 + absl::Hours(1)).empty());
  EXPECT_TRUE(
      DueReschedules(loaded_.spec, plan_.placement, {{"h9", kT0}}, kT0 + absl::Hours(1)).empty());
}

TEST_F(RescheduleTest, TheFenceIsHalfOfAfterAndComesWithTheDesiredInstance) {
  EXPECT_EQ(FenceAfter(absl::Seconds(30)), absl::Seconds(15));
  EXPECT_EQ(FenceAfter(kMinRescheduleAfter), absl::Seconds(10));
  EXPECT_LT(FenceAfter(kMinRescheduleAfter), kMinRescheduleAfter);
  const auto desired = DesiredInstances(loaded_.spec, plan_);
  for (const auto& [name, instance] : desired) {
    if (instance.service() == "zk") {
      EXPECT_EQ(instance.fence_after().seconds(), 15) << name;
    } else if (instance.service() == "web") {
      EXPECT_FALSE(instance.has_fence_after()) << name;
    }
  }
}

TEST_F(RescheduleTest, ThePlannerMovesOnlyTheDueServiceOffTheLostHostKeepingEveryIp) {
  // A fourth host to move to; h2 is still listed (lost) so that what stays there keeps its place.
  std::vector<bdcoord::v1::Host> hosts(loaded_.spec.hosts().begin(), loaded_.spec.hosts().end());
  hosts.emplace_back().set_name("h4");
  PreviousPlacement previous;
  for (const auto& instance : plan_.placement.instances()) {
    previous.host_of[instance.name()] = instance.host();
    previous.ip_of[instance.name()] = instance.ip();
  }
  const std::map<std::string, std::set<std::string>> moving_off = {{"zk", {"h2"}}};
  PlanOptions options;
  options.inventory = &hosts;
  options.previous = &previous;
  options.moving_off = &moving_off;
  const Plan moved = MakePlan(loaded_, options);
  ASSERT_THAT(moved.failures, IsEmpty());
  ASSERT_THAT(moved.diagnostics, IsEmpty());
  for (const auto& instance : moved.placement.instances()) {
    EXPECT_EQ(instance.ip(), previous.ip_of.at(instance.name())) << instance.name();
    const std::string& before = previous.host_of.at(instance.name());
    if (instance.service() == "zk" && before == "h2") {
      EXPECT_EQ(instance.host(), "h4") << "the only host left for distinct_hosts";
    } else {
      EXPECT_EQ(instance.host(), before) << instance.name();
    }
  }
  EXPECT_EQ(moved.hosts_file, plan_.hosts_file) << "names and IPs do not change";
}

}  // namespace
}  // namespace bdcoord::coordinator
