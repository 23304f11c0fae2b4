#include "coordinator/placement/scheduler.h"

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "bdcoord/v1/spec.pb.h"
#include "coordinator/placement/filters/constraint.h"
#include "coordinator/spec/instance_names.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/placement_builders.h"

namespace bdcoord::coordinator {
namespace {

using ::bdcoord::testing::Cluster;
using ::bdcoord::testing::Labels;
using ::bdcoord::testing::MakeConstraint;
using ::bdcoord::testing::MakeHost;
using ::bdcoord::testing::Previous;
using ::bdcoord::v1::ClusterSpec;
using ::bdcoord::v1::Constraint;
using ::bdcoord::v1::Host;
using ::bdcoord::v1::Service;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::vector<std::pair<std::string, int>> Filters(const PlacementFailure& failure) {
  std::vector<std::pair<std::string, int>> filters;
  for (const auto& filter : failure.filters)
    filters.emplace_back(filter.rule, filter.hosts_filtered);
  return filters;
}

using FilterList = std::vector<std::pair<std::string, int>>;

// --- ConstraintHolds -----------------------------------------------------------------------

TEST(ConstraintHoldsTest, EveryOperatorWithAndWithoutTheLabel) {
  const Host r1 = MakeHost("a", {{"rack", "r1"}});
  const Host r2 = MakeHost("b", {{"rack", "r2"}});
  const Host bare = MakeHost("c");
  struct Case {
    Constraint constraint;
    bool r1, r2, bare;
  };
  const std::vector<Case> cases = {
      {MakeConstraint("rack", Constraint::OP_EQUAL, {"r1"}, "rack == r1"), true, false, false},
      {MakeConstraint("rack", Constraint::OP_NOT_EQUAL, {"r1"}, "rack != r1"), false, true, true},
      {MakeConstraint("rack", Constraint::OP_IN, {"r1", "r3"}, "rack in (r1,r3)"), true, false,
       false},
      {MakeConstraint("rack", Constraint::OP_NOT_IN, {"r1", "r3"}, "rack not in (r1,r3)"), false,
       true, true},
      {MakeConstraint("rack", Constraint::OP_EXISTS, {}, "rack exists"), true, true, false},
      {MakeConstraint("rack", Constraint::OP_NOT_EXISTS, {}, "rack not exists"), false, false,
       true},
      {MakeConstraint("rack", Constraint::OP_UNSPECIFIED, {"r1"}, "rack ?? r1"), false, false,
       false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.constraint.text());
    EXPECT_EQ(ConstraintHolds(c.constraint, r1), c.r1);
    EXPECT_EQ(ConstraintHolds(c.constraint, r2), c.r2);
    EXPECT_EQ(ConstraintHolds(c.constraint, bare), c.bare);
  }
}

// --- One test per hard rule ----------------------------------------------------------------

// Three hosts: rack r1, rack r2, no rack label.
class ConstraintOpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.AddHost("h1", {{"rack", "r1"}});
    cluster_.AddHost("h2", {{"rack", "r2"}, {"ssd", "true"}});
    cluster_.AddHost("h3");
  }

  std::vector<std::string> PlaceFourWith(const Constraint& constraint) {
    Service& service = cluster_.AddService("app", 4);
    *service.mutable_placement()->add_constraints() = constraint;
    ScheduleResult result = cluster_.Run();
    EXPECT_THAT(result.failures, IsEmpty());
    return cluster_.HostsOf(result, 0);
  }

  Cluster cluster_;
};

TEST_F(ConstraintOpTest, Equal) {
  EXPECT_THAT(PlaceFourWith(MakeConstraint("rack", Constraint::OP_EQUAL, {"r2"}, "rack == r2")),
              Each("h2"));
}

TEST_F(ConstraintOpTest, NotEqualAcceptsHostsWithoutTheLabel) {
  EXPECT_THAT(PlaceFourWith(MakeConstraint("rack", Constraint::OP_NOT_EQUAL, {"r1"}, "rack != r1")),
              ElementsAre("h2", "h3", "h2", "h3"));
}

TEST_F(ConstraintOpTest, In) {
  EXPECT_THAT(
      PlaceFourWith(MakeConstraint("rack", Constraint::OP_IN, {"r1", "r2"}, "rack in (r1,r2)")),
      ElementsAre("h1", "h2", "h1", "h2"));
}

TEST_F(ConstraintOpTest, NotInAcceptsHostsWithoutTheLabel) {
  EXPECT_THAT(PlaceFourWith(MakeConstraint("rack", Constraint::OP_NOT_IN, {"r2", "r7"},
                                           "rack not in (r2,r7)")),
              ElementsAre("h1", "h3", "h1", "h3"));
}

TEST_F(ConstraintOpTest, Exists) {
  EXPECT_THAT(PlaceFourWith(MakeConstraint("ssd", Constraint::OP_EXISTS, {}, "ssd exists")),
              Each("h2"));
}

TEST_F(ConstraintOpTest, NotExists) {
  EXPECT_THAT(
      PlaceFourWith(MakeConstraint("rack", Constraint::OP_NOT_EXISTS, {}, "rack not exists")),
      Each("h3"));
}

TEST_F(ConstraintOpTest, SeveralConstraintsAllHold) {
  Service& service = cluster_.AddService("app", 2);
  *service.mutable_placement()->add_constraints() =
      MakeConstraint("rack", Constraint::OP_EXISTS, {}, "rack exists");
  *service.mutable_placement()->add_constraints() =
      MakeConstraint("rack", Constraint::OP_NOT_EQUAL, {"r2"}, "rack != r2");
  ScheduleResult result = cluster_.Run();
  EXPECT_THAT(result.failures, IsEmpty());
  EXPECT_THAT(cluster_.HostsOf(result, 0), Each("h1"));
}

TEST(SchedulerTest, PinnedHosts) {
  Cluster cluster;
  for (const char* name : {"h1", "h2", "h3", "h4"}) cluster.AddHost(name);
  Service& service = cluster.AddService("app", 4);
  service.mutable_placement()->add_hosts("h3");
  service.mutable_placement()->add_hosts("h1");
  service.mutable_placement()->add_hosts("gone");  // not in the inventory: pins nothing
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(result.failures, IsEmpty());
  // Inventory order breaks ties, not the order of the pin list.
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("h1", "h3", "h1", "h3"));
}

TEST(SchedulerTest, ColocateWithIsPlacedAfterItsTargetAndOnlyOnItsHosts) {
  Cluster cluster;
  for (const char* name : {"h1", "h2", "h3", "h4", "h5"}) cluster.AddHost(name);
  // The colocated service comes first in the spec; its target is pinned to h2 and h4.
  Service& taskmanager = cluster.AddService("taskmanager", 4);
  taskmanager.mutable_placement()->set_colocate_with("datanode");
  Service& datanode = cluster.AddService("datanode", 2);
  datanode.mutable_placement()->add_hosts("h4");
  datanode.mutable_placement()->add_hosts("h2");
  cluster.AddService("other", 3);
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(result.failures, IsEmpty());
  EXPECT_THAT(cluster.HostsOf(result, 1), ElementsAre("h2", "h4"));
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("h2", "h4", "h2", "h4"));
  // "other" keeps its spec position after datanode: it sees datanode and taskmanager load.
  EXPECT_THAT(cluster.HostsOf(result, 2), ElementsAre("h1", "h3", "h5"));
}

