#include "coordinator/plan/orchestrator.h"

#include <map>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::Dependency;
using bdcoord::v1::InstanceStatus;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

bdcoord::v1::Service* AddService(bdcoord::v1::ClusterSpec* spec, const std::string& name,
                                 uint32_t count) {
  auto* service = spec->add_services();
  service->set_name(name);
  service->set_count(count);
  return service;
}

void DependsOn(bdcoord::v1::Service* service, const std::string& on,
               Dependency::Condition condition) {
  auto* dependency = service->add_depends_on();
  dependency->set_service(on);
  dependency->set_condition(condition);
}

InstanceStatus Status(bdcoord::v1::InstanceState state, bool ready = false) {
  InstanceStatus status;
  status.set_state(state);
  status.set_ready(ready);
  return status;
}

constexpr auto kPending = bdcoord::v1::INSTANCE_STATE_PENDING;
constexpr auto kCreated = bdcoord::v1::INSTANCE_STATE_CREATED;
constexpr auto kRunning = bdcoord::v1::INSTANCE_STATE_RUNNING;
constexpr auto kCompleted = bdcoord::v1::INSTANCE_STATE_COMPLETED;
constexpr auto kFailed = bdcoord::v1::INSTANCE_STATE_FAILED;

struct Fixture {
  bdcoord::v1::ClusterSpec spec;
  std::map<std::string, InstanceStatus> statuses;
  std::set<std::string> completed;
  Orchestration Run() const {
    OrchestratorInput input;
    input.spec = &spec;
    input.statuses = &statuses;
    input.completed = &completed;
    return Orchestrate(input);
  }
};

TEST(ConditionHoldsTest, EveryConditionAndState) {
  const auto started = Dependency::CONDITION_STARTED;
  const auto ready = Dependency::CONDITION_READY;
  const auto completed = Dependency::CONDITION_COMPLETED;
  EXPECT_FALSE(ConditionHolds(started, Status(kPending)));
  EXPECT_FALSE(ConditionHolds(started, Status(kCreated)));
  EXPECT_TRUE(ConditionHolds(started, Status(kRunning)));
  EXPECT_TRUE(ConditionHolds(started, Status(kCompleted)));
  EXPECT_FALSE(ConditionHolds(started, Status(kFailed)));
  EXPECT_FALSE(ConditionHolds(ready, Status(kRunning, false)));
  EXPECT_TRUE(ConditionHolds(ready, Status(kRunning, true)));
  EXPECT_TRUE(ConditionHolds(ready, Status(kCompleted)));
  EXPECT_FALSE(ConditionHolds(ready, Status(kCreated, true)));
  EXPECT_FALSE(ConditionHolds(completed, Status(kRunning, true)));
  EXPECT_TRUE(ConditionHolds(completed, Status(kCompleted)));
  EXPECT_FALSE(ConditionHolds(completed, Status(kFailed)));
}

TEST(OrchestratorTest, ServicesWithoutDependenciesAreReleasedAtOnce) {
  Fixture f;
  AddService(&f.spec, "zk", 3);
  AddService(&f.spec, "web", 1);
  const Orchestration o = f.Run();
  EXPECT_THAT(o.released, ElementsAre("zk", "web"));
  EXPECT_FALSE(o.done);
  EXPECT_FALSE(o.failed);
}

TEST(OrchestratorTest, StartedNeedsEveryInstanceRunningOrCompleted) {
  Fixture f;
  AddService(&f.spec, "zk", 2);
  DependsOn(AddService(&f.spec, "kafka", 1), "zk", Dependency::CONDITION_STARTED);
  f.statuses["zk1"] = Status(kRunning);
  f.statuses["zk2"] = Status(kCreated);
  Orchestration o = f.Run();
  EXPECT_THAT(o.released, ElementsAre("zk"));
  EXPECT_EQ(o.services[1].waiting_for(), "zk started");
  f.statuses["zk2"] = Status(kRunning);
  o = f.Run();
  EXPECT_THAT(o.released, ElementsAre("zk", "kafka"));
  EXPECT_EQ(o.services[1].waiting_for(), "");
}

