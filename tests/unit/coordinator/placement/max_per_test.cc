// The max_per filter alone: which hosts it keeps as instances are placed, its name and its hints.
#include "coordinator/placement/filters/max_per.h"

#include <string>
#include <vector>

#include "bdcoord/v1/spec.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/placement_builders.h"

namespace bdcoord::coordinator {
namespace {

using ::bdcoord::testing::MakeHost;
using ::bdcoord::v1::Host;
using ::bdcoord::v1::Service;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Hosts a1, a2 in rack a; b1 in rack b; "bare" without a rack label.
class MaxPerFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hosts_ = {MakeHost("a1", {{"rack", "a"}}), MakeHost("a2", {{"rack", "a"}}),
              MakeHost("b1", {{"rack", "b"}}), MakeHost("bare")};
    state_.hosts = &hosts_;
    state_.of_service.assign(hosts_.size(), 0);
    service_.set_name("zk");
    service_.set_count(5);
  }

  void SetMaxPer(const std::string& label, uint32_t count) {
    service_.mutable_placement()->mutable_max_per()->set_label(label);
    service_.mutable_placement()->mutable_max_per()->set_count(count);
  }

  PlacementFilter& Make() {
    filters_.clear();
    AddMaxPerFilter(service_, state_, filters_);
    EXPECT_EQ(filters_.size(), 1u);
    return *filters_.at(0);
  }

  std::vector<bool> FeasibleHosts(const PlacementFilter& filter) const {
    std::vector<bool> feasible;
    for (size_t h = 0; h < hosts_.size(); ++h) feasible.push_back(filter.Feasible(h));
    return feasible;
  }

  std::vector<Host> hosts_;
  PlacementState state_;
  Service service_;
  PlacementFilters filters_;
};

TEST_F(MaxPerFilterTest, NoFilterWithoutTheRule) {
  AddMaxPerFilter(service_, state_, filters_);
  EXPECT_THAT(filters_, IsEmpty());
}

TEST_F(MaxPerFilterTest, NameAndChangesOnEveryHostOfAValueWhileTheServiceIsPlaced) {
  SetMaxPer("rack", 2);
  const PlacementFilter& filter = Make();
  EXPECT_EQ(filter.Name(), "max_per rack=2");
  EXPECT_FALSE(filter.Static());
  EXPECT_TRUE(filter.AffectsOtherHosts());  // a full rack is full on all of its hosts
}

TEST_F(MaxPerFilterTest, ARackIsFullAfterCountInstancesOnAnyOfItsHosts) {
  SetMaxPer("rack", 2);
  PlacementFilter& filter = Make();
  // A host without the label is never feasible: its failure domain is unknown.
  EXPECT_THAT(FeasibleHosts(filter), ElementsAre(true, true, true, false));
  filter.Placed(0);
  EXPECT_THAT(FeasibleHosts(filter), ElementsAre(true, true, true, false));
  filter.Placed(1);  // the second instance in rack a, on its other host
  EXPECT_THAT(FeasibleHosts(filter), ElementsAre(false, false, true, false));
  filter.Placed(2);
  filter.Placed(2);
  EXPECT_THAT(FeasibleHosts(filter), ElementsAre(false, false, false, false));
}

TEST_F(MaxPerFilterTest, CountsInstancesAlreadyPlacedWhenMade) {
  SetMaxPer("rack", 1);
  state_.of_service = {0, 1, 0, 0};  // one instance on a2 already
  const PlacementFilter& filter = Make();
  EXPECT_THAT(FeasibleHosts(filter), ElementsAre(false, false, true, false));
}

TEST_F(MaxPerFilterTest, PlacedOnAHostWithoutTheLabelCountsNowhere) {
  SetMaxPer("rack", 1);
  PlacementFilter& filter = Make();
  filter.Placed(3);
  EXPECT_THAT(FeasibleHosts(filter), ElementsAre(true, true, true, false));
}

TEST_F(MaxPerFilterTest, HintSaysHowManyLabelValuesTheCountNeeds) {
  SetMaxPer("rack", 2);  // 5 instances, 2 per rack: 3 racks; the candidates span a and b
  const PlacementFilter& filter = Make();
  EXPECT_EQ(filter.Hint(std::vector<int>{0, 1, 2, 3}),
            "max_per rack=2 needs 3 rack values for 5 instances, eligible hosts have 2: add racks "
            "or raise the max_per count");
  EXPECT_EQ(filter.Hint(std::vector<int>{1}),
            "max_per rack=2 needs 3 rack values for 5 instances, eligible hosts have 1: add racks "
            "or raise the max_per count");
}

TEST_F(MaxPerFilterTest, HintWhenNoCandidateHasTheLabel) {
  SetMaxPer("zone", 1);
  const PlacementFilter& filter = Make();
  EXPECT_THAT(FeasibleHosts(filter), ElementsAre(false, false, false, false));
  EXPECT_EQ(filter.Hint(std::vector<int>{0, 3}),
            "max_per zone=1 needs hosts labelled zone and no eligible host has it: label hosts "
            "with zone or drop max_per");
}

TEST_F(MaxPerFilterTest, CountZeroAllowsNothing) {
  SetMaxPer("rack", 0);  // validation rejects it; the filter still fails closed
  const PlacementFilter& filter = Make();
  EXPECT_THAT(FeasibleHosts(filter), ElementsAre(false, false, false, false));
  EXPECT_EQ(filter.Hint(std::vector<int>{0}),
            "max_per rack=0 allows no instance: raise the max_per count");
}

}  // namespace
}  // namespace bdcoord::coordinator