TEST(SchedulerTest, ColocateWithAServicePlacedLaterInSpecOrderWaitsForIt) {
  // a colocates with c; b is independent. Order: b, c, a (a waits; b keeps its place).
  Cluster cluster;
  cluster.AddHost("h1");
  cluster.AddHost("h2");
  cluster.AddService("a", 1).mutable_placement()->set_colocate_with("c");
  cluster.AddService("b", 1);
  cluster.AddService("c", 1);
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(result.failures, IsEmpty());
  EXPECT_THAT(cluster.HostsOf(result, 1), ElementsAre("h1"));
  EXPECT_THAT(cluster.HostsOf(result, 2), ElementsAre("h2"));
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("h2"));
}

TEST(SchedulerTest, DistinctHosts) {
  Cluster cluster;
  cluster.AddHost("x1", {{"zone", "x"}});
  cluster.AddHost("y1", {{"zone", "y"}});
  cluster.AddHost("y2", {{"zone", "y"}});
  Service& stacked = cluster.AddService("stacked", 3);
  stacked.mutable_placement()->set_spread("zone");
  Service& distinct = cluster.AddService("distinct", 3);
  distinct.mutable_placement()->set_spread("zone");
  distinct.mutable_placement()->set_distinct_hosts(true);
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(result.failures, IsEmpty());
  // Spread alone sends the third instance back to zone x, onto x1 again. distinct_hosts forces
  // it onto the last host of zone y (the second went to y2, less loaded than y1).
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("x1", "y1", "x1"));
  EXPECT_THAT(cluster.HostsOf(result, 1), ElementsAre("x1", "y2", "y1"));
}

TEST(SchedulerTest, CapacityCpus) {
  Cluster cluster;
  cluster.AddHost("h1", {}, /*millicpus=*/2000);
  cluster.AddHost("h2", {}, /*millicpus=*/1000);
  cluster.AddHost("h3", {}, /*millicpus=*/500);
  Service& service = cluster.AddService("app", 3);
  service.mutable_resources()->set_millicpus(1000);
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(result.failures, IsEmpty());
  // h3 never fits; h2 fits once; h1 twice.
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("h1", "h2", "h1"));
}

TEST(SchedulerTest, CapacityMemory) {
  Cluster cluster;
  constexpr int64_t kGi = int64_t{1} << 30;
  cluster.AddHost("h1", {}, 0, 1 * kGi);
  cluster.AddHost("h2", {}, 0, 3 * kGi);
  Service& service = cluster.AddService("app", 3);
  service.mutable_resources()->set_memory_bytes(kGi);
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(result.failures, IsEmpty());
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("h1", "h2", "h2"));
}

TEST(SchedulerTest, CapacityZeroIsUnlimitedAndCountsEveryService) {
  Cluster cluster;
  cluster.AddHost("small", {}, 1500, 0);
  cluster.AddHost("unlimited");  // capacity 0: no limit
  Service& first = cluster.AddService("first", 1);
  first.mutable_resources()->set_millicpus(1000);
  first.mutable_placement()->add_hosts("small");
  Service& second = cluster.AddService("second", 3);
  second.mutable_resources()->set_millicpus(1000);
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(result.failures, IsEmpty());
  // "small" has 500 left after "first": every "second" goes to the unlimited host.
  EXPECT_THAT(cluster.HostsOf(result, 1), Each("unlimited"));
}

// Racks r1, r2, r3 of two hosts each, and one host without a rack label.
Cluster RackedCluster() {
  Cluster cluster;
  for (const char* rack : {"r1", "r2", "r3"}) {
    for (int i = 1; i <= 2; ++i) cluster.AddHost(absl::StrCat(rack, "-h", i), {{"rack", rack}});
  }
  cluster.AddHost("unracked");
  return cluster;
}

void SetMaxPer(Service& service, const std::string& label, uint32_t count) {
  service.mutable_placement()->mutable_max_per()->set_label(label);
  service.mutable_placement()->mutable_max_per()->set_count(count);
}

TEST(SchedulerTest, MaxPerOneZooKeeperPerRack) {
  Cluster cluster = RackedCluster();
  SetMaxPer(cluster.AddService("zk", 4), "rack", 1);
  const ScheduleResult result = cluster.Run();
  // Least-loaded in host order would put zk2 on r1-h2 beside zk1; max_per moves it to the next
  // rack, and never to the host without a rack label: zk4 finds no fourth rack.
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("r1-h1", "r2-h1", "r3-h1", "-"));
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].instance, "zk4");
}

TEST(SchedulerTest, MaxPerTwoKafkaPerRackFillsEveryHostOfARack) {
  Cluster cluster = RackedCluster();
  SetMaxPer(cluster.AddService("kafka", 6), "rack", 2);
  const ScheduleResult result = cluster.Run();
  ASSERT_THAT(result.failures, IsEmpty());
  EXPECT_THAT(cluster.HostsOf(result, 0),
              ElementsAre("r1-h1", "r1-h2", "r2-h1", "r2-h2", "r3-h1", "r3-h2"));
}

TEST(SchedulerTest, MaxPerWithSpreadOverAnotherLabelSkipsFullRacksInEveryZone) {
  Cluster cluster;
  // Zone x holds racks a and b, zone y holds rack c only.
  cluster.AddHost("a1", {{"zone", "x"}, {"rack", "a"}});
  cluster.AddHost("b1", {{"zone", "x"}, {"rack", "b"}});
  cluster.AddHost("c1", {{"zone", "y"}, {"rack", "c"}});
  cluster.AddHost("c2", {{"zone", "y"}, {"rack", "c"}});
  Service& app = cluster.AddService("app", 4);
  app.mutable_placement()->set_spread("zone");
  SetMaxPer(app, "rack", 1);
  const ScheduleResult result = cluster.Run();
  // x, y, x; then zone y is next but its only rack is full (c2 is dropped though it is empty).
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("a1", "c1", "b1", "-"));
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(Filters(result.failures[0]), (FilterList{{"max_per rack=1", 4}}));
}

TEST(SchedulerTest, MaxPerReplanKeepsInstancesInIndexOrderUpToTheCount) {
  Cluster cluster = RackedCluster();
  SetMaxPer(cluster.AddService("zk", 3), "rack", 1);
  // zk1 and zk2 were both in r2 (max_per is new): zk1 stays, zk2 moves, zk3 stays in r3.
  const Previous previous = {{"zk1", "r2-h1"}, {"zk2", "r2-h2"}, {"zk3", "r3-h2"}};
  const ScheduleResult result = cluster.Run(&previous);
  ASSERT_THAT(result.failures, IsEmpty());
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("r2-h1", "r1-h1", "r3-h2"));
}

