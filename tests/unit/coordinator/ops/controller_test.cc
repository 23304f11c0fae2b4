// ClusterController passes, driven one at a time, against the fake agents and clock and the
// real SQLite store on a temporary file.
#include "coordinator/ops/controller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "google/protobuf/util/time_util.h"
#include "net/hosts_map.h"
#include "tests/testing/metrics.h"
#include "tests/unit/coordinator/ops/ops_fixture.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// The instances of the desired state not held, by name.
std::set<std::string> Names(const bdcoord::v1::DesiredState& desired) {
  std::set<std::string> names;
  for (const auto& instance : desired.instances()) {
    if (!instance.hold()) names.insert(instance.name());
  }
  return names;
}

// The instances the hosts were last told to run (not hold) for the cluster, across hosts.
std::set<std::string> Desired(const test_util::FakeAgentSessions& agents,
                              const std::string& cluster) {
  std::set<std::string> names;
  for (const char* host : {"h1", "h2", "h3"}) {
    if (auto desired = agents.LatestDesired(host, cluster)) names.merge(Names(*desired));
  }
  return names;
}

using ControllerTest = OpsTest;

using test_util::MetricValue;

std::optional<double> Instances(prometheus::Registry& registry, const std::string& service,
                                const std::string& state) {
  return MetricValue(registry, "bdcoord_instances",
                     {{"cluster", "chain"}, {"service", service}, {"state", state}});
}

TEST_F(ControllerTest, ReleasesServicesAlongDependsOn) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  controller_->RunPass();
  EXPECT_THAT(Desired(agents_, "chain"), ElementsAre("zk1", "zk2"));
  int sent = 0;
  for (const char* host : {"h1", "h2", "h3"}) {
    if (auto desired = agents_.LatestDesired(host, "chain")) sent += desired->instances_size();
  }
  EXPECT_EQ(sent, 5) << "the others are there, held";
  agents_.AnswerEveryDesiredState(bdcoord::v1::INSTANCE_STATE_RUNNING);
  controller_->RunPass();  // zk ready: kafka goes out
  EXPECT_THAT(Desired(agents_, "chain"), ElementsAre("kafka1", "kafka2", "zk1", "zk2"));
  agents_.AnswerEveryDesiredState(bdcoord::v1::INSTANCE_STATE_RUNNING);
  controller_->RunPass();  // kafka started: drill goes out
  EXPECT_THAT(Desired(agents_, "chain"), ElementsAre("drill1", "kafka1", "kafka2", "zk1", "zk2"));
  auto statuses = store_->InstanceStatuses("chain");
  ASSERT_TRUE(statuses.ok()) << statuses.status();
  EXPECT_EQ(statuses->size(), 5u);  // drill answered while held
  EXPECT_EQ(statuses->at("drill1").status.state(), bdcoord::v1::INSTANCE_STATE_CREATED);
}

TEST_F(ControllerTest, SendsAHostOnlyWhatChanged) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  controller_->RunPass();
  const size_t sent = agents_.sent().size();
  EXPECT_GT(sent, 0u);
  controller_->RunPass();
  EXPECT_EQ(agents_.sent().size(), sent);
  // A reconnected host (a new session) is told everything again.
  const std::string host = agents_.sent().front().host;
  Connect(host);
  controller_->RunPass();
  EXPECT_EQ(agents_.sent().size(), sent + 1);
  EXPECT_EQ(agents_.sent().back().host, host);
}

// The entries of the whole hosts map the desired state carries (0: none).
size_t WholeMapSize(const bdcoord::v1::DesiredState& desired) {
  absl::StatusOr<net::HostsMap> map = net::FromProto(desired.hosts_map());
  EXPECT_TRUE(map.ok()) << map.status();
  return map.ok() ? map->size() : 0;
}

// The hosts map's version the host was last sent, whole or by delta (0: none).
uint64_t HostsVersionSent(const test_util::FakeAgentSessions& agents, const std::string& host) {
  const auto desired = agents.LatestDesired(host, "chain");
  return desired.has_value() ? desired->hosts_map().version() : 0;
}

