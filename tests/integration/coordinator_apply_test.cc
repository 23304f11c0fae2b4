// ClusterService.Apply and GetStatus over real gRPC on a unix socket, with the real SQLite store
// and fake agents (gRPC clients that answer every desired state with its instances RUNNING and
// ready). No Docker needed. Every wait is on a condition with a deadline.
#include <grpcpp/grpcpp.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bdcoord/v1/agent.grpc.pb.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "coordinator/agent_service.h"
#include "coordinator/cluster_service.h"
#include "coordinator/inventory.h"
#include "coordinator/planner.h"
#include "coordinator/spec_loader.h"
#include "coordinator/store_sqlite.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/null_sink.h"
#include "spdlog/spdlog.h"
#include "tests/integration/wait_for.h"

namespace bdcoord {
namespace {

using AgentStream =
    grpc::ClientReaderWriter<bdcoord::v1::AgentMessage, bdcoord::v1::CoordinatorMessage>;

using test_util::WaitFor;

// What the fake agents received, in order, across all of them.
struct Journal {
  absl::Mutex mu;
  // (host, instance, service) in the order they first reached an agent.
  std::vector<std::vector<std::string>> first_seen ABSL_GUARDED_BY(mu);
  std::set<std::string> seen ABSL_GUARDED_BY(mu);
  std::map<std::string, int> desired_states ABSL_GUARDED_BY(mu);  // host -> how many received
};

// An agent that says hello and then answers every desired state with a status report marking
// its instances RUNNING and ready.
class FakeAgent {
 public:
  FakeAgent(bdcoord::v1::AgentService::Stub* stub, const std::string& name, Journal* journal)
      : name_(name), journal_(journal) {
    stream_ = stub->Connect(&context_);
    bdcoord::v1::AgentMessage hello;
    hello.mutable_hello()->set_host(name);
    hello.mutable_hello()->mutable_facts()->set_hostname(name);
    hello.mutable_hello()->mutable_facts()->set_cpus(8);
    hello.mutable_hello()->mutable_facts()->set_memory_bytes(int64_t{16} << 30);
    EXPECT_TRUE(stream_->Write(hello));
    reader_ = std::thread([this] { Run(); });
  }
  ~FakeAgent() {
    context_.TryCancel();
    reader_.join();
  }

 private:
  void Run() {
    bdcoord::v1::CoordinatorMessage message;
    while (stream_->Read(&message)) {
      if (!message.has_desired()) continue;
      bdcoord::v1::AgentMessage report;
      report.mutable_status()->set_cluster(message.desired().cluster());
      {
        absl::MutexLock lock(&journal_->mu);
        ++journal_->desired_states[name_];
        for (const auto& instance : message.desired().instances()) {
          if (journal_->seen.insert(instance.name()).second) {
            journal_->first_seen.push_back({name_, instance.name(), instance.service()});
          }
        }
      }
      for (const auto& instance : message.desired().instances()) {
        auto* status = report.mutable_status()->add_instances();
        status->set_name(instance.name());
        status->set_service(instance.service());
        status->set_state(bdcoord::v1::INSTANCE_STATE_RUNNING);
        status->set_ready(true);
        status->set_container_id("c-" + instance.name());
      }
      if (!stream_->Write(report)) break;
    }
  }