// --- Soft rules ----------------------------------------------------------------------------

TEST(SchedulerTest, SpreadZooKeepersEvenlyOverThreeRacksOfSix) {
  Cluster cluster;
  // Racks listed in inventory order r3, r1, r2, so host order alone would fill r3 first.
  for (const char* rack : {"r3", "r1", "r2"}) {
    for (int i = 1; i <= 6; ++i) cluster.AddHost(absl::StrCat(rack, "-h", i), {{"rack", rack}});
  }
  Service& zk = cluster.AddService("zk", 3);
  zk.mutable_placement()->set_spread("rack");
  cluster.AddService("unspread", 3);
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(result.failures, IsEmpty());
  // Ties between racks go to the smallest value, then the first host of that rack.
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("r1-h1", "r2-h1", "r3-h1"));
  // Without spread, the least-loaded hosts in inventory order all sit in one rack.
  EXPECT_THAT(cluster.HostsOf(result, 1), ElementsAre("r3-h2", "r3-h3", "r3-h4"));
}

TEST(SchedulerTest, SpreadBalancesRacksThenHostsInsideARack) {
  Cluster cluster;
  for (const char* rack : {"a", "b"}) {
    for (int i = 1; i <= 2; ++i) cluster.AddHost(absl::StrCat(rack, i), {{"rack", rack}});
  }
  cluster.AddHost("nolabel");  // its own group, value ""
  // Load "a1" and "nolabel" with another service first.
  Service& load = cluster.AddService("load", 2);
  load.mutable_placement()->add_hosts("a1");
  load.mutable_placement()->add_hosts("nolabel");
  Service& app = cluster.AddService("app", 6);
  app.mutable_placement()->set_spread("rack");
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(result.failures, IsEmpty());
  // Groups "", a, b tie at 0 → "" first; then a (least-loaded host a2), then b, then the
  // lexicographic round again. Inside "a", a1 carries "load" so a2 comes first.
  EXPECT_THAT(cluster.HostsOf(result, 1),
              ElementsAre("nolabel", "a2", "b1", "nolabel", "a1", "b2"));
}

TEST(SchedulerTest, SpreadCountsOnlyThisServiceAndSkipsGroupsWithoutCandidates) {
  Cluster cluster;
  cluster.AddHost("x1", {{"zone", "x"}});
  cluster.AddHost("y1", {{"zone", "y"}});
  cluster.AddHost("y2", {{"zone", "y"}});
  Service& app = cluster.AddService("app", 3);
  app.mutable_placement()->set_spread("zone");
  app.mutable_placement()->set_distinct_hosts(true);
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(result.failures, IsEmpty());
  // After x1 and y1 the zones tie and x would win, but x has no candidate left (distinct_hosts).
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("x1", "y1", "y2"));
}

TEST(SchedulerTest, LoadBalancingLeastLoadedThenHostOrder) {
  Cluster cluster;
  for (const char* name : {"h1", "h2", "h3"}) cluster.AddHost(name);
  cluster.AddService("a", 4);
  cluster.AddService("b", 5);
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(result.failures, IsEmpty());
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("h1", "h2", "h3", "h1"));
  // After a: h1=2, h2=1, h3=1.
  EXPECT_THAT(cluster.HostsOf(result, 1), ElementsAre("h2", "h3", "h1", "h2", "h3"));
}

TEST(SchedulerTest, LoadBalancingTieOnTotalPrefersFewerOfThisService) {
  Cluster cluster;
  cluster.AddHost("h1");
  cluster.AddHost("h2");
  Service& other = cluster.AddService("other", 1);
  other.mutable_placement()->add_hosts("h2");
  cluster.AddService("app", 2);
  // app1 stays on h1 from before: totals tie (1 and 1) but h1 already runs an app.
  const Previous previous = {{"other1", "h2"}, {"app1", "h1"}};
  ScheduleResult result = cluster.Run(&previous);
  EXPECT_THAT(result.failures, IsEmpty());
  EXPECT_THAT(cluster.HostsOf(result, 1), ElementsAre("h1", "h2"));
}

// --- Determinism ---------------------------------------------------------------------------

Cluster MixedCluster() {
  Cluster cluster;
  for (int i = 0; i < 40; ++i) {
    Labels labels = {{"rack", absl::StrCat("r", i % 5)}};
    if (i % 3 == 0) labels["ssd"] = "yes";
    cluster.AddHost(absl::StrCat("host", i), labels, i % 4 == 0 ? 0 : 8000, int64_t{16} << 30);
  }
  Service& zk = cluster.AddService("zk", 5);
  zk.mutable_placement()->set_spread("rack");
  zk.mutable_placement()->set_distinct_hosts(true);
  Service& kafka = cluster.AddService("kafka", 30);
  kafka.mutable_placement()->set_spread("rack");
  *kafka.mutable_placement()->add_constraints() =
      MakeConstraint("ssd", Constraint::OP_EXISTS, {}, "ssd exists");
  kafka.mutable_resources()->set_millicpus(1500);
  Service& tm = cluster.AddService("tm", 25);
  tm.mutable_placement()->set_colocate_with("kafka");
  tm.mutable_resources()->set_memory_bytes(int64_t{2} << 30);
  Service& web = cluster.AddService("web", 100);
  *web.mutable_placement()->add_constraints() =
      MakeConstraint("rack", Constraint::OP_NOT_IN, {"r0"}, "rack not in (r0)");
  web.mutable_resources()->set_millicpus(250);
  Service& pinned = cluster.AddService("pinned", 60);  // more than fits: failures too
  pinned.mutable_placement()->add_hosts("host1");
  pinned.mutable_placement()->add_hosts("host2");
  pinned.mutable_resources()->set_millicpus(1000);
  return cluster;
}

// Everything but the hint.
void ExpectSameFailure(const PlacementFailure& a, const PlacementFailure& b) {
  EXPECT_EQ(a.service, b.service);
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.instance, b.instance);
  EXPECT_EQ(a.hosts_total, b.hosts_total);
  EXPECT_EQ(Filters(a), Filters(b));
}

void ExpectSameResult(const ScheduleResult& a, const ScheduleResult& b) {
  EXPECT_EQ(a.hosts_by_service, b.hosts_by_service);
  ASSERT_EQ(a.failures.size(), b.failures.size());
  for (size_t i = 0; i < a.failures.size(); ++i) {
    ExpectSameFailure(a.failures[i], b.failures[i]);
    EXPECT_EQ(a.failures[i].hint, b.failures[i].hint);
  }
}

TEST(SchedulerTest, DeterministicAcrossRunsAndCopies) {
  const Cluster cluster = MixedCluster();
  const ScheduleResult first = cluster.Run();
  EXPECT_FALSE(first.failures.empty());  // the scenario exercises failures too
  const ScheduleResult second = cluster.Run();
  ExpectSameResult(first, second);
  const Cluster copy = cluster;  // other addresses, same content
  ExpectSameResult(first, copy.Run());
}

