// bdcoordd's services and the agent's coordinator link over real gRPC on a unix socket: no
// Docker needed. Every wait is on a condition with a deadline.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/coordinator_link.h"
#include "bdcoord/v1/agent.grpc.pb.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "coordinator/grpc/agent_service.h"
#include "coordinator/state/inventory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/null_sink.h"
#include "spdlog/spdlog.h"
#include "tests/integration/wait_for.h"
#include "tests/testing/coordinator_harness.h"
#include "tests/testing/fake_clock.h"

namespace bdcoord {
namespace {

using AgentStream =
    grpc::ClientReaderWriter<bdcoord::v1::AgentMessage, bdcoord::v1::CoordinatorMessage>;

using test_util::CoordinatorHarness;
using test_util::WaitFor;

// A hand-driven agent: one Connect stream.
struct FakeAgent {
  grpc::ClientContext context;
  std::unique_ptr<AgentStream> stream;

  FakeAgent(bdcoord::v1::AgentService::Stub* stub, const std::string& name, uint32_t cpus,
            const std::string& rack) {
    stream = stub->Connect(&context);
    bdcoord::v1::AgentMessage hello;
    hello.mutable_hello()->set_host(name);
    hello.mutable_hello()->mutable_facts()->set_hostname(name);
    hello.mutable_hello()->mutable_facts()->set_cpus(cpus);
    hello.mutable_hello()->mutable_facts()->set_memory_bytes(int64_t{8} << 30);
    (*hello.mutable_hello()->mutable_facts()->mutable_labels())["rack"] = rack;
    EXPECT_TRUE(stream->Write(hello));
  }
  bool Heartbeat() {
    bdcoord::v1::AgentMessage message;
    message.mutable_heartbeat();
    return stream->Write(message);
  }
  grpc::Status Close() {
    stream->WritesDone();
    // Finish waits for every message to be read: the answers to the heartbeats, say.
    bdcoord::v1::CoordinatorMessage unread;
    while (stream->Read(&unread)) {
    }
    return stream->Finish();
  }
};

class CoordinatorAgentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // No controller: these tests drive the agent sessions by hand.
    CoordinatorHarness::Options options;
    options.controller = false;
    ASSERT_TRUE(harness_.Start(options).ok());
    address_ = harness_.address();
    inventory_ = &harness_.inventory();
    agent_service_ = &harness_.agent_service();
    agents_ = &harness_.agents();
    cluster_ = &harness_.cluster();
    logger_ = std::make_shared<spdlog::logger>("bdcoordd-test",
                                               std::make_shared<spdlog::sinks::null_sink_mt>());
  }

  void StartServer() { ASSERT_TRUE(harness_.StartServer().ok()); }
  void StopServer() { harness_.StopServer(); }

