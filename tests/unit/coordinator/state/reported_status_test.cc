#include "coordinator/state/reported_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

namespace bdcoord::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Key;

bdcoord::v1::Placement PlacementOf(const std::map<std::string, std::string>& host_of) {
  bdcoord::v1::Placement placement;
  for (const auto& [name, host] : host_of) {
    bdcoord::v1::PlacedInstance* instance = placement.add_instances();
    instance->set_name(name);
    instance->set_host(host);
  }
  return placement;
}

ReportedStatus Reported(const std::string& host, bool ready) {
  ReportedStatus reported{.host = host, .status = {}};
  reported.status.set_state(bdcoord::v1::INSTANCE_STATE_RUNNING);
  reported.status.set_ready(ready);
  return reported;
}

TEST(StatusesOnPlacementTest, KeepsWhatTheHostOfThePlacementReported) {
  const auto statuses = StatusesOnPlacement(PlacementOf({{"zk1", "h1"}, {"zk2", "h2"}}),
                                            {{"zk1", Reported("h1", true)}});
  EXPECT_THAT(statuses, ElementsAre(Key("zk1")));
  EXPECT_TRUE(statuses.at("zk1").ready());
}

// Issue 14: a drained instance moved from h4 to h2 showed h4's `running yes` on h2.
TEST(StatusesOnPlacementTest, AMovedInstanceHasNoStatusUntilItsNewHostReports) {
  const bdcoord::v1::Placement moved = PlacementOf({{"kafka1", "h2"}});
  EXPECT_THAT(StatusesOnPlacement(moved, {{"kafka1", Reported("h4", true)}}), IsEmpty());
  EXPECT_THAT(StatusesOnPlacement(moved, {{"kafka1", Reported("h2", false)}}),
              ElementsAre(Key("kafka1")));
}

TEST(StatusesOnPlacementTest, LeavesOutInstancesNotPlacedAndUnknownHosts) {
  EXPECT_THAT(StatusesOnPlacement(PlacementOf({{"zk1", "h1"}}), {{"zk9", Reported("h1", true)}}),
              IsEmpty());
  // A status with no reporting host (none is stored so) belongs to no placement.
  EXPECT_THAT(StatusesOnPlacement(PlacementOf({{"zk1", "h1"}}), {{"zk1", Reported("", true)}}),
              IsEmpty());
  EXPECT_THAT(StatusesOnPlacement(bdcoord::v1::Placement(), {}), IsEmpty());
}

}  // namespace
}  // namespace bdcoord::coordinator