TEST(SchedulerTest, DeterministicWhateverTheOrderOfThePreviousMap) {
  const Cluster cluster = MixedCluster();
  const ScheduleResult first = cluster.Run();
  const Previous previous = cluster.PlacementOf(first);
  std::vector<std::pair<std::string, std::string>> entries(previous.begin(), previous.end());
  std::sort(entries.begin(), entries.end());
  Previous forward, backward;
  for (const auto& entry : entries) forward.insert(entry);
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) backward.insert(*it);
  ExpectSameResult(cluster.Run(&forward), cluster.Run(&backward));
}

// --- Re-planning with the previous placement ----------------------------------------------

TEST(SchedulerTest, ReplanKeepsEveryInstanceWhenNothingChanged) {
  const Cluster cluster = MixedCluster();
  const ScheduleResult first = cluster.Run();
  const Previous previous = cluster.PlacementOf(first);
  ExpectSameResult(first, cluster.Run(&previous));
}

TEST(SchedulerTest, ReplanKeepsPreviousHostsEvenWhenAnotherHostIsLessLoaded) {
  Cluster cluster;
  for (const char* name : {"h1", "h2", "h3"}) cluster.AddHost(name);
  cluster.AddService("app", 3);
  const Previous previous = {{"app1", "h3"}, {"app2", "h3"}};
  ScheduleResult result = cluster.Run(&previous);
  EXPECT_THAT(result.failures, IsEmpty());
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("h3", "h3", "h1"));
}

TEST(SchedulerTest, ReplanMovesOnlyTheInstanceWhoseHostLostALabel) {
  Cluster cluster;
  for (const char* rack : {"r1", "r2", "r3"}) {
    for (int i = 1; i <= 3; ++i) {
      cluster.AddHost(absl::StrCat(rack, "-h", i), {{"rack", rack}, {"ssd", "yes"}});
    }
  }
  Service& kafka = cluster.AddService("kafka", 6);
  kafka.mutable_placement()->set_spread("rack");
  *kafka.mutable_placement()->add_constraints() =
      MakeConstraint("ssd", Constraint::OP_EXISTS, {}, "ssd exists");
  cluster.AddService("web", 5);
  const ScheduleResult first = cluster.Run();
  ASSERT_THAT(first.failures, IsEmpty());
  const std::vector<std::string> kafka_before = cluster.HostsOf(first, 0);
  const std::vector<std::string> web_before = cluster.HostsOf(first, 1);
  ASSERT_EQ(kafka_before[1], "r2-h1");

  // r2-h1 loses its ssd label: kafka2 must move (to r2, to keep the spread), nothing else does.
  const Previous previous = cluster.PlacementOf(first);
  cluster.hosts()[3].mutable_labels()->erase("ssd");
  ASSERT_EQ(cluster.hosts()[3].name(), "r2-h1");
  const ScheduleResult second = cluster.Run(&previous);
  ASSERT_THAT(second.failures, IsEmpty());
  const std::vector<std::string> kafka_after = cluster.HostsOf(second, 0);
  for (size_t i = 0; i < kafka_before.size(); ++i) {
    if (i == 1) continue;
    EXPECT_EQ(kafka_after[i], kafka_before[i]) << "kafka" << i + 1;
  }
  EXPECT_NE(kafka_after[1], "r2-h1");
  EXPECT_EQ(kafka_after[1].substr(0, 2), "r2");
  EXPECT_EQ(cluster.HostsOf(second, 1), web_before);
}

TEST(SchedulerTest, ReplanMovesInstancesOfAHostThatIsGone) {
  Cluster cluster;
  for (const char* name : {"h1", "h2", "h3", "h4"}) cluster.AddHost(name);
  cluster.AddService("app", 8);
  const ScheduleResult first = cluster.Run();
  const Previous previous = cluster.PlacementOf(first);
  ASSERT_THAT(cluster.HostsOf(first, 0),
              ElementsAre("h1", "h2", "h3", "h4", "h1", "h2", "h3", "h4"));

  cluster.hosts().erase(cluster.hosts().begin() + 1);  // h2 is gone; indices shift
  const ScheduleResult second = cluster.Run(&previous);
  EXPECT_THAT(second.failures, IsEmpty());
  // app2 and app6 were on h2; they go to the least-loaded hosts, the others stay.
  EXPECT_THAT(cluster.HostsOf(second, 0),
              ElementsAre("h1", "h1", "h3", "h4", "h1", "h3", "h3", "h4"));
}

TEST(SchedulerTest, ReplanMovesAnInstanceThatWouldBreakANewHardRule) {
  Cluster cluster;
  for (const char* name : {"h1", "h2", "h3"}) cluster.AddHost(name);
  Service& app = cluster.AddService("app", 3);
  app.mutable_placement()->set_distinct_hosts(true);  // new since the previous plan
  const Previous previous = {{"app1", "h2"}, {"app2", "h2"}, {"app3", "h3"}, {"app9", "h1"}};
  ScheduleResult result = cluster.Run(&previous);
  EXPECT_THAT(result.failures, IsEmpty());
  // app1 keeps h2 (lower index first), app3 keeps h3, app2 moves to the only host left.
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("h2", "h1", "h3"));
}

// --- Failures ------------------------------------------------------------------------------

TEST(SchedulerFailureTest, ExactFilterCountsEveryRuleInOrder) {
  Cluster cluster;
  // h1..h8; rack r1 for h1..h4, r2 for h5..h8.
  for (int i = 1; i <= 8; ++i) {
    cluster.AddHost(absl::StrCat("h", i), {{"rack", i <= 4 ? "r1" : "r2"}});
  }
  Service& dn = cluster.AddService("dn", 2);  // on h1 and h2
  dn.mutable_placement()->add_hosts("h1");
  dn.mutable_placement()->add_hosts("h2");
  dn.mutable_placement()->set_distinct_hosts(true);
  Service& app = cluster.AddService("app", 3);
  app.mutable_placement()->add_hosts("h1");
  app.mutable_placement()->add_hosts("h2");
  app.mutable_placement()->add_hosts("h3");
  app.mutable_placement()->add_hosts("h5");
  app.mutable_placement()->add_hosts("h6");
  *app.mutable_placement()->add_constraints() =
      MakeConstraint("rack", Constraint::OP_EQUAL, {"r1"}, "rack == r1");
  app.mutable_placement()->set_colocate_with("dn");
  app.mutable_placement()->set_distinct_hosts(true);
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(cluster.HostsOf(result, 1), ElementsAre("h1", "h2", "-"));
  ASSERT_EQ(result.failures.size(), 1u);
  const PlacementFailure& failure = result.failures[0];
  EXPECT_EQ(failure.service, "app");
  EXPECT_EQ(failure.index, 3u);
  EXPECT_EQ(failure.instance, "app3");
  EXPECT_EQ(failure.hosts_total, 8);
  EXPECT_EQ(Filters(failure), (FilterList{{"pinned hosts [h1, h2, h3, h5, h6]", 3},
                                          {"constraint `rack == r1`", 2},
                                          {"colocate_with dn", 1},
                                          {"distinct_hosts", 2}}));
  EXPECT_EQ(failure.hint,
            "distinct_hosts needs 3 eligible hosts for 3 instances: add hosts or lower count to 2");
}