TEST(OrchestratorTest, ReadyNeedsEveryInstanceReady) {
  Fixture f;
  AddService(&f.spec, "zk", 3);
  DependsOn(AddService(&f.spec, "kafka", 3), "zk", Dependency::CONDITION_READY);
  f.statuses["zk1"] = Status(kRunning, true);
  f.statuses["zk2"] = Status(kRunning, true);
  f.statuses["zk3"] = Status(kRunning, false);
  Orchestration o = f.Run();
  EXPECT_THAT(o.released, ElementsAre("zk"));
  EXPECT_EQ(o.services[1].waiting_for(), "zk ready");
  EXPECT_EQ(o.services[0].started(), 3u);
  EXPECT_EQ(o.services[0].ready(), 2u);
  f.statuses["zk3"] = Status(kRunning, true);
  o = f.Run();
  EXPECT_THAT(o.released, ElementsAre("zk", "kafka"));
}

TEST(OrchestratorTest, CompletedNeedsCompletionAndRememberedCompletionsCount) {
  Fixture f;
  auto* format = AddService(&f.spec, "format", 1);
  format->set_run_once(true);
  DependsOn(AddService(&f.spec, "nn", 1), "format", Dependency::CONDITION_COMPLETED);
  f.statuses["format1"] = Status(kRunning, true);
  EXPECT_THAT(f.Run().released, ElementsAre("format"));
  f.statuses.clear();
  f.completed.insert("format1");  // completed in an earlier apply; no status now
  const Orchestration o = f.Run();
  EXPECT_THAT(o.released, ElementsAre("format", "nn"));
  EXPECT_EQ(o.services[0].ready(), 1u);
  // So that progress says "completed" for the job, as status does, not "ready".
  EXPECT_TRUE(o.services[0].run_once());
  EXPECT_FALSE(o.services[1].run_once());
}

TEST(OrchestratorTest, ChainReleasesOneLevelAtATime) {
  Fixture f;
  auto* format = AddService(&f.spec, "nnformat", 1);
  format->set_run_once(true);
  DependsOn(AddService(&f.spec, "namenode", 1), "nnformat", Dependency::CONDITION_COMPLETED);
  DependsOn(AddService(&f.spec, "datanode", 2), "namenode", Dependency::CONDITION_READY);
  auto* drill = AddService(&f.spec, "drill", 2);
  DependsOn(drill, "datanode", Dependency::CONDITION_STARTED);

  Orchestration o = f.Run();
  EXPECT_THAT(o.released, ElementsAre("nnformat"));
  EXPECT_EQ(o.services[1].waiting_for(), "nnformat completed");
  EXPECT_EQ(o.services[2].waiting_for(), "namenode ready");
  EXPECT_EQ(o.services[3].waiting_for(), "datanode started");

  f.statuses["nnformat1"] = Status(kCompleted);
  o = f.Run();
  EXPECT_THAT(o.released, ElementsAre("nnformat", "namenode"));

  f.statuses["namenode1"] = Status(kRunning, false);
  EXPECT_THAT(f.Run().released, ElementsAre("nnformat", "namenode"));
  f.statuses["namenode1"] = Status(kRunning, true);
  EXPECT_THAT(f.Run().released, ElementsAre("nnformat", "namenode", "datanode"));

  f.statuses["datanode1"] = Status(kRunning, false);
  EXPECT_THAT(f.Run().released, ElementsAre("nnformat", "namenode", "datanode"));
  f.statuses["datanode2"] = Status(kRunning, false);
  o = f.Run();
  EXPECT_THAT(o.released, ElementsAre("nnformat", "namenode", "datanode", "drill"));
  EXPECT_FALSE(o.done);

  f.statuses["datanode1"] = Status(kRunning, true);
  f.statuses["datanode2"] = Status(kRunning, true);
  f.statuses["drill1"] = Status(kRunning, true);
  f.statuses["drill2"] = Status(kRunning, true);
  o = f.Run();
  EXPECT_TRUE(o.done);
  EXPECT_FALSE(o.failed);
  for (const auto& progress : o.services) {
    EXPECT_EQ(progress.ready(), progress.desired()) << progress.service();
    EXPECT_EQ(progress.waiting_for(), "") << progress.service();
  }
}