TEST_F(ControllerTest, ACurrentHostGetsOnlyTheHostsDeltaAndAReconnectedOneTheWholeMap) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  RunUntilSettled();
  std::vector<test_util::FakeAgentSessions::Sent> sent = agents_.sent();
  for (const auto& message : sent) {  // the first state of each host has the whole map
    EXPECT_TRUE(message.message.desired().has_hosts_map()) << message.host;
    EXPECT_EQ(WholeMapSize(message.message.desired()), 5u) << message.host;
    break;
  }
  const uint64_t version = HostsVersionSent(agents_, "h1");
  ASSERT_NE(version, 0u);
  const size_t before = sent.size();

  clock_.Advance(absl::Minutes(1));  // a scale is no new apply: applied_at stays
  ASSERT_TRUE(ops_->Scale("chain", "drill", 2).ok());
  controller_->RunPass();
  sent = agents_.sent();
  ASSERT_GT(sent.size(), before);
  int hosts_only = 0;
  for (size_t i = before; i < sent.size(); ++i) {
    const bdcoord::v1::DesiredState& desired = sent[i].message.desired();
    EXPECT_FALSE(desired.has_hosts_map()) << sent[i].host << " needs no whole map";
    ASSERT_TRUE(desired.has_hosts_delta()) << sent[i].host;
    EXPECT_EQ(desired.hosts_delta().from_version(), version);
    ASSERT_EQ(desired.hosts_delta().changes_size(), 1);
    EXPECT_EQ(desired.hosts_delta().changes(0).entry().fqdn(), "drill2.chain.lan");
    if (desired.hosts_only()) {
      ++hosts_only;
      EXPECT_EQ(desired.instances_size(), 0);
      EXPECT_LT(sent[i].message.ByteSizeLong(), 200u) << sent[i].message.DebugString();
    }
  }
  EXPECT_EQ(hosts_only, static_cast<int>(sent.size() - before) - 1)
      << "all but the host of drill2 get the delta alone";
  for (const char* host : {"h1", "h2", "h3"}) {
    const auto desired = agents_.LatestDesired(host, "chain");
    ASSERT_TRUE(desired.has_value()) << host;
    EXPECT_THAT(desired->hosts_file(), ::testing::HasSubstr("\tdrill2.chain.lan drill2\n"));
    EXPECT_GT(desired->instances_size(), 0) << host << " keeps its instances";
  }

  // A reconnected host (a new session) may have missed anything: the whole map.
  agents_.AnswerEveryDesiredState(bdcoord::v1::INSTANCE_STATE_RUNNING);
  controller_->RunPass();
  const size_t settled = agents_.sent().size();
  Connect("h2");
  controller_->RunPass();
  sent = agents_.sent();
  ASSERT_EQ(sent.size(), settled + 1);
  EXPECT_EQ(sent.back().host, "h2");
  EXPECT_FALSE(sent.back().message.desired().hosts_only());
  EXPECT_GT(sent.back().message.desired().instances_size(), 0);
  EXPECT_EQ(WholeMapSize(sent.back().message.desired()), 6u);
}

TEST_F(ControllerTest, AHostThatDidNotTakeADeltaGetsTheWholeMapOnce) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  RunUntilSettled();
  const uint64_t version = HostsVersionSent(agents_, "h1");
  ASSERT_TRUE(ops_->Scale("chain", "drill", 2).ok());
  controller_->RunPass();
  agents_.AnswerEveryDesiredState(bdcoord::v1::INSTANCE_STATE_RUNNING);
  // h1 says, against the delta's generation, that it still has the version before.
  std::optional<bdcoord::v1::StatusReport> report = agents_.LatestStatus("h1", "chain");
  ASSERT_TRUE(report.has_value());
  ASSERT_NE(report->hosts_version(), version);
  report->set_hosts_version(version);
  agents_.SetReport("h1", *report);
  const size_t before = agents_.sent().size();
  controller_->RunPass();
  std::vector<test_util::FakeAgentSessions::Sent> sent = agents_.sent();
  ASSERT_EQ(sent.size(), before + 1);
  EXPECT_EQ(sent.back().host, "h1");
  EXPECT_EQ(WholeMapSize(sent.back().message.desired()), 6u);
  EXPECT_GT(sent.back().message.desired().instances_size(), 0);

  // Should it still report another version after the whole map, it is not sent again and again.
  agents_.AnswerEveryDesiredState(bdcoord::v1::INSTANCE_STATE_RUNNING);
  report = agents_.LatestStatus("h1", "chain");
  report->set_hosts_version(1);
  agents_.SetReport("h1", *report);
  controller_->RunPass();
  controller_->RunPass();
  EXPECT_EQ(agents_.sent().size(), before + 1);
}