TEST(SchedulerFailureTest, ConstraintHintAndRulesAfterTheLastCandidateStillListed) {
  Cluster cluster;
  cluster.AddHost("h1", {{"rack", "r1"}}, 4000, 0);
  cluster.AddHost("h2", {{"rack", "r2"}}, 4000, 0);
  Service& app = cluster.AddService("app", 2);
  *app.mutable_placement()->add_constraints() =
      MakeConstraint("rack", Constraint::OP_NOT_EQUAL, {"r2"}, "rack != r2");
  *app.mutable_placement()->add_constraints() =
      MakeConstraint("rack", Constraint::OP_IN, {"r9"}, "rack in (r9)");
  *app.mutable_placement()->add_constraints() =
      MakeConstraint("gpu", Constraint::OP_EXISTS, {}, "gpu exists");
  app.mutable_resources()->set_millicpus(100);
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("-", "-"));
  ASSERT_EQ(result.failures.size(), 2u);  // each instance reported
  for (uint32_t i = 0; i < 2; ++i) {
    const PlacementFailure& failure = result.failures[i];
    EXPECT_EQ(failure.index, i + 1);
    EXPECT_EQ(failure.instance, absl::StrCat("app", i + 1));
    EXPECT_EQ(failure.hosts_total, 2);
    EXPECT_EQ(Filters(failure), (FilterList{{"constraint `rack != r2`", 1},
                                            {"constraint `rack in (r9)`", 1},
                                            {"constraint `gpu exists`", 0},
                                            {"capacity (cpus)", 0}}));
    EXPECT_EQ(failure.hint,
              "add a host whose labels satisfy `rack in (r9)` or relax the constraint");
  }
}

TEST(SchedulerFailureTest, ConstraintTextRebuiltWhenMissing) {
  Cluster cluster;
  cluster.AddHost("h1");
  Service& app = cluster.AddService("app", 1);
  *app.mutable_placement()->add_constraints() =
      MakeConstraint("rack", Constraint::OP_NOT_IN, {"a", "b"}, "");
  *app.mutable_placement()->add_constraints() =
      MakeConstraint("rack", Constraint::OP_EQUAL, {"r1"}, "");
  ScheduleResult result = cluster.Run();
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(Filters(result.failures[0]),
            (FilterList{{"constraint `rack not in (a,b)`", 0}, {"constraint `rack == r1`", 1}}));
  EXPECT_EQ(result.failures[0].hint,
            "add a host whose labels satisfy `rack == r1` or relax the constraint");
}

TEST(SchedulerFailureTest, PinnedHint) {
  Cluster cluster;
  cluster.AddHost("h1");
  cluster.AddHost("h2");
  Service& app = cluster.AddService("app", 1);
  app.mutable_placement()->add_hosts("h9");
  ScheduleResult result = cluster.Run();
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(Filters(result.failures[0]), (FilterList{{"pinned hosts [h9]", 2}}));
  EXPECT_EQ(result.failures[0].hint, "pin more hosts or lower count");
}

TEST(SchedulerFailureTest, ColocateWithHintWhenTheTargetCouldNotBePlaced) {
  Cluster cluster;
  cluster.AddHost("h1");
  cluster.AddHost("h2");
  Service& tm = cluster.AddService("tm", 1);
  tm.mutable_placement()->set_colocate_with("dn");
  Service& dn = cluster.AddService("dn", 1);
  dn.mutable_placement()->add_hosts("nowhere");
  ScheduleResult result = cluster.Run();
  ASSERT_EQ(result.failures.size(), 2u);
  // Failures come in spec order even though dn was placed first.
  EXPECT_EQ(result.failures[0].instance, "tm1");
  EXPECT_EQ(Filters(result.failures[0]), (FilterList{{"colocate_with dn", 2}}));
  EXPECT_EQ(result.failures[0].hint, "place more dn instances or drop colocate_with");
  EXPECT_EQ(result.failures[1].instance, "dn1");
  EXPECT_EQ(result.failures[1].hint, "pin more hosts or lower count");
}

TEST(SchedulerFailureTest, ColocateCycleAndUnknownTargetFailGracefully) {
  Cluster cluster;
  cluster.AddHost("h1");
  cluster.AddService("a", 1).mutable_placement()->set_colocate_with("b");
  cluster.AddService("b", 1).mutable_placement()->set_colocate_with("a");
  cluster.AddService("c", 1).mutable_placement()->set_colocate_with("c");
  cluster.AddService("d", 1).mutable_placement()->set_colocate_with("missing");
  cluster.AddService("e", 1);
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(cluster.HostsOf(result, 4), ElementsAre("h1"));
  ASSERT_EQ(result.failures.size(), 4u);
  EXPECT_EQ(result.failures[0].hint, "place more b instances or drop colocate_with");
  EXPECT_EQ(result.failures[1].hint, "place more a instances or drop colocate_with");
  EXPECT_EQ(result.failures[2].hint, "place more c instances or drop colocate_with");
  EXPECT_EQ(result.failures[3].hint, "place more missing instances or drop colocate_with");
}

TEST(SchedulerFailureTest, CapacityCpusHintLaterInstancesStillTryAndFailedUseNothing) {
  Cluster cluster;
  cluster.AddHost("h1", {}, 1000, 0);
  cluster.AddHost("h2", {}, 2500, 0);
  Service& app = cluster.AddService("app", 5);
  app.mutable_resources()->set_millicpus(1000);
  Service& small = cluster.AddService("small", 1);
  small.mutable_resources()->set_millicpus(500);
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("h1", "h2", "h2", "-", "-"));
  // Failed app instances reserve nothing: h2 still has the 500 that "small" needs.
  EXPECT_THAT(cluster.HostsOf(result, 1), ElementsAre("h2"));
  ASSERT_EQ(result.failures.size(), 2u);
  EXPECT_EQ(result.failures[0].instance, "app4");
  EXPECT_EQ(result.failures[1].instance, "app5");
  for (const PlacementFailure& failure : result.failures) {
    EXPECT_EQ(failure.hosts_total, 2);
    EXPECT_EQ(Filters(failure), (FilterList{{"capacity (cpus)", 2}}));
    EXPECT_EQ(failure.hint, "add hosts with more cpus or lower resources.cpus");
  }
}