TEST(OrchestratorTest, HoldsTheInstancesOfServicesNotReleased) {
  Fixture f;
  AddService(&f.spec, "datanode", 3);
  DependsOn(AddService(&f.spec, "drill", 3), "datanode", Dependency::CONDITION_READY);
  Orchestration o = f.Run();
  EXPECT_THAT(o.held, ElementsAre("drill1", "drill2", "drill3"));

  for (const char* name : {"datanode1", "datanode2", "datanode3"}) {
    f.statuses[name] = Status(kRunning, true);
  }
  // Every datanode ready: drill is released, the container made while held (drill1) as well as
  // those not made yet.
  f.statuses["drill1"] = Status(kCreated);
  EXPECT_THAT(f.Run().held, IsEmpty());

  // `scale datanode 4`: drill waits for datanode4 again, so its instances are held: the agents
  // leave the drillbits that run running (depends_on orders the first start only), and create
  // drill4 without starting it.
  f.statuses["drill1"] = Status(kRunning, true);
  f.spec.mutable_services(0)->set_count(4);
  f.spec.mutable_services(1)->set_count(4);
  o = f.Run();
  EXPECT_THAT(o.released, ElementsAre("datanode"));
  EXPECT_EQ(o.services[1].waiting_for(), "datanode ready");
  EXPECT_THAT(o.held, ElementsAre("drill1", "drill2", "drill3", "drill4"));
}

TEST(OrchestratorTest, ProgressCountsAndFailures) {
  Fixture f;
  AddService(&f.spec, "zk", 4);
  bdcoord::v1::Placement placement;
  for (int i = 1; i <= 3; ++i) {
    auto* instance = placement.add_instances();
    instance->set_name("zk" + std::to_string(i));
    instance->set_service("zk");
  }
  f.statuses["zk1"] = Status(kCreated);
  f.statuses["zk2"] = Status(kRunning, false);
  f.statuses["zk3"] = Status(kRunning, true);
  InstanceStatus failed = Status(kFailed);
  failed.set_name("zk4");
  failed.set_message("exit 1");
  f.statuses["zk4"] = failed;
  OrchestratorInput input;
  input.spec = &f.spec;
  input.placement = &placement;
  input.statuses = &f.statuses;
  const Orchestration o = Orchestrate(input);
  ASSERT_EQ(o.services.size(), 1u);
  const auto& p = o.services[0];
  EXPECT_EQ(p.desired(), 4u);
  EXPECT_EQ(p.placed(), 3u);
  EXPECT_EQ(p.created(), 3u);
  EXPECT_EQ(p.started(), 2u);
  EXPECT_EQ(p.ready(), 1u);
  EXPECT_EQ(p.failed(), 1u);
  EXPECT_TRUE(o.failed);
  EXPECT_FALSE(o.done);
  ASSERT_EQ(o.failures.size(), 1u);
  EXPECT_EQ(o.failures[0].name(), "zk4");
  EXPECT_EQ(o.failures[0].service(), "zk");
  EXPECT_EQ(o.failures[0].message(), "exit 1");
}

TEST(OrchestratorTest, SeveralDependenciesAreAllListed) {
  Fixture f;
  AddService(&f.spec, "zk", 1);
  AddService(&f.spec, "hdfs", 1);
  auto* kafka = AddService(&f.spec, "kafka", 1);
  DependsOn(kafka, "zk", Dependency::CONDITION_READY);
  DependsOn(kafka, "hdfs", Dependency::CONDITION_STARTED);
  f.statuses["hdfs1"] = Status(kRunning);
  const Orchestration o = f.Run();
  EXPECT_THAT(o.released, ElementsAre("zk", "hdfs"));
  EXPECT_EQ(o.services[2].waiting_for(), "zk ready");
}

}  // namespace
}  // namespace bdcoord::coordinator