TEST_F(ControllerTest, GenerationsStartFromTheClockAndReportsOnOlderOnesAreIgnored) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  controller_->RunPass();
  const test_util::FakeAgentSessions::Sent first = agents_.sent().front();
  EXPECT_GT(first.message.desired().generation(),
            static_cast<uint64_t>(absl::ToUnixMicros(clock_.Now())));
  // A report against another generation is not recorded.
  bdcoord::v1::StatusReport stale;
  stale.set_cluster("chain");
  stale.set_generation(first.message.desired().generation() - 1);
  auto* status = stale.add_instances();
  status->set_name(first.message.desired().instances(0).name());
  status->set_state(bdcoord::v1::INSTANCE_STATE_RUNNING);
  agents_.SetReport(first.host, stale);
  controller_->RunPass();
  EXPECT_THAT(*store_->InstanceStatuses("chain"), IsEmpty());
}

TEST_F(ControllerTest, ApplyingTheSameSpecAgainTellsTheAgentsWithANewAppliedAt) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  controller_->RunPass();
  const test_util::FakeAgentSessions::Sent first = agents_.sent().front();
  EXPECT_EQ(google::protobuf::util::TimeUtil::TimestampToMicroseconds(
                first.message.desired().applied_at()),
            absl::ToUnixMicros(clock_.Now()));
  const size_t sent = agents_.sent().size();
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(Apply().ok());  // unchanged: the agents retry what they gave up on
  controller_->RunPass();
  ASSERT_GT(agents_.sent().size(), sent);
  const bdcoord::v1::DesiredState again = agents_.sent().back().message.desired();  // a copy
  EXPECT_EQ(google::protobuf::util::TimeUtil::TimestampToMicroseconds(again.applied_at()),
            absl::ToUnixMicros(clock_.Now()));
  const std::vector<test_util::FakeAgentSessions::Sent> sent_all = agents_.sent();
  for (const auto& previous : sent_all) {  // the same instances as that host had
    if (previous.host == sent_all.back().host) {
      EXPECT_EQ(Names(again), Names(previous.message.desired()));
      break;
    }
  }
}

TEST_F(ControllerTest, HostsRunningAClusterTheStoreDoesNotKnowAreToldToRemoveIt) {
  ConnectAll();
  bdcoord::v1::StatusReport report;
  report.set_cluster("gone");
  report.add_instances()->set_name("old1");
  agents_.SetReport("h2", report);
  controller_->RunPass();
  const auto desired = agents_.LatestDesired("h2", "gone");
  ASSERT_TRUE(desired.has_value());
  EXPECT_EQ(desired->instances_size(), 0);
}

TEST_F(ControllerTest, AnUnreachableHostIsToldAgainAtTheNextPass) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  agents_.SetUnreachable("h1");
  controller_->RunPass();
  EXPECT_FALSE(agents_.LatestDesired("h1", "chain").has_value());
  EXPECT_TRUE(agents_.LatestDesired("h2", "chain").has_value());
}