TEST(SchedulerFailureTest, CapacityMemoryHint) {
  Cluster cluster;
  cluster.AddHost("h1", {}, 0, 1000);
  cluster.AddHost("h2", {}, 8000, 3000);
  cluster.AddHost("h3", {}, 500, 0);
  Service& app = cluster.AddService("app", 1);
  app.mutable_resources()->set_millicpus(1000);
  app.mutable_resources()->set_memory_bytes(2000);
  Service& hog = cluster.AddService("hog", 1);
  hog.mutable_resources()->set_memory_bytes(2000);
  hog.mutable_placement()->add_hosts("h1");
  hog.mutable_placement()->add_hosts("h2");
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("h2"));
  EXPECT_THAT(cluster.HostsOf(result, 1), ElementsAre("-"));
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].instance, "hog1");
  EXPECT_EQ(Filters(result.failures[0]),
            (FilterList{{"pinned hosts [h1, h2]", 1}, {"capacity (memory)", 2}}));
  EXPECT_EQ(result.failures[0].hint, "add hosts with more memory or lower resources.memory");

  // Cpus filter before memory: for "app" alone, h3 goes to cpus, h1 to memory.
  Cluster lone;
  lone.AddHost("h1", {}, 0, 1000);
  lone.AddHost("h3", {}, 500, 0);
  Service& only = lone.AddService("app", 1);
  only.mutable_resources()->set_millicpus(1000);
  only.mutable_resources()->set_memory_bytes(2000);
  ScheduleResult alone = lone.Run();
  ASSERT_EQ(alone.failures.size(), 1u);
  EXPECT_EQ(Filters(alone.failures[0]),
            (FilterList{{"capacity (cpus)", 1}, {"capacity (memory)", 1}}));
  EXPECT_EQ(alone.failures[0].hint, "add hosts with more memory or lower resources.memory");
}

TEST(SchedulerFailureTest, DistinctHostsWithSpreadReportsEveryExtraInstance) {
  Cluster cluster;
  cluster.AddHost("h1", {{"rack", "a"}});
  cluster.AddHost("h2", {{"rack", "b"}});
  Service& zk = cluster.AddService("zk", 4);
  zk.set_hostname("zookeeper");
  zk.mutable_placement()->set_spread("rack");
  zk.mutable_placement()->set_distinct_hosts(true);
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("h1", "h2", "-", "-"));
  ASSERT_EQ(result.failures.size(), 2u);
  EXPECT_EQ(result.failures[0].instance, "zookeeper3");
  EXPECT_EQ(result.failures[1].instance, "zookeeper4");
  EXPECT_EQ(Filters(result.failures[1]), (FilterList{{"distinct_hosts", 2}}));
  EXPECT_EQ(result.failures[1].hint,
            "distinct_hosts needs 4 eligible hosts for 4 instances: add hosts or lower count to 2");
}

TEST(SchedulerFailureTest, MaxPerMoreInstancesThanRacksExplainsWhatToAdd) {
  Cluster cluster = RackedCluster();
  Service& zk = cluster.AddService("zk", 5);
  *zk.mutable_placement()->add_constraints() =
      MakeConstraint("rack", Constraint::OP_NOT_EQUAL, {"r3"}, "rack != r3");
  SetMaxPer(zk, "rack", 1);
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(cluster.HostsOf(result, 0), ElementsAre("r1-h1", "r2-h1", "-", "-", "-"));
  ASSERT_EQ(result.failures.size(), 3u);
  for (const PlacementFailure& failure : result.failures) {
    EXPECT_EQ(failure.hosts_total, 7);
    // "unracked" passes `rack != r3` but has no rack label: max_per filters it with r1 and r2.
    EXPECT_EQ(Filters(failure),
              (FilterList{{"constraint `rack != r3`", 2}, {"max_per rack=1", 5}}));
    EXPECT_EQ(failure.hint,
              "max_per rack=1 needs 5 rack values for 5 instances, eligible hosts have 2: add "
              "racks or raise the max_per count");
  }
  EXPECT_EQ(result.failures[0].instance, "zk3");
}

TEST(SchedulerFailureTest, MaxPerOnALabelNoHostHas) {
  Cluster cluster = RackedCluster();
  SetMaxPer(cluster.AddService("app", 1), "room", 2);
  ScheduleResult result = cluster.Run();
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(Filters(result.failures[0]), (FilterList{{"max_per room=2", 7}}));
  EXPECT_EQ(result.failures[0].hint,
            "max_per room=2 needs hosts labelled room and no eligible host has it: label hosts "
            "with room or drop max_per");
}

TEST(SchedulerFailureTest, EmptyInventory) {
  Cluster cluster;
  cluster.AddService("app", 1);
  cluster.AddService("none", 0);
  ScheduleResult result = cluster.Run();
  EXPECT_THAT(result.hosts_by_service, ElementsAre(ElementsAre(-1), IsEmpty()));
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].hosts_total, 0);
  EXPECT_THAT(result.failures[0].filters, IsEmpty());
  EXPECT_FALSE(result.failures[0].hint.empty());
}

// --- Against a brute-force reference -------------------------------------------------------

// The semantics written the slow, obvious way: every instance looks at every host.
class ReferenceScheduler {
 public:
  ReferenceScheduler(const ClusterSpec& spec, const std::vector<Host>& hosts,
                     const Previous* previous)
      : spec_(spec), hosts_(hosts), previous_(previous) {}

  ScheduleResult Run() {
    const int num_services = spec_.services_size();
    const int num_hosts = static_cast<int>(hosts_.size());
    result_.hosts_by_service.resize(num_services);
    count_.assign(num_services, std::vector<int>(num_hosts, 0));
    total_.assign(num_hosts, 0);
    cpus_.assign(num_hosts, 0);
    memory_.assign(num_hosts, 0);
    placed_.assign(num_services, false);
    failures_.resize(num_services);
    // The first service in spec order whose colocate target (if it names a service) is placed;
    // when none is, the rest in spec order.
    std::vector<bool> ordered(num_services, false);
    int done = 0;
    while (done < num_services) {
      int next = -1;
      for (int s = 0; s < num_services && next < 0; ++s) {
        if (ordered[s]) continue;
        const int target = ServiceIndex(spec_.services(s).placement().colocate_with());
        if (target < 0 || ordered[target]) next = s;
      }
      if (next >= 0) {
        ordered[next] = true;
        ++done;
        PlaceService(next);
        continue;
      }
      for (int s = 0; s < num_services; ++s) {
        if (ordered[s]) continue;
        ordered[s] = true;
        ++done;
        PlaceService(s);
      }
    }
    for (auto& failures : failures_) {
      for (auto& failure : failures) result_.failures.push_back(std::move(failure));
    }
    return std::move(result_);
  }

 private:
  int ServiceIndex(const std::string& name) const {
    for (int s = 0; s < spec_.services_size(); ++s) {
      if (spec_.services(s).name() == name) return s;
    }
    return -1;
  }

