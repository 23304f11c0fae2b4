#ifndef BDCOORD_TESTS_UNIT_COORDINATOR_OPS_OPS_FIXTURE_H_
#define BDCOORD_TESTS_UNIT_COORDINATOR_OPS_OPS_FIXTURE_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "coordinator/ops/cluster_ops.h"
#include "coordinator/ops/controller.h"
#include "coordinator/state/event_bus.h"
#include "coordinator/state/inventory.h"
#include "coordinator/state/store_sqlite.h"
#include "spdlog/sinks/null_sink.h"
#include "spdlog/spdlog.h"
#include "tests/testing/fake_agent_sessions.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace bdcoord::coordinator {

// Three services in dependency order on hosts h1..h3: zk (2, on distinct hosts, with a
// readiness probe), kafka (2, after zk is ready), drill (1, after kafka started).
inline constexpr char kChainSpec[] = R"(cluster: chain
domain: chain.lan
hosts: [{name: h1}, {name: h2}, {name: h3}]
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.60.0.0/24, ip_range: 10.60.0.64/27}
services:
  zk: {image: busybox, count: 2, placement: {distinct_hosts: true}, ready: {tcp: 2181}}
  kafka: {image: busybox, count: 2, depends_on: {zk: ready}}
  drill: {image: busybox, count: 1, depends_on: {kafka: started}}
)";

// The application layer over its real collaborators where they are fast and in memory (the
// inventory, the event bus, the controller, driven pass by pass, with its metrics), the real SQLite
// store on a temporary file (a real, fast component: its transactions are part of what is tested),
// and fakes for the agents and the clock. No sockets, no threads of its own, no sleeps.
class OpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenSqliteStore(dir_.path() + "/state.db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto logger = std::make_shared<spdlog::logger>("ops-test",
                                                   std::make_shared<spdlog::sinks::null_sink_mt>());
    controller_ = std::make_unique<ClusterController>(inventory_, agents_, *store_, logger,
                                                      clock_.AsFunction(), absl::Milliseconds(200),
                                                      &metrics_);
    ops_ = std::make_unique<ClusterOps>(inventory_, *store_, agents_, events_, *controller_,
                                        clock_.AsFunction(), HostPolicy{}, &metrics_);
    // As the coordinator wires them.
    controller_->SetRolloutHooks(&events_,
                                 [this](const std::string& cluster, const std::string& why) {
                                   ASSERT_TRUE(ops_->Undo(cluster, why).ok());
                                 });
  }

  void Connect(const std::string& host) {
    bdcoord::v1::HostFacts facts;
    facts.set_cpus(8);
    facts.set_memory_bytes(int64_t{16} << 30);
    inventory_.Hello(host, facts, clock_.Now());
  }
  void ConnectAll() {
    for (const char* host : {"h1", "h2", "h3"}) Connect(host);
  }

  absl::StatusOr<std::string> Apply(const std::string& yaml = kChainSpec) {
    return ops_->Apply({"chain.yaml", yaml});
  }

  // What the agents and the controller do between them until every instance runs: a pass sends
  // the desired states, the agents answer, the next pass records the answers and releases the
  // next services.
  void RunUntilSettled(int rounds = 4) {
    for (int i = 0; i < rounds; ++i) {
      controller_->RunPass();
      agents_.AnswerEveryDesiredState(bdcoord::v1::INSTANCE_STATE_RUNNING);
    }
    controller_->RunPass();
  }

  // The instances of the stored cluster on `host`.
  int InstancesOn(const std::string& cluster, const std::string& host) {
    auto applied = store_->GetCluster(cluster);
    EXPECT_TRUE(applied.ok()) << applied.status();
    if (!applied.ok()) return -1;
    int count = 0;
    for (const auto& instance : applied->placement.instances()) count += instance.host() == host;
    return count;
  }

  test_util::TempDir dir_{"ops_test"};
  test_util::FakeClock clock_;
  Inventory inventory_;
  test_util::FakeAgentSessions agents_;
  EventBus events_{clock_.AsFunction()};
  std::unique_ptr<Store> store_;
  prometheus::Registry registry_;  // the controller's metrics, read with Collect()
  ControllerMetrics metrics_ = ControllerMetrics::Register(registry_);
  std::unique_ptr<ClusterController> controller_;
  std::unique_ptr<ClusterOps> ops_;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_TESTS_UNIT_COORDINATOR_OPS_OPS_FIXTURE_H_