  std::string name_;
  Journal* journal_;
  grpc::ClientContext context_;
  std::unique_ptr<AgentStream> stream_;
  std::thread reader_;
};

constexpr char kChainSpec[] = R"(cluster: chain
domain: chain.lan
hosts:
  - {name: h1}
  - {name: h2}
networks:
  lan:
    driver: macvlan
    parent: eth0
    subnet: 10.60.0.0/24
    ip_range: 10.60.0.64/27
services:
  zk:
    image: busybox
    count: 2
    placement: {distinct_hosts: true}
    ready: {tcp: 2181}
  kafka:
    image: busybox
    count: 2
    command: [kafka, "{{ip}}"]
    depends_on: {zk: ready}
  drill:
    image: busybox
    count: 1
    depends_on: {kafka: started}
)";

class CoordinatorApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/bdcoord-apply-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    address_ = "unix:" + dir_ + "/bdcoordd.sock";
    auto store = coordinator::OpenSqliteStore(dir_ + "/state.db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    logger_ = std::make_shared<spdlog::logger>("bdcoordd-test",
                                               std::make_shared<spdlog::sinks::null_sink_mt>());
    agent_service_ = std::make_unique<coordinator::AgentServiceImpl>(&inventory_, logger_);
    cluster_service_ = std::make_unique<coordinator::ClusterServiceImpl>(
        &inventory_, agent_service_.get(), store_.get(), absl::Milliseconds(20));
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address_, grpc::InsecureServerCredentials());
    builder.RegisterService(agent_service_.get());
    builder.RegisterService(cluster_service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    auto channel = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    agents_ = bdcoord::v1::AgentService::NewStub(channel);
    cluster_ = bdcoord::v1::ClusterService::NewStub(channel);
  }

  void TearDown() override {
    h1_.reset();
    h2_.reset();
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
      server_->Wait();
    }
    std::filesystem::remove_all(dir_);
  }

  void StartAgents() {
    h1_ = std::make_unique<FakeAgent>(agents_.get(), "h1", &journal_);
    h2_ = std::make_unique<FakeAgent>(agents_.get(), "h2", &journal_);
    ASSERT_TRUE(WaitFor([&] {
      int connected = 0;
      for (const auto& host : inventory_.Hosts()) connected += host.connected ? 1 : 0;
      return connected == 2;
    }));
  }

  // Runs Apply to its end: every progress message and the final status.
  grpc::Status Apply(const std::string& yaml, std::vector<bdcoord::v1::ApplyProgress>* updates,
                     const std::string& file_name = "chain.yaml") {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    bdcoord::v1::ApplyRequest request;
    request.mutable_spec()->set_file_name(file_name);
    request.mutable_spec()->set_yaml(yaml);
    auto reader = cluster_->Apply(&context, request);
    bdcoord::v1::ApplyProgress progress;
    while (reader->Read(&progress)) updates->push_back(progress);
    return reader->Finish();
  }

  grpc::Status GetStatus(const std::string& cluster, bdcoord::v1::GetStatusResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    bdcoord::v1::GetStatusRequest request;
    request.set_cluster(cluster);
    return cluster_->GetStatus(&context, request, response);
  }

  std::string dir_;
  std::string address_;
  std::unique_ptr<coordinator::Store> store_;
  std::shared_ptr<spdlog::logger> logger_;
  coordinator::Inventory inventory_;
  std::unique_ptr<coordinator::AgentServiceImpl> agent_service_;
  std::unique_ptr<coordinator::ClusterServiceImpl> cluster_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<bdcoord::v1::AgentService::Stub> agents_;
  std::unique_ptr<bdcoord::v1::ClusterService::Stub> cluster_;
  Journal journal_;
  std::unique_ptr<FakeAgent> h1_;
  std::unique_ptr<FakeAgent> h2_;
};

TEST_F(CoordinatorApplyTest, ChainStartsInDependencyOrderAndEndsDone) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  std::vector<bdcoord::v1::ApplyProgress> updates;
  const grpc::Status status = Apply(kChainSpec, &updates);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();

  // (b) the stream ends with done, every service ready.
  ASSERT_FALSE(updates.empty());
  const auto& last = updates.back();
  EXPECT_EQ(last.cluster(), "chain");
  EXPECT_TRUE(last.done());
  EXPECT_EQ(last.failures_size(), 0);
  ASSERT_EQ(last.services_size(), 3);
  for (const auto& service : last.services()) {
    EXPECT_EQ(service.ready(), service.desired()) << service.service();
    EXPECT_EQ(service.placed(), service.desired()) << service.service();
  }
  // Early on, kafka waited for zk and drill for kafka.
  EXPECT_EQ(updates.front().services(1).waiting_for(), "zk ready");
  EXPECT_EQ(updates.front().services(2).waiting_for(), "kafka started");

  // (a) every zk instance reached an agent before any kafka one, every kafka before drill.
  std::vector<std::string> services;
  std::set<std::string> hosts;
  {
    absl::MutexLock lock(&journal_.mu);
    for (const auto& entry : journal_.first_seen) {
      services.push_back(entry[2]);
      hosts.insert(entry[0]);
    }
  }
  EXPECT_THAT(services, ::testing::ElementsAre("zk", "zk", "kafka", "kafka", "drill"));
  EXPECT_EQ(hosts.size(), 2u);

  // (c) GetStatus lists every instance with its host, IP and state.
  bdcoord::v1::GetStatusResponse response;
  ASSERT_TRUE(GetStatus("", &response).ok());
  ASSERT_EQ(response.clusters_size(), 1);
  const auto& cluster = response.clusters(0);
  EXPECT_EQ(cluster.cluster(), "chain");
  ASSERT_EQ(cluster.instances_size(), 5);
  std::set<std::string> names;
  for (const auto& view : cluster.instances()) {
    names.insert(view.placed().name());
    EXPECT_THAT(view.placed().host(), ::testing::AnyOf("h1", "h2"));
    EXPECT_THAT(view.placed().ip(), ::testing::StartsWith("10.60.0."));
    EXPECT_EQ(view.status().state(), bdcoord::v1::INSTANCE_STATE_RUNNING) << view.placed().name();
    EXPECT_TRUE(view.status().ready());
  }
  EXPECT_THAT(names, ::testing::ElementsAre("drill1", "kafka1", "kafka2", "zk1", "zk2"));
  ASSERT_EQ(cluster.services_size(), 3);
  EXPECT_EQ(cluster.services(0).ready(), 2u);

  // NOT_FOUND names an unknown cluster.
  bdcoord::v1::GetStatusResponse unknown;
  const grpc::Status missing = GetStatus("nope", &unknown);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(missing.error_message(), ::testing::HasSubstr("'nope'"));
}