  // Rule names in order, each with a predicate on a host.
  std::vector<std::pair<std::string, std::function<bool(int)>>> Rules(int s) const {
    const Service& service = spec_.services(s);
    const auto& placement = service.placement();
    std::vector<std::pair<std::string, std::function<bool(int)>>> rules;
    if (!placement.hosts().empty()) {
      std::string names;
      for (const auto& name : placement.hosts())
        absl::StrAppend(&names, names.empty() ? "" : ", ", name);
      rules.emplace_back(absl::StrCat("pinned hosts [", names, "]"), [this, &placement](int h) {
        return std::find(placement.hosts().begin(), placement.hosts().end(), hosts_[h].name()) !=
               placement.hosts().end();
      });
    }
    for (const Constraint& constraint : placement.constraints()) {
      rules.emplace_back(
          absl::StrCat("constraint `", constraint.text(), "`"),
          [this, &constraint](int h) { return ConstraintHolds(constraint, hosts_[h]); });
    }
    if (!placement.colocate_with().empty()) {
      const int target = ServiceIndex(placement.colocate_with());
      rules.emplace_back(absl::StrCat("colocate_with ", placement.colocate_with()),
                         [this, target](int h) {
                           return target >= 0 && placed_[target] && count_[target][h] > 0;
                         });
    }
    if (placement.distinct_hosts()) {
      rules.emplace_back("distinct_hosts", [this, s](int h) { return count_[s][h] == 0; });
    }
    if (placement.has_max_per()) {
      const std::string label = placement.max_per().label();
      const int max = static_cast<int>(placement.max_per().count());
      rules.emplace_back(absl::StrCat("max_per ", label, "=", max), [this, s, label, max](int h) {
        if (!hosts_[h].labels().contains(label)) return false;
        int in_value = 0;
        for (size_t o = 0; o < hosts_.size(); ++o) {
          if (hosts_[o].labels().contains(label) &&
              hosts_[o].labels().at(label) == hosts_[h].labels().at(label)) {
            in_value += count_[s][o];
          }
        }
        return in_value < max;
      });
    }
    const int64_t cpus = service.resources().millicpus();
    const int64_t memory = service.resources().memory_bytes();
    if (cpus > 0) {
      rules.emplace_back("capacity (cpus)", [this, cpus](int h) {
        const int64_t capacity = hosts_[h].capacity().millicpus();
        return capacity == 0 || cpus_[h] + cpus <= capacity;
      });
    }
    if (memory > 0) {
      rules.emplace_back("capacity (memory)", [this, memory](int h) {
        const int64_t capacity = hosts_[h].capacity().memory_bytes();
        return capacity == 0 || memory_[h] + memory <= capacity;
      });
    }
    return rules;
  }

  void Place(int s, int i, int h) {
    result_.hosts_by_service[s][i] = h;
    ++count_[s][h];
    ++total_[h];
    cpus_[h] += spec_.services(s).resources().millicpus();
    memory_[h] += spec_.services(s).resources().memory_bytes();
  }

  std::string Value(int h, const std::string& label) const {
    auto it = hosts_[h].labels().find(label);
    return it == hosts_[h].labels().end() ? "" : it->second;
  }

  void PlaceService(int s) {
    const Service& service = spec_.services(s);
    const int num_hosts = static_cast<int>(hosts_.size());
    const auto rules = Rules(s);
    auto passes = [&](int h) {
      for (const auto& rule : rules) {
        if (!rule.second(h)) return false;
      }
      return true;
    };
    const int count = static_cast<int>(service.count());
    result_.hosts_by_service[s].assign(count, -1);
    std::vector<bool> kept(count, false);
    for (int i = 0; i < count && previous_ != nullptr; ++i) {
      auto it = previous_->find(InstanceName(service, i + 1));
      if (it == previous_->end()) continue;
      for (int h = 0; h < num_hosts; ++h) {
        if (hosts_[h].name() != it->second) continue;
        if (passes(h)) {
          Place(s, i, h);
          kept[i] = true;
        }
        break;
      }
    }
    const std::string& spread = service.placement().spread();
    for (int i = 0; i < count; ++i) {
      if (kept[i]) continue;
      std::map<std::string, int> in_group;  // this service's instances per spread value
      for (int h = 0; h < num_hosts; ++h) in_group[Value(h, spread)] += count_[s][h];
      int best = -1;
      auto rank = [&](int h) {
        return std::make_tuple(spread.empty() ? 0 : in_group[Value(h, spread)],
                               spread.empty() ? "" : Value(h, spread), count_[s][h], total_[h], h);
      };
      for (int h = 0; h < num_hosts; ++h) {
        if (passes(h) && (best < 0 || rank(h) < rank(best))) best = h;
      }
      if (best >= 0) {
        Place(s, i, best);
        continue;
      }
      PlacementFailure failure;
      failure.service = service.name();
      failure.index = i + 1;
      failure.instance = InstanceName(service, i + 1);
      failure.hosts_total = num_hosts;
      std::vector<int> remaining;
      for (int h = 0; h < num_hosts; ++h) remaining.push_back(h);
      for (const auto& rule : rules) {
        std::vector<int> next;
        for (int h : remaining) {
          if (rule.second(h)) next.push_back(h);
        }
        failure.filters.push_back({rule.first, static_cast<int>(remaining.size() - next.size())});
        if (next.empty() && !remaining.empty()) failure.hint = rule.first;  // compared by kind
        remaining = std::move(next);
      }
      failures_[s].push_back(std::move(failure));
    }
    placed_[s] = true;
  }

  const ClusterSpec& spec_;
  const std::vector<Host>& hosts_;
  const Previous* previous_;
  std::vector<std::vector<int>> count_;
  std::vector<int64_t> total_, cpus_, memory_;
  std::vector<bool> placed_;
  std::vector<std::vector<PlacementFailure>> failures_;
  ScheduleResult result_;
};

// The rule a hint is about, to compare hints with the reference's "rule that emptied the list".
std::string HintRule(const std::string& hint) {
  if (absl::StartsWith(hint, "add a host whose labels satisfy `")) {
    const std::string text = hint.substr(hint.find('`') + 1);
    return absl::StrCat("constraint `", text.substr(0, text.find('`')), "`");
  }
  if (absl::StartsWith(hint, "pin more hosts")) return "pinned";
  if (absl::StartsWith(hint, "place more ")) {
    return absl::StrCat("colocate_with ", hint.substr(11, hint.find(" instances") - 11));
  }
  if (absl::StartsWith(hint, "distinct_hosts needs")) return "distinct_hosts";
  if (absl::StartsWith(hint, "max_per ")) return hint.substr(0, hint.find(' ', 8));
  if (absl::StartsWith(hint, "add hosts with more cpus")) return "capacity (cpus)";
  if (absl::StartsWith(hint, "add hosts with more memory")) return "capacity (memory)";
  return absl::StrCat("unknown hint: ", hint);
}