// A report that makes a dependency ready releases its dependents in the pass it wakes (the agent
// service wakes the controller on every report), not on the periodic tick: here there is none.
TEST_F(ControllerTest, AWakeReleasesTheDependentsWithoutWaitingForTheTick) {
  ClusterController controller(
      inventory_, agents_, *store_,
      std::make_shared<spdlog::logger>("tick", std::make_shared<spdlog::sinks::null_sink_mt>()),
      clock_.AsFunction(), /*period=*/absl::Hours(1));
  controller.Start();
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  // The deadlines only bound a broken controller: each wait ends with the pass it woke.
  uint64_t seen = controller.Passes();
  controller.Wake();
  ASSERT_TRUE(controller.AwaitPassAfter(seen, absl::Seconds(10)));
  EXPECT_THAT(Desired(agents_, "chain"), ElementsAre("zk1", "zk2"));
  agents_.AnswerEveryDesiredState(bdcoord::v1::INSTANCE_STATE_RUNNING);  // zk ready
  seen = controller.Passes();
  controller.Wake();
  ASSERT_TRUE(controller.AwaitPassAfter(seen, absl::Seconds(10)));
  EXPECT_THAT(Desired(agents_, "chain"), ElementsAre("kafka1", "kafka2", "zk1", "zk2"));
}

TEST_F(ControllerTest, CountsPassesForWhoeverWaitsOnThem) {
  const uint64_t seen = controller_->Passes();
  EXPECT_FALSE(controller_->AwaitPassAfter(seen, absl::ZeroDuration()));
  controller_->RunPass();
  EXPECT_EQ(controller_->Passes(), seen + 1);
  EXPECT_TRUE(controller_->AwaitPassAfter(seen, absl::ZeroDuration()));
}

}  // namespace
}  // namespace bdcoord::coordinator

namespace bdcoord::coordinator {
namespace {

TEST_F(ControllerTest, GaugesCountInstancesByServiceAndStateFromEachPass) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  controller_->RunPass();
  EXPECT_EQ(Instances(registry_, "zk", "pending"), 2);
  EXPECT_EQ(Instances(registry_, "kafka", "pending"), 2);
  EXPECT_EQ(Instances(registry_, "drill", "pending"), 1);
  EXPECT_EQ(Instances(registry_, "zk", "running"), std::nullopt);

  RunUntilSettled();
  EXPECT_EQ(Instances(registry_, "zk", "running"), 2);
  EXPECT_EQ(Instances(registry_, "kafka", "running"), 2);
  EXPECT_EQ(Instances(registry_, "drill", "running"), 1);
  EXPECT_EQ(Instances(registry_, "zk", "pending"), std::nullopt) << "a state left is removed";

  ASSERT_TRUE(store_->DeleteCluster("chain").ok());  // what Down does first
  controller_->RunPass();
  EXPECT_EQ(Instances(registry_, "zk", "running"), std::nullopt) << "a cluster taken down";
}

TEST_F(ControllerTest, GaugesCountHostsConnectedDownAndDrained) {
  ConnectAll();
  controller_->RunPass();
  EXPECT_EQ(MetricValue(registry_, "bdcoord_hosts", {{"state", "connected"}}), 3);
  EXPECT_EQ(MetricValue(registry_, "bdcoord_hosts", {{"state", "down"}}), 0);
  inventory_.Disconnected("h2");
  bdcoord::v1::HostFacts facts;
  ASSERT_TRUE(store_->AdmitHost("h3", facts, clock_.Now()).ok());
  ASSERT_TRUE(store_->SetHostDrained("h3", true).ok());
  controller_->RunPass();
  EXPECT_EQ(MetricValue(registry_, "bdcoord_hosts", {{"state", "connected"}}), 2);
  EXPECT_EQ(MetricValue(registry_, "bdcoord_hosts", {{"state", "down"}}), 1);
  EXPECT_EQ(MetricValue(registry_, "bdcoord_hosts", {{"state", "drained"}}), 1);
}

TEST_F(ControllerTest, CountsTheDesiredStatesItSendsAndTheirBytes) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  controller_->RunPass();
  const std::vector<test_util::FakeAgentSessions::Sent> sent = agents_.sent();
  double bytes = 0;
  for (const auto& one : sent) bytes += static_cast<double>(one.message.ByteSizeLong());
  EXPECT_EQ(MetricValue(registry_, "bdcoord_desired_states_sent_total"),
            static_cast<double>(sent.size()));
  EXPECT_EQ(MetricValue(registry_, "bdcoord_desired_state_sent_bytes_total"), bytes);
  EXPECT_GT(bytes, 0);
}

}  // namespace
}  // namespace bdcoord::coordinator