TEST_F(CoordinatorApplyTest, InvalidSpecIsInvalidArgumentWithPositionsAndStoresNothing) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  std::string bad = kChainSpec;
  bad.replace(bad.find("    image: busybox\n    count: 2\n    command"), 10, "    imgae:");
  bad.replace(bad.find("depends_on: {kafka: started}"), 28, "depends_on: {kafak: started}");
  std::vector<bdcoord::v1::ApplyProgress> updates;
  const grpc::Status status = Apply(bad, &updates, "bad.yaml");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Exactly what `bdcoord place` prints: every `file:line:col` line.
  const coordinator::Plan plan =
      coordinator::MakePlan(coordinator::LoadSpec(bad), coordinator::PlanOptions{});
  ASSERT_FALSE(plan.diagnostics.empty());
  EXPECT_EQ(status.error_message(), coordinator::FormatDiagnostics("bad.yaml", plan.diagnostics));
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("bad.yaml:19:5: unknown key 'imgae'"));
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("kafak"));
  EXPECT_TRUE(updates.empty());
  auto clusters = store_->ListClusters();
  ASSERT_TRUE(clusters.ok());
  EXPECT_TRUE(clusters->empty());
  absl::MutexLock lock(&journal_.mu);
  EXPECT_TRUE(journal_.desired_states.empty());
}

TEST_F(CoordinatorApplyTest, ReapplyKeepsPlacementsAndIps) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  std::vector<bdcoord::v1::ApplyProgress> updates;
  ASSERT_TRUE(Apply(kChainSpec, &updates).ok());
  auto before = store_->GetCluster("chain");
  ASSERT_TRUE(before.ok());
  updates.clear();
  const grpc::Status again = Apply(kChainSpec, &updates);
  ASSERT_TRUE(again.ok()) << again.error_message();
  ASSERT_FALSE(updates.empty());
  EXPECT_TRUE(updates.back().done());
  auto after = store_->GetCluster("chain");
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->placement.instances_size(), before->placement.instances_size());
  for (int i = 0; i < after->placement.instances_size(); ++i) {
    const auto& a = before->placement.instances(i);
    const auto& b = after->placement.instances(i);
    EXPECT_EQ(a.name(), b.name());
    EXPECT_EQ(a.host(), b.host()) << a.name();
    EXPECT_EQ(a.ip(), b.ip()) << a.name();
  }
}

TEST_F(CoordinatorApplyTest, ImpossiblePlacementIsFailedPrecondition) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  std::string spec = kChainSpec;
  spec.replace(spec.find("count: 2\n    placement"), 8, "count: 3");
  std::vector<bdcoord::v1::ApplyProgress> updates;
  const grpc::Status status = Apply(spec, &updates);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), ::testing::StartsWith("placement impossible: 1 of 6"));
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("zk3 (service zk)"));
}

}  // namespace
}  // namespace bdcoord