  bdcoord::v1::ListHostsResponse ListHosts() {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    bdcoord::v1::ListHostsResponse response;
    const grpc::Status status = cluster_->ListHosts(&context, {}, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // The host's view, or an empty one with name "" when it is not listed.
  bdcoord::v1::HostView Host(const std::string& name) {
    const bdcoord::v1::ListHostsResponse response = ListHosts();
    for (const auto& host : response.hosts()) {
      if (host.name() == name) return host;
    }
    return {};
  }

  CoordinatorHarness harness_;
  std::string address_;
  std::shared_ptr<spdlog::logger> logger_;
  coordinator::Inventory* inventory_ = nullptr;
  coordinator::AgentServiceImpl* agent_service_ = nullptr;
  bdcoord::v1::AgentService::Stub* agents_ = nullptr;
  bdcoord::v1::ClusterService::Stub* cluster_ = nullptr;
};

TEST_F(CoordinatorAgentsTest, TwoAgentsAreListedWithTheirFacts) {
  FakeAgent bd1(agents_, "bd1", 4, "r1");
  FakeAgent bd2(agents_, "bd2", 8, "r2");
  ASSERT_TRUE(WaitFor([&] { return ListHosts().hosts_size() == 2; }));
  const auto response = ListHosts();
  ASSERT_EQ(response.hosts_size(), 2);
  EXPECT_EQ(response.hosts(0).name(), "bd1");
  EXPECT_EQ(response.hosts(1).name(), "bd2");
  EXPECT_TRUE(response.hosts(0).connected());
  EXPECT_TRUE(response.hosts(1).connected());
  EXPECT_EQ(response.hosts(0).facts().cpus(), 4u);
  EXPECT_EQ(response.hosts(1).facts().cpus(), 8u);
  EXPECT_EQ(response.hosts(1).facts().labels().at("rack"), "r2");
  EXPECT_EQ(response.hosts(0).facts().memory_bytes(), int64_t{8} << 30);
  EXPECT_TRUE(response.hosts(0).has_last_heartbeat());
  EXPECT_GT(response.hosts(0).last_heartbeat().seconds(), 0);
  bd1.Close();
  bd2.Close();
}

TEST_F(CoordinatorAgentsTest, EndOfStreamMarksTheHostDisconnected) {
  FakeAgent bd1(agents_, "bd1", 4, "r1");
  FakeAgent bd2(agents_, "bd2", 8, "r2");
  ASSERT_TRUE(WaitFor([&] { return Host("bd1").connected() && Host("bd2").connected(); }));
  EXPECT_TRUE(bd2.Close().ok());
  ASSERT_TRUE(WaitFor([&] { return Host("bd2").name() == "bd2" && !Host("bd2").connected(); }));
  EXPECT_TRUE(Host("bd1").connected());
  EXPECT_EQ(Host("bd2").facts().cpus(), 8u);  // still known, with its facts
  bd1.Close();
}

TEST_F(CoordinatorAgentsTest, MissingHeartbeatsMarkTheHostDown) {
  // Timeouts with a wide margin over the heartbeat period: the machine may be loaded.
  coordinator::HeartbeatMonitor monitor(
      *inventory_, logger_, absl::Seconds(1), absl::Milliseconds(20), [] { return absl::Now(); },
      harness_.coordinator().events());
  FakeAgent silent(agents_, "silent", 2, "r1");
  FakeAgent alive(agents_, "alive", 2, "r2");
  // `alive` heartbeats every 50 ms; `silent` sends nothing but keeps its stream open.
  std::atomic<bool> stop{false};
  std::thread heartbeats([&] {
    while (!stop) {
      alive.Heartbeat();
      absl::SleepFor(absl::Milliseconds(50));
    }
  });
  ASSERT_TRUE(WaitFor([&] { return inventory_->Find("silent").has_value(); }));
  ASSERT_TRUE(WaitFor([&] { return !Host("silent").connected(); }));
  EXPECT_TRUE(inventory_->Find("silent")->down);
  EXPECT_TRUE(Host("alive").connected());
  EXPECT_FALSE(inventory_->Find("alive")->down);
  stop = true;
  heartbeats.join();
  // A heartbeat on the still-open stream brings it back.
  ASSERT_TRUE(silent.Heartbeat());
  ASSERT_TRUE(WaitFor([&] { return Host("silent").connected(); }));
  silent.Close();
  alive.Close();
}

TEST_F(CoordinatorAgentsTest, FirstMessageMustBeHello) {
  grpc::ClientContext context;
  auto stream = agents_->Connect(&context);
  bdcoord::v1::AgentMessage heartbeat;
  heartbeat.mutable_heartbeat();
  stream->Write(heartbeat);
  stream->WritesDone();
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "first message must be hello");
  EXPECT_EQ(ListHosts().hosts_size(), 0);
}

TEST_F(CoordinatorAgentsTest, SendReachesTheAgentsStream) {
  FakeAgent bd1(agents_, "bd1", 4, "r1");
  ASSERT_TRUE(WaitFor([&] { return Host("bd1").connected(); }));
  bdcoord::v1::CoordinatorMessage message;
  message.mutable_desired()->set_cluster("bigdata");
  message.mutable_desired()->add_instances()->set_name("zk1");
  ASSERT_TRUE(agent_service_->Send("bd1", message).ok());
  bdcoord::v1::CoordinatorMessage received;
  ASSERT_TRUE(bd1.stream->Read(&received));
  EXPECT_EQ(received.desired().cluster(), "bigdata");
  EXPECT_EQ(received.desired().instances(0).name(), "zk1");
  EXPECT_EQ(agent_service_->Send("nobody", message).code(), absl::StatusCode::kUnavailable);
  bd1.Close();
  ASSERT_TRUE(WaitFor([&] { return !Host("bd1").connected(); }));
  EXPECT_EQ(agent_service_->Send("bd1", message).code(), absl::StatusCode::kUnavailable);
}

// The real agent side: CoordinatorLink says hello, heartbeats, receives desired states, sends
// status reports, and reconnects after a coordinator restart; its gauge follows the stream.
TEST_F(CoordinatorAgentsTest, CoordinatorLinkConnectsReceivesAndReconnects) {
  absl::Mutex mu;
  std::vector<bdcoord::v1::DesiredState> received;
  agent::CoordinatorLinkOptions options;
  options.address = address_;
  options.host_name = "hx";
  options.now = test_util::RealClock();
  options.facts = [] {
    bdcoord::v1::HostFacts facts;
    facts.set_cpus(3);
    (*facts.mutable_labels())["rack"] = "r3";
    return facts;
  };
  options.heartbeat_interval = absl::Milliseconds(50);
  options.min_backoff = absl::Milliseconds(50);
  options.max_backoff = absl::Milliseconds(200);
  prometheus::Gauge connected_gauge;
  options.connected_gauge = &connected_gauge;
  agent::CoordinatorLink link(options, [&](const bdcoord::v1::DesiredState& desired) {
    absl::MutexLock lock(&mu);
    received.push_back(desired);
  });
  link.Start();
  ASSERT_TRUE(WaitFor([&] { return Host("hx").connected(); }));
  ASSERT_TRUE(WaitFor([&] { return connected_gauge.Value() == 1; }));
  EXPECT_EQ(Host("hx").facts().cpus(), 3u);
  EXPECT_EQ(Host("hx").facts().labels().at("rack"), "r3");

  // Heartbeats keep it up under a short timeout.
  {
    coordinator::HeartbeatMonitor monitor(
        *inventory_, logger_, absl::Seconds(1), absl::Milliseconds(20), [] { return absl::Now(); },
        harness_.coordinator().events());
    absl::SleepFor(absl::Milliseconds(2500));  // timeouts long: it must stay up
    EXPECT_FALSE(inventory_->Find("hx")->down);
    EXPECT_TRUE(Host("hx").connected());
  }

  bdcoord::v1::CoordinatorMessage message;
  message.mutable_desired()->set_cluster("zoo");
  message.mutable_desired()->add_instances()->set_name("zk1");
  ASSERT_TRUE(agent_service_->Send("hx", message).ok());
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return received.size() == 1;
  }));
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(received[0].cluster(), "zoo");
  }
  bdcoord::v1::StatusReport report;
  report.set_cluster("zoo");
  report.add_instances()->set_name("zk1");
  ASSERT_TRUE(link.SendStatus(report));
  ASSERT_TRUE(WaitFor([&] { return agent_service_->LatestStatus("hx", "zoo").has_value(); }));
  EXPECT_EQ(agent_service_->LatestStatus("hx", "zoo")->instances(0).name(), "zk1");

  // The coordinator restarts: the link notices, comes back and says hello again.
  StopServer();
  ASSERT_TRUE(WaitFor([&] { return !link.connected(); }));
  ASSERT_TRUE(WaitFor([&] { return connected_gauge.Value() == 0; }));
  inventory_->Disconnected("hx");
  StartServer();
  ASSERT_TRUE(WaitFor([&] { return Host("hx").connected(); }, absl::Seconds(15)));
  ASSERT_TRUE(WaitFor([&] { return connected_gauge.Value() == 1; }));
  ASSERT_TRUE(WaitFor([&] { return agent_service_->Send("hx", message).ok(); }));
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return received.size() == 2;
  }));
  link.Stop();
  ASSERT_TRUE(WaitFor([&] { return !Host("hx").connected(); }));
}

}  // namespace
}  // namespace bdcoord