Cluster RandomCluster(std::mt19937& rng) {
  auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  Cluster cluster;
  const int num_hosts = pick(12);
  for (int h = 0; h < num_hosts; ++h) {
    Labels labels;
    if (pick(5) != 0) labels["rack"] = absl::StrCat("r", pick(4));
    if (pick(2) == 0) labels["ssd"] = "yes";
    const int64_t cpus = pick(3) == 0 ? 0 : 500 * (1 + pick(8));
    const int64_t memory = pick(3) == 0 ? 0 : 1000 * (1 + pick(8));
    cluster.AddHost(absl::StrCat("h", h), labels, cpus, memory);
  }
  const int num_services = 1 + pick(5);
  for (int s = 0; s < num_services; ++s) {
    Service& service = cluster.AddService(absl::StrCat("s", s), pick(9));
    auto& placement = *service.mutable_placement();
    if (pick(4) == 0) placement.set_spread(pick(2) == 0 ? "rack" : "ssd");
    if (pick(3) == 0) placement.set_distinct_hosts(true);
    if (pick(4) == 0) placement.set_colocate_with(absl::StrCat("s", pick(num_services + 1)));
    if (pick(5) == 0) {
      for (int k = pick(4); k >= 0; --k) placement.add_hosts(absl::StrCat("h", pick(14)));
    }
    if (pick(2) == 0) {
      static const Constraint::Op kOps[] = {Constraint::OP_EQUAL,  Constraint::OP_NOT_EQUAL,
                                            Constraint::OP_IN,     Constraint::OP_NOT_IN,
                                            Constraint::OP_EXISTS, Constraint::OP_NOT_EXISTS};
      const Constraint::Op op = kOps[pick(6)];
      const std::string label = pick(3) == 0 ? "ssd" : "rack";
      std::vector<std::string> values;
      if (op != Constraint::OP_EXISTS && op != Constraint::OP_NOT_EXISTS) {
        values.push_back(label == "ssd" ? "yes" : absl::StrCat("r", pick(4)));
        if (op == Constraint::OP_IN || op == Constraint::OP_NOT_IN) {
          values.push_back(absl::StrCat("r", pick(4)));
        }
      }
      *placement.add_constraints() =
          MakeConstraint(label, op, values, absl::StrCat(label, " op", op, " ", values.size()));
    }
    if (pick(2) == 0) service.mutable_resources()->set_millicpus(250 * pick(5));
    if (pick(2) == 0) service.mutable_resources()->set_memory_bytes(500 * pick(5));
  }
  return cluster;
}

Previous RandomPrevious(const Cluster& cluster, std::mt19937& rng) {
  Previous previous;
  for (const Service& service : cluster.spec().services()) {
    for (uint32_t i = 1; i <= service.count() + 1; ++i) {
      if (rng() % 2 == 0) {
        previous[InstanceName(service, i)] = absl::StrCat("h", rng() % 14);
      }
    }
  }
  return previous;
}

// The scheduler's result for the cluster, expected to match the reference: the same hosts, the
// same failures with the same filter counts, hints about the same rule.
void ExpectSameAsReference(const Cluster& cluster, const Previous* prev, ScheduleResult& got) {
  got = cluster.Run(prev);
  const ScheduleResult want = ReferenceScheduler(cluster.spec(), cluster.hosts(), prev).Run();
  ASSERT_EQ(got.hosts_by_service, want.hosts_by_service);
  ASSERT_EQ(got.failures.size(), want.failures.size());
  for (size_t f = 0; f < got.failures.size(); ++f) {
    ExpectSameFailure(got.failures[f], want.failures[f]);
    if (!want.failures[f].hint.empty()) {
      const std::string want_rule = absl::StartsWith(want.failures[f].hint, "pinned hosts")
                                        ? "pinned"
                                        : want.failures[f].hint;
      EXPECT_EQ(HintRule(got.failures[f].hint), want_rule) << got.failures[f].hint;
    }
  }
}

// Random clusters (changed by `adjust`), each placed without and then with a random previous
// placement and compared with the reference; `visit` sees each result that matched.
void CompareWithReferenceOnRandomClusters(
    uint32_t seed, int rounds, const std::function<void(Cluster&)>& adjust,
    const std::function<void(const Cluster&, const Previous*, const ScheduleResult&)>& visit) {
  std::mt19937 rng(seed);
  for (int round = 0; round < rounds; ++round) {
    Cluster cluster = RandomCluster(rng);
    adjust(cluster);
    const Previous previous = RandomPrevious(cluster, rng);
    for (const Previous* prev : {static_cast<const Previous*>(nullptr), &previous}) {
      SCOPED_TRACE(absl::StrCat("round ", round, prev ? " with previous" : "", "\n",
                                cluster.spec().DebugString()));
      ScheduleResult got;
      ExpectSameAsReference(cluster, prev, got);
      if (::testing::Test::HasFatalFailure()) return;
      visit(cluster, prev, got);
    }
  }
}

TEST(SchedulerReferenceTest, MatchesBruteForceOnRandomClusters) {
  int failures_seen = 0;
  int kept_seen = 0;
  CompareWithReferenceOnRandomClusters(
      20240611, 3000, [](Cluster&) {},
      [&](const Cluster& cluster, const Previous* prev, const ScheduleResult& got) {
        failures_seen += static_cast<int>(got.failures.size());
        if (prev == nullptr) return;
        for (int s = 0; s < cluster.spec().services_size(); ++s) {
          const auto& hosts = got.hosts_by_service[s];
          for (size_t i = 0; i < hosts.size(); ++i) {
            auto it = prev->find(InstanceName(cluster.spec().services(s), i + 1));
            if (hosts[i] >= 0 && it != prev->end() &&
                cluster.hosts()[hosts[i]].name() == it->second) {
              ++kept_seen;
            }
          }
        }
      });
  // The generator reaches the interesting paths.
  EXPECT_GT(failures_seen, 1000);
  EXPECT_GT(kept_seen, 1000);
}

// Gives max_per to some services of a random cluster (its own generator: RandomCluster's draws
// stay as they were).
void AddRandomMaxPer(Cluster& cluster, std::mt19937& rng) {
  for (Service& service : *cluster.spec().mutable_services()) {
    if (rng() % 2 != 0) continue;
    auto& max_per = *service.mutable_placement()->mutable_max_per();
    max_per.set_label(rng() % 3 == 0 ? "ssd" : "rack");
    max_per.set_count(1 + rng() % 3);
  }
}

TEST(SchedulerReferenceTest, MatchesBruteForceWithMaxPer) {
  std::mt19937 max_per_rng(7);
  int max_per_failures = 0;
  int placed = 0;
  CompareWithReferenceOnRandomClusters(
      20261202, 2000, [&](Cluster& cluster) { AddRandomMaxPer(cluster, max_per_rng); },
      [&](const Cluster&, const Previous*, const ScheduleResult& got) {
        for (const PlacementFailure& failure : got.failures) {
          max_per_failures += absl::StartsWith(failure.hint, "max_per ") ? 1 : 0;
        }
        for (const auto& hosts : got.hosts_by_service) {
          for (int h : hosts) placed += h >= 0 ? 1 : 0;
        }
      });
  // The generator reaches max_per as the rule that removes the last host, and places a lot.
  EXPECT_GT(max_per_failures, 300);
  EXPECT_GT(placed, 10000);
}

TEST(SchedulerTest, NullSpecAndNullHosts) {
  EXPECT_TRUE(Schedule(ScheduleInput{}).hosts_by_service.empty());
  ClusterSpec spec;
  spec.add_services()->set_count(1);
  ScheduleInput input;
  input.spec = &spec;
  ScheduleResult result = Schedule(input);
  EXPECT_THAT(result.hosts_by_service, ElementsAre(ElementsAre(-1)));
  EXPECT_EQ(result.failures.size(), 1u);
}

}  // namespace
}  // namespace bdcoord::coordinator
