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
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/desired_update.h"
#include "bdcoord/v1/agent.grpc.pb.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "coordinator/grpc/agent_service.h"
#include "coordinator/plan/planner.h"
#include "coordinator/spec/spec_loader.h"
#include "coordinator/state/inventory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/spdlog.h"
#include "tests/integration/wait_for.h"
#include "tests/testing/coordinator_harness.h"

namespace bdcoord {
namespace {

using AgentStream =
    grpc::ClientReaderWriter<bdcoord::v1::AgentMessage, bdcoord::v1::CoordinatorMessage>;

using test_util::CoordinatorHarness;
using test_util::WaitFor;

// What the fake agents received, in order, across all of them.
struct Journal {
  absl::Mutex mu;
  // (host, instance, service) in the order they first reached an agent not held.
  std::vector<std::vector<std::string>> first_seen ABSL_GUARDED_BY(mu);
  std::set<std::string> seen ABSL_GUARDED_BY(mu);
  std::map<std::string, int> desired_states ABSL_GUARDED_BY(mu);  // host -> how many received
  // host -> cluster -> the latest desired state received
  std::map<std::string, std::map<std::string, bdcoord::v1::DesiredState>> latest
      ABSL_GUARDED_BY(mu);
};

// An agent that says hello and then answers every desired state with a status report marking
// its instances RUNNING and ready, the held ones CREATED.
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
      if (message.has_probe() && message.probe().container() == "silent") continue;  // no answer
      if (message.has_probe()) {  // zk1 answers, everything else is refused
        bdcoord::v1::AgentMessage answer;
        answer.mutable_result()->set_request_id(message.probe().request_id());
        const bool ok = message.probe().container() == "c-zk1";
        answer.mutable_result()->set_ok(ok);
        if (!ok) {
          answer.mutable_result()->set_message(absl::StrCat("tcp ", message.probe().ip(), ":",
                                                            message.probe().probe().tcp().port(),
                                                            ": Connection refused"));
        }
        if (!stream_->Write(answer)) break;
        continue;
      }
      if (!message.has_desired()) continue;
      // As bdagent keeps it: hosts deltas applied, the hosts file rendered.
      const std::string cluster = message.desired().cluster();
      auto kept = kept_.find(cluster);
      agent::DesiredUpdate update =
          agent::UpdateDesired(kept == kept_.end() ? nullptr : &kept->second, message.desired());
      EXPECT_TRUE(update.hosts.ok()) << update.hosts;
      if (update.unusable) continue;
      kept_[cluster] = std::move(update.kept);
      const bdcoord::v1::DesiredState& desired = kept_[cluster].desired;
      bdcoord::v1::AgentMessage report;
      report.mutable_status()->set_cluster(cluster);
      report.mutable_status()->set_generation(desired.generation());
      report.mutable_status()->set_hosts_version(desired.hosts_map().version());
      {
        absl::MutexLock lock(&journal_->mu);
        ++journal_->desired_states[name_];
        journal_->latest[name_][cluster] = desired;
        for (const auto& instance : desired.instances()) {
          if (instance.hold()) continue;
          if (journal_->seen.insert(instance.name()).second) {
            journal_->first_seen.push_back({name_, instance.name(), instance.service()});
          }
        }
      }
      for (const auto& instance : desired.instances()) {
        auto* status = report.mutable_status()->add_instances();
        status->set_name(instance.name());
        status->set_service(instance.service());
        status->set_state(instance.hold() ? bdcoord::v1::INSTANCE_STATE_CREATED
                                          : bdcoord::v1::INSTANCE_STATE_RUNNING);
        status->set_ready(!instance.hold());
        status->set_container_id("c-" + instance.name());
      }
      if (!stream_->Write(report)) break;
    }
  }

  std::string name_;
  Journal* journal_;
  std::map<std::string, agent::KeptDesired> kept_;  // by cluster; only on the reader's thread
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
    CoordinatorHarness::Options options;
    options.name = "apply";
    // Real time plus what a test skips (host loss: minutes without waiting for them).
    options.now = [this] { return absl::Now() + absl::Seconds(skipped_seconds_.load()); };
    ASSERT_TRUE(harness_.Start(options).ok());
    store_ = &harness_.store();
    inventory_ = &harness_.inventory();
    agent_service_ = &harness_.agent_service();
    agents_ = &harness_.agents();
    cluster_ = &harness_.cluster();
  }

  void TearDown() override {
    h1_.reset();
    h2_.reset();
    h3_.reset();
  }

  // No cluster in the store and no desired state sent to any agent.
  void ExpectNothingStoredOrSent() {
    auto clusters = store_->ListClusters();
    ASSERT_TRUE(clusters.ok());
    EXPECT_TRUE(clusters->empty());
    absl::MutexLock lock(&journal_.mu);
    EXPECT_TRUE(journal_.desired_states.empty());
  }

  void StartAgents(int count = 2) {
    h1_ = std::make_unique<FakeAgent>(agents_, "h1", &journal_);
    h2_ = std::make_unique<FakeAgent>(agents_, "h2", &journal_);
    if (count > 2) h3_ = std::make_unique<FakeAgent>(agents_, "h3", &journal_);
    ASSERT_TRUE(WaitFor([&] {
      int connected = 0;
      for (const auto& host : inventory_->Hosts()) connected += host.connected ? 1 : 0;
      return connected == count;
    }));
  }

  grpc::Status Scale(const std::string& cluster, const std::string& service, uint32_t count,
                     std::vector<bdcoord::v1::ApplyProgress>* updates) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    bdcoord::v1::ScaleRequest request;
    request.set_cluster(cluster);
    request.set_service(service);
    request.set_count(count);
    auto reader = cluster_->Scale(&context, request);
    bdcoord::v1::ApplyProgress progress;
    while (reader->Read(&progress)) updates->push_back(progress);
    return reader->Finish();
  }

  grpc::Status Down(const std::string& cluster, bdcoord::v1::DownResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    bdcoord::v1::DownRequest request;
    request.set_cluster(cluster);
    return cluster_->Down(&context, request, response);
  }

  grpc::Status Drain(const std::string& host, bdcoord::v1::DrainHostResponse* response,
                     bool undo = false) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    bdcoord::v1::DrainHostRequest request;
    request.set_host(host);
    request.set_undo(undo);
    return cluster_->DrainHost(&context, request, response);
  }

  // The latest desired state `host` received for `cluster` (empty when none).
  bdcoord::v1::DesiredState LatestDesired(const std::string& host, const std::string& cluster) {
    absl::MutexLock lock(&journal_.mu);
    return journal_.latest[host][cluster];
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

  // Time goes on by `seconds` in steps of 2 s while every host but `lost` heartbeats.
  void SkipWithoutHost(const std::string& lost, int seconds) {
    for (int step = 0; step < seconds / 2; ++step) {
      skipped_seconds_ += 2;
      for (const auto& host : inventory_->Hosts()) {
        if (host.name != lost) {
          inventory_->Heartbeat(host.name, absl::Now() + absl::Seconds(skipped_seconds_.load()));
        }
      }
    }
  }
  // Host `lost` (h1 or h2) disconnects and `seconds` go by without it; the message of the first
  // `kind` event from then on ("" when none came within 20 s).
  std::string LoseHostForAndFirstEvent(const std::string& lost, int seconds,
                                       const std::string& kind) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    auto events = cluster_->WatchEvents(&context, bdcoord::v1::WatchEventsRequest());
    events->WaitForInitialMetadata();  // subscribed from here on
    (lost == "h1" ? h1_ : h2_).reset();
    if (!WaitFor([&] { return !inventory_->Find(lost)->connected; })) return "";
    SkipWithoutHost(lost, seconds);
    bdcoord::v1::Event event;
    while (events->Read(&event)) {
      if (event.kind() == kind) return event.message();
    }
    return "";
  }

  CoordinatorHarness harness_;
  coordinator::Store* store_ = nullptr;
  coordinator::Inventory* inventory_ = nullptr;
  coordinator::AgentServiceImpl* agent_service_ = nullptr;
  bdcoord::v1::AgentService::Stub* agents_ = nullptr;
  bdcoord::v1::ClusterService::Stub* cluster_ = nullptr;
  Journal journal_;
  std::atomic<int64_t> skipped_seconds_{0};
  std::unique_ptr<FakeAgent> h1_;
  std::unique_ptr<FakeAgent> h2_;
  std::unique_ptr<FakeAgent> h3_;
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

  // (a) every zk instance was released to an agent before any kafka one, every kafka before
  // drill.
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
  // The same errors as data, for tools: an ErrorStatus (google.rpc.Status) with SpecErrors.
  bdcoord::v1::ErrorStatus details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  EXPECT_EQ(details.code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(details.details_size(), 1);
  bdcoord::v1::SpecErrors errors;
  ASSERT_TRUE(details.details(0).UnpackTo(&errors));
  ASSERT_EQ(static_cast<size_t>(errors.errors_size()), plan.diagnostics.size());
  bool found = false;
  for (const auto& error : errors.errors()) {
    EXPECT_EQ(error.file(), "bad.yaml");
    if (error.message().find("unknown key 'imgae'") != std::string::npos) {
      found = true;
      EXPECT_EQ(error.line(), 19);
      EXPECT_EQ(error.column(), 5);
    }
  }
  EXPECT_TRUE(found);
  // The one message before the error: the whole report (ApplyProgress.rejection).
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].rejection().report(), status.error_message());
  EXPECT_EQ(updates[0].rejection().spec_errors().errors_size(), errors.errors_size());
  ExpectNothingStoredOrSent();
}

// 60 errors used to fail with "received initial metadata size exceeds limit": the status is now
// short, its details capped, and the whole report comes as the last progress message.
TEST_F(CoordinatorApplyTest, SixtyErrorsArriveWholeAsTheLastProgress) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  std::string bad = kChainSpec;
  std::string keys;
  for (int i = 1; i <= 60; ++i) keys += "    imgae" + std::to_string(i) + ": x\n";
  bad.replace(bad.find("    image: busybox\n    count: 1\n"), 0, keys);
  const coordinator::Plan plan =
      coordinator::MakePlan(coordinator::LoadSpec(bad), coordinator::PlanOptions{});
  ASSERT_EQ(plan.diagnostics.size(), 60u);
  std::vector<bdcoord::v1::ApplyProgress> updates;
  const grpc::Status status = Apply(bad, &updates, "many.yaml");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "many.yaml: 60 errors");
  bdcoord::v1::ErrorStatus details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  bdcoord::v1::SpecErrors capped;
  ASSERT_TRUE(details.details(0).UnpackTo(&capped));
  EXPECT_EQ(capped.errors_size() + capped.omitted(), 60);
  EXPECT_LE(details.details(0).value().size(), 4096u);
  ASSERT_EQ(updates.size(), 1u);
  const bdcoord::v1::Rejection& rejection = updates[0].rejection();
  EXPECT_EQ(rejection.code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(rejection.report(), coordinator::FormatDiagnostics("many.yaml", plan.diagnostics));
  EXPECT_EQ(rejection.spec_errors().errors_size(), 60);
  // Place answers with the whole report in its response when asked to.
  grpc::ClientContext context;
  bdcoord::v1::PlaceRequest request;
  request.mutable_spec()->set_file_name("many.yaml");
  request.mutable_spec()->set_yaml(bad);
  request.set_rejection_in_response(true);
  bdcoord::v1::PlaceResponse response;
  ASSERT_TRUE(cluster_->Place(&context, request, &response).ok());
  EXPECT_EQ(response.rejection().report(), rejection.report());
  EXPECT_EQ(response.placement().instances_size(), 0);
  ExpectNothingStoredOrSent();
}

TEST_F(CoordinatorApplyTest, FortyUnplaceableInstancesArriveWhole) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  std::string spec = kChainSpec;
  spec.replace(spec.find("count: 2\n    placement"), 8, "count: 42");
  spec.replace(spec.find("ip_range: 10.60.0.64/27"), 23, "ip_range: 10.60.0.64/26");
  std::vector<bdcoord::v1::ApplyProgress> updates;
  const grpc::Status status = Apply(spec, &updates);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "placement impossible: 40 of 45 instances cannot be placed");
  ASSERT_EQ(updates.size(), 1u);
  const bdcoord::v1::Rejection& rejection = updates[0].rejection();
  EXPECT_EQ(rejection.code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(rejection.placement_failures().failures_size(), 40);
  EXPECT_THAT(rejection.report(), ::testing::HasSubstr("zk42 (service zk)"));
  ExpectNothingStoredOrSent();
}

// SpecSource.yaml is bytes: a spec in another encoding is an error at its position, as in
// `bdcoord place`, not a failed call.
TEST_F(CoordinatorApplyTest, SpecsThatAreNotUtf8AreInvalidArgumentAtTheirPosition) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  std::string latin1 = kChainSpec;
  latin1.replace(latin1.find("chain.lan"), 5, "ch\xe2in");
  std::string utf16 = "\xff\xfe";
  for (char c : std::string(kChainSpec)) utf16 += std::string{c, '\0'};
  const std::string binary(
      "\x7f"
      "ELF\x02\x01\x01\x00\x00\xff\xfe\x90",
      12);
  for (const std::string& text : {latin1, utf16, binary}) {
    std::vector<bdcoord::v1::ApplyProgress> updates;
    const grpc::Status status = Apply(text, &updates, "enc.yaml");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    const coordinator::LoadedSpec loaded = coordinator::LoadSpec(text);
    ASSERT_EQ(loaded.diagnostics.size(), 1u);
    EXPECT_EQ(status.error_message(),
              coordinator::FormatDiagnostics("enc.yaml", loaded.diagnostics));
  }
  std::vector<bdcoord::v1::ApplyProgress> updates;
  EXPECT_THAT(Apply(latin1, &updates, "enc.yaml").error_message(),
              ::testing::StartsWith("enc.yaml:2:11: not UTF-8 at byte 25"));
  ExpectNothingStoredOrSent();
}

// A short spec whose nested peers sections would render for ever: refused at its template's
// position before anything is stored or sent (the render caps hold for a live apply).
TEST_F(CoordinatorApplyTest, ARenderBombIsInvalidArgumentAtItsTemplate) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  std::string bomb = kChainSpec;
  bomb.replace(bomb.find("    depends_on: {kafka: started}\n"), 0,
               "    files:\n      /b: \"{{#peers.zk}}{{#peers.kafka}}{{#peers.zk}}{{#peers.kafka}}"
               "{{#peers.zk}}{{#peers.kafka}}{{#peers.zk}}{{#peers.kafka}}{{#peers.zk}}"
               "{{#peers.kafka}}{{#peers.zk}}{{#peers.kafka}}{{#peers.zk}}{{#peers.kafka}}"
               "{{#peers.zk}}{{#peers.kafka}}{{#peers.zk}}{{#peers.kafka}}{{#peers.zk}}"
               "{{#peers.kafka}}{{fqdn}} {{/peers.kafka}}{{/peers.zk}}{{/peers.kafka}}"
               "{{/peers.zk}}{{/peers.kafka}}{{/peers.zk}}{{/peers.kafka}}{{/peers.zk}}"
               "{{/peers.kafka}}{{/peers.zk}}{{/peers.kafka}}{{/peers.zk}}{{/peers.kafka}}"
               "{{/peers.zk}}{{/peers.kafka}}{{/peers.zk}}{{/peers.kafka}}{{/peers.zk}}"
               "{{/peers.kafka}}{{/peers.zk}}\"\n");
  std::vector<bdcoord::v1::ApplyProgress> updates;
  const grpc::Status status = Apply(bomb, &updates, "bomb.yaml");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              ::testing::StartsWith("bomb.yaml:27:12: template error in file '/b' of service "
                                    "'drill': takes more than 1000000 steps to render"));
  ExpectNothingStoredOrSent();
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
  bdcoord::v1::ErrorStatus details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  bdcoord::v1::PlacementFailures failures;
  ASSERT_EQ(details.details_size(), 1);
  ASSERT_TRUE(details.details(0).UnpackTo(&failures));
  ASSERT_EQ(failures.failures_size(), 1);
  EXPECT_EQ(failures.failures(0).instance(), "zk3");
  EXPECT_EQ(failures.failures(0).service(), "zk");
  EXPECT_EQ(failures.failures(0).hosts_total(), 2);
  ASSERT_GE(failures.failures(0).filters_size(), 1);
  EXPECT_EQ(failures.failures(0).filters(0).rule(), "distinct_hosts");
}

TEST_F(CoordinatorApplyTest, StatusWithProbeRunsEachReadinessProbeOnItsHostNow) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  std::vector<bdcoord::v1::ApplyProgress> updates;
  ASSERT_TRUE(Apply(kChainSpec, &updates).ok());
  grpc::ClientContext context;
  bdcoord::v1::GetStatusRequest request;
  request.set_probe(true);
  bdcoord::v1::GetStatusResponse response;
  ASSERT_TRUE(cluster_->GetStatus(&context, request, &response).ok());
  ASSERT_EQ(response.clusters_size(), 1);
  std::map<std::string, std::string> probe_of, ip_of;
  for (const auto& view : response.clusters(0).instances()) {
    probe_of[view.placed().name()] = view.probe();
    ip_of[view.placed().name()] = view.placed().ip();
  }
  EXPECT_EQ(probe_of["zk1"], "ok");
  EXPECT_EQ(probe_of["zk2"], "tcp " + ip_of["zk2"] + ":2181: Connection refused");
  EXPECT_EQ(probe_of["kafka1"], "") << "no ready probe in the spec: not probed";
  EXPECT_EQ(probe_of["drill1"], "");
  // Without the flag nothing is probed.
  grpc::ClientContext plain;
  request.set_probe(false);
  response.Clear();
  ASSERT_TRUE(cluster_->GetStatus(&plain, request, &response).ok());
  for (const auto& view : response.clusters(0).instances()) EXPECT_EQ(view.probe(), "");
}

TEST_F(CoordinatorApplyTest, AProbeOfAnAbsentOrSilentHostEndsWithWhy) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  bdcoord::v1::ProbeRequest request;
  request.set_container("silent");
  auto absent = agent_service_->RunProbe("h9", request, absl::Now() + absl::Seconds(5));
  EXPECT_EQ(absent.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(absent.status().message(), "host 'h9' is not connected");
  auto silent = agent_service_->RunProbe("h1", request, absl::Now() + absl::Milliseconds(300));
  EXPECT_EQ(silent.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(silent.status().message(), "host 'h1' did not answer the probe in time");
}

TEST_F(CoordinatorApplyTest, ScalingAServiceBeyondItsPinnedIpsIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  std::string pinned = kChainSpec;
  pinned.replace(pinned.find("    ready: {tcp: 2181}"), 0, "    ips: [10.60.0.80, 10.60.0.81]\n");
  std::vector<bdcoord::v1::ApplyProgress> updates;
  ASSERT_TRUE(Apply(pinned, &updates).ok());
  const grpc::Status scaled = Scale("chain", "zk", 3, &updates);
  EXPECT_EQ(scaled.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(scaled.error_message(),
            "service 'zk' pins 2 IPs, so it cannot run 3 instances; change `ips` in the spec and "
            "apply it instead");
  auto stored = store_->GetCluster("chain");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->placement.instances_size(), 5) << "nothing changed";
}

TEST_F(CoordinatorApplyTest, AShimRangeOverIpRangeIsRefusedWithItsPosition) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  std::string spec = kChainSpec;
  spec.replace(spec.find("    ip_range: 10.60.0.64/27\n"), 0,
               "    host_shim: true\n    shim_range: 10.60.0.64/28\n");
  std::vector<bdcoord::v1::ApplyProgress> updates;
  const grpc::Status status = Apply(spec, &updates, "shim.yaml");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "shim.yaml:12:17: shim_range 10.60.0.64/28 of network 'lan' overlaps its ip_range "
            "10.60.0.64/27\n  hint: the hosts' shim addresses must not be containers' addresses: "
            "take shim_range from outside ip_range\n");
  ASSERT_NO_FATAL_FAILURE(ExpectNothingStoredOrSent());
}

TEST_F(CoordinatorApplyTest, EachAgentIsSentItsShimAddress) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  std::string spec = kChainSpec;
  spec.replace(spec.find("    ip_range: 10.60.0.64/27\n"), 0,
               "    host_shim: true\n    shim_range: 10.60.0.240/29\n");
  std::vector<bdcoord::v1::ApplyProgress> updates;
  ASSERT_TRUE(Apply(spec, &updates, "shim.yaml").ok());
  auto sent = [&](const std::string& host) {
    absl::MutexLock lock(&journal_.mu);
    auto& desired = journal_.latest[host]["chain"];
    auto it = desired.shim_addresses().find("lan");
    return it == desired.shim_addresses().end() ? std::string() : it->second;
  };
  EXPECT_EQ(sent("h1"), "10.60.0.240/32");
  EXPECT_EQ(sent("h2"), "10.60.0.241/32");

  // GetStatus shows them too, as stored with the placement.
  bdcoord::v1::GetStatusResponse response;
  ASSERT_TRUE(GetStatus("chain", &response).ok());
  ASSERT_EQ(response.clusters_size(), 1);
  std::vector<std::string> shims;
  for (const auto& shim : response.clusters(0).shims()) {
    shims.push_back(absl::StrCat(shim.network(), " ", shim.host(), " ", shim.address()));
  }
  EXPECT_THAT(shims, ::testing::ElementsAre("lan h1 10.60.0.240", "lan h2 10.60.0.241"));
}

TEST_F(CoordinatorApplyTest, PlaceIsADryRunOnTheLiveHosts) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  grpc::ClientContext context;
  bdcoord::v1::PlaceRequest request;
  request.mutable_spec()->set_file_name("chain.yaml");
  request.mutable_spec()->set_yaml(kChainSpec);
  bdcoord::v1::PlaceResponse response;
  ASSERT_TRUE(cluster_->Place(&context, request, &response).ok());
  ASSERT_EQ(response.placement().instances_size(), 5);
  std::set<std::string> zk_hosts;
  for (const auto& instance : response.placement().instances()) {
    EXPECT_THAT(instance.host(), ::testing::AnyOf("h1", "h2"));
    if (instance.service() == "zk") zk_hosts.insert(instance.host());
  }
  EXPECT_EQ(zk_hosts.size(), 2u);  // distinct_hosts
  EXPECT_THAT(response.hosts_file(), ::testing::HasSubstr("zk1.chain.lan zk1"));
  // Nothing stored, nothing sent.
  ExpectNothingStoredOrSent();
}

TEST_F(CoordinatorApplyTest, ScaleAddsInstancesEveryHostLearnsTheirNames) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  std::vector<bdcoord::v1::ApplyProgress> updates;
  ASSERT_TRUE(Apply(kChainSpec, &updates).ok());
  auto before = store_->GetCluster("chain");
  ASSERT_TRUE(before.ok());

  updates.clear();
  const grpc::Status scaled = Scale("", "kafka", 4, &updates);  // the only cluster
  ASSERT_TRUE(scaled.ok()) << scaled.error_message();
  ASSERT_FALSE(updates.empty());
  EXPECT_TRUE(updates.back().done());
  EXPECT_EQ(updates.back().services(1).ready(), 4u);
  auto after = store_->GetCluster("chain");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->placement.instances_size(), 7);
  // The instances that were there kept host and IP.
  std::map<std::string, std::pair<std::string, std::string>> was;
  for (const auto& i : before->placement.instances()) was[i.name()] = {i.host(), i.ip()};
  for (const auto& i : after->placement.instances()) {
    if (auto it = was.find(i.name()); it != was.end()) {
      EXPECT_EQ(it->second, std::make_pair(i.host(), i.ip())) << i.name();
    }
  }
  // Both hosts' latest hosts file names the new members.
  for (const std::string host : {"h1", "h2"}) {
    const std::string hosts_file = LatestDesired(host, "chain").hosts_file();
    EXPECT_THAT(hosts_file, ::testing::HasSubstr("kafka3.chain.lan kafka3")) << host;
    EXPECT_THAT(hosts_file, ::testing::HasSubstr("kafka4.chain.lan kafka4")) << host;
  }

  // Down to 1: kafka2..4 leave the hosts file and the desired states.
  updates.clear();
  ASSERT_TRUE(Scale("chain", "kafka", 1, &updates).ok());
  for (const std::string host : {"h1", "h2"}) {
    const auto desired = LatestDesired(host, "chain");
    EXPECT_THAT(desired.hosts_file(), ::testing::Not(::testing::HasSubstr("kafka2"))) << host;
    for (const auto& instance : desired.instances()) {
      EXPECT_THAT(instance.name(), ::testing::Not(::testing::AnyOf("kafka2", "kafka3", "kafka4")));
    }
  }

  // Errors name what is wrong.
  updates.clear();
  const grpc::Status unknown = Scale("chain", "kafak", 2, &updates);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error_message(),
            "cluster 'chain' has no service 'kafak'; did you mean 'kafka'?");
  const grpc::Status no_cluster = Scale("chian", "kafka", 2, &updates);
  EXPECT_EQ(no_cluster.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(no_cluster.error_message(), "no cluster named 'chian'; did you mean 'chain'?");
  const grpc::Status too_many = Scale("chain", "zk", 3, &updates);
  EXPECT_EQ(too_many.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(too_many.error_message(), ::testing::HasSubstr("zk3 (service zk)"));
}

TEST_F(CoordinatorApplyTest, DownEmptiesEveryHostAndForgetsTheCluster) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  auto events = harness_.coordinator().events().Subscribe("chain");
  std::vector<bdcoord::v1::ApplyProgress> updates;
  ASSERT_TRUE(Apply(kChainSpec, &updates).ok());
  bdcoord::v1::DownResponse response;
  const grpc::Status down = Down("", &response);
  ASSERT_TRUE(down.ok()) << down.error_message();
  // The cluster-wide events, among the instances' own.
  std::vector<std::string> cluster_events;
  while (auto event = events->Next(absl::Now())) {
    if (event->instance().empty() && event->host().empty()) {
      cluster_events.push_back(absl::StrCat(event->kind(), ": ", event->message()));
    }
  }
  EXPECT_THAT(cluster_events, ::testing::ElementsAre("placed: 5 instances on 2 hosts",
                                                     "down: 5 instances to remove"));
  EXPECT_EQ(response.removed(), 5u);
  EXPECT_EQ(response.disconnected_hosts_size(), 0);
  for (const std::string host : {"h1", "h2"}) {
    const auto desired = LatestDesired(host, "chain");
    EXPECT_EQ(desired.cluster(), "chain");
    EXPECT_EQ(desired.instances_size(), 0) << host;
    EXPECT_EQ(desired.networks_size(), 0) << host;
  }
  auto clusters = store_->ListClusters();
  ASSERT_TRUE(clusters.ok());
  EXPECT_TRUE(clusters->empty());
  auto ips = store_->AllocatedIps();
  ASSERT_TRUE(ips.ok());
  EXPECT_TRUE(ips->empty());

  const grpc::Status again = Down("", &response);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(again.error_message(), "no cluster is applied");
}

TEST_F(CoordinatorApplyTest, ClustersSideBySideShareOneIpAllocation) {
  ASSERT_NO_FATAL_FAILURE(StartAgents());
  std::vector<bdcoord::v1::ApplyProgress> updates;
  ASSERT_TRUE(Apply(kChainSpec, &updates).ok());
  std::string other = kChainSpec;
  other.replace(other.find("cluster: chain"), 14, "cluster: other");
  updates.clear();
  const grpc::Status second = Apply(other, &updates, "other.yaml");
  ASSERT_TRUE(second.ok()) << second.error_message();
  auto ips = store_->AllocatedIps();
  ASSERT_TRUE(ips.ok());
  EXPECT_EQ(ips->size(), 10u);  // no address twice

  // A pinned address another cluster holds: the spec's position and the holder.
  auto chain = store_->GetCluster("chain");
  ASSERT_TRUE(chain.ok());
  const std::string zk1_ip = chain->placement.instances(0).ip();
  std::string pinned = kChainSpec;
  pinned.replace(pinned.find("cluster: chain"), 14, "cluster: third");
  pinned.replace(pinned.find("    ready: {tcp: 2181}"), 0,
                 "    ips: [" + zk1_ip + ", 10.60.0.90]\n");
  updates.clear();
  const grpc::Status clash = Apply(pinned, &updates, "third.yaml");
  EXPECT_EQ(clash.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(clash.error_message(),
              ::testing::HasSubstr(absl::StrCat("third.yaml:17:11: pinned IP ", zk1_ip,
                                                " of service 'zk' is held by instance zk1 of "
                                                "cluster 'chain'")));
  auto clusters = store_->ListClusters();
  ASSERT_TRUE(clusters.ok());
  EXPECT_THAT(*clusters, ::testing::ElementsAre("chain", "other"));

  // With two clusters, commands must name one.
  const grpc::Status ambiguous = Scale("", "kafka", 3, &updates);
  EXPECT_EQ(ambiguous.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ambiguous.error_message(),
            "2 clusters are applied (chain, other): name one with -c/--cluster");
}

constexpr char kLossSpec[] = R"(cluster: loss
domain: loss.lan
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.61.0.0/24, ip_range: 10.61.0.64/27}
services:
  zk:
    image: busybox
    count: 2
    placement: {distinct_hosts: true}
    reschedule: {after: 30s}
  web:
    image: busybox
    count: 2
    placement: {distinct_hosts: true}
)";

// Host loss: a host that stops heartbeating has its instances of services with reschedule placed
// on another host after `after` (same names and IPs, every hosts file unchanged), the others stay
// placed on it; each move is a `rescheduled` event; the host, when back, is told to run only
// what stayed.
TEST_F(CoordinatorApplyTest, ALostHostsReschedulableInstancesMoveWithTheirIpsAfterAfter) {
  ASSERT_NO_FATAL_FAILURE(StartAgents(2));
  std::vector<bdcoord::v1::ApplyProgress> updates;
  ASSERT_TRUE(Apply(kLossSpec, &updates, "loss.yaml").ok());
  h3_ = std::make_unique<FakeAgent>(agents_, "h3", &journal_);  // the spare
  ASSERT_TRUE(WaitFor([&] { return inventory_->Find("h3").has_value(); }));
  auto before = store_->GetCluster("loss");
  ASSERT_TRUE(before.ok());
  const std::string lost = before->placement.instances(0).host();  // zk1's
  std::map<std::string, bdcoord::v1::PlacedInstance> placed;
  for (const auto& i : before->placement.instances()) placed[i.name()] = i;
  const std::string hosts_file = LatestDesired(lost, "loss").hosts_file();
  ASSERT_FALSE(hosts_file.empty());
  const bdcoord::v1::DesiredState on_lost = LatestDesired(lost, "loss");
  for (const auto& instance : on_lost.instances()) {
    EXPECT_EQ(instance.has_fence_after(), instance.service() == "zk") << instance.name();
    if (instance.service() == "zk") {
      EXPECT_EQ(instance.fence_after().seconds(), 15);
    }
  }

  grpc::ClientContext events_context;
  bdcoord::v1::WatchEventsRequest watch;
  auto events = cluster_->WatchEvents(&events_context, watch);

  // The host goes away; the others keep heartbeating while time goes on.
  (lost == "h1" ? h1_ : h2_).reset();
  ASSERT_TRUE(WaitFor([&] { return !inventory_->Find(lost)->connected; }));
  SkipWithoutHost(lost, 28);  // not yet
  harness_.coordinator().controller().RunPass();
  EXPECT_EQ(store_->GetCluster("loss")->placement.SerializeAsString(),
            before->placement.SerializeAsString())
      << "nothing moves before `after`";
  SkipWithoutHost(lost, 4);  // 32 s
  ASSERT_TRUE(WaitFor([&] {
    auto now = store_->GetCluster("loss");
    return now.ok() && now->placement.SerializeAsString() != before->placement.SerializeAsString();
  }));
  auto after = store_->GetCluster("loss");
  ASSERT_TRUE(after.ok());
  std::string moved_to;
  for (const auto& i : after->placement.instances()) {
    EXPECT_EQ(i.ip(), placed[i.name()].ip()) << i.name();
    const bool was_on_lost = placed[i.name()].host() == lost;
    if (i.service() == "zk" && was_on_lost) {
      EXPECT_EQ(i.host(), "h3") << "the one host without a zk";
      moved_to = i.host();
    } else {
      EXPECT_EQ(i.host(), placed[i.name()].host()) << i.name() << " stays";
    }
  }
  ASSERT_EQ(moved_to, "h3");
  ASSERT_TRUE(WaitFor([&] {
    const bdcoord::v1::DesiredState on_h3 = LatestDesired("h3", "loss");
    for (const auto& instance : on_h3.instances()) {
      if (instance.name() == "zk1") return true;
    }
    return false;
  }));
  EXPECT_EQ(LatestDesired("h3", "loss").hosts_file(), hosts_file) << "every /etc/hosts the same";
  EXPECT_EQ(LatestDesired("h3", "loss").instances(0).ip(), placed["zk1"].ip());

  bdcoord::v1::Event event;
  bool rescheduled = false;
  while (!rescheduled && events->Read(&event)) {
    if (event.kind() != "rescheduled") continue;
    rescheduled = true;
    EXPECT_EQ(event.instance(), "zk1");
    EXPECT_EQ(event.host(), "h3");
    EXPECT_EQ(event.message(), absl::StrCat("from ", lost, " to h3: host ", lost,
                                            " lost (no heartbeat for 32s), same name and IP"));
  }
  EXPECT_TRUE(rescheduled);
  events_context.TryCancel();

  // Status says why the instance left on the lost host is not heard of.
  bdcoord::v1::GetStatusResponse status;
  ASSERT_TRUE(GetStatus("loss", &status).ok());
  for (const auto& view : status.clusters(0).instances()) {
    if (view.placed().host() == lost) {
      EXPECT_EQ(view.placed().service(), "web");
      EXPECT_THAT(view.status().message(),
                  ::testing::MatchesRegex(absl::StrCat(
                      "host ", lost,
                      " is down: no heartbeat for 3[0-9]s; 'web' has no reschedule: it stays "
                      "placed there until the host is back")))
          << view.placed().name();
    }
  }

  // The host comes back: it is told to run only what stayed on it (web), not zk1.
  (lost == "h1" ? h1_ : h2_) = std::make_unique<FakeAgent>(agents_, lost, &journal_);
  ASSERT_TRUE(WaitFor([&] {
    const auto desired = LatestDesired(lost, "loss");
    return desired.instances_size() == 1 && desired.instances(0).service() == "web";
  }));
}

// bdcoordd restarts while a host is away: the hosts that placed instances are on are known from
// the store (down, with the facts they last said hello with), so one that never comes back is
// lost `after` from the restart and its reschedulable instances move as off any lost host.
TEST_F(CoordinatorApplyTest, AHostThatDoesNotComeBackAfterACoordinatorRestartIsLostToo) {
  ASSERT_NO_FATAL_FAILURE(StartAgents(2));
  std::vector<bdcoord::v1::ApplyProgress> updates;
  ASSERT_TRUE(Apply(kLossSpec, &updates, "loss.yaml").ok());
  h3_ = std::make_unique<FakeAgent>(agents_, "h3", &journal_);  // the spare, nothing on it
  ASSERT_TRUE(WaitFor([&] { return inventory_->Find("h3").has_value(); }));
  auto before = store_->GetCluster("loss");
  ASSERT_TRUE(before.ok());
  const std::string lost = before->placement.instances(0).host();  // zk1's
  const std::string zk1_ip = before->placement.instances(0).ip();
  const std::string stays = lost == "h1" ? "h2" : "h1";

  // Every agent goes, bdcoordd restarts, and all but the lost host come back.
  h1_.reset();
  h2_.reset();
  h3_.reset();
  ASSERT_TRUE(harness_.RestartCoordinator().ok());
  store_ = &harness_.store();
  inventory_ = &harness_.inventory();
  std::optional<coordinator::InventoryHost> known = inventory_->Find(lost);
  ASSERT_TRUE(known.has_value()) << "known from the store before any hello";
  EXPECT_FALSE(known->connected);
  EXPECT_TRUE(known->down);
  EXPECT_EQ(known->facts.cpus(), 8u) << "with the facts of its last hello";
  EXPECT_FALSE(inventory_->Find("h3").has_value()) << "no instance on it: known at its hello";
  (stays == "h1" ? h1_ : h2_) = std::make_unique<FakeAgent>(agents_, stays, &journal_);
  h3_ = std::make_unique<FakeAgent>(agents_, "h3", &journal_);
  ASSERT_TRUE(WaitFor([&] {
    auto spare = inventory_->Find("h3");
    auto other = inventory_->Find(stays);
    return spare.has_value() && spare->connected && other.has_value() && other->connected;
  }));

  grpc::ClientContext events_context;
  events_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto events = cluster_->WatchEvents(&events_context, bdcoord::v1::WatchEventsRequest());
  events->WaitForInitialMetadata();
  SkipWithoutHost(lost, 32);
  bdcoord::v1::Event event;
  std::string rescheduled;
  while (rescheduled.empty() && events->Read(&event)) {
    if (event.kind() == "rescheduled") rescheduled = event.instance() + " " + event.message();
  }
  EXPECT_EQ(rescheduled, absl::StrCat("zk1 from ", lost, " to h3: host ", lost,
                                      " lost (no heartbeat for 32s), same name and IP"));
  auto after = store_->GetCluster("loss");
  ASSERT_TRUE(after.ok());
  for (const auto& i : after->placement.instances()) {
    if (i.name() != "zk1") continue;
    EXPECT_EQ(i.host(), "h3");
    EXPECT_EQ(i.ip(), zk1_ip);
  }
}

// A service without reschedule that a rule ties to a rescheduled one (colocate_with) would have
// to move too while it may still run on the lost host: nothing moves, and the controller says
// why once (a reschedule-failed event).
TEST_F(CoordinatorApplyTest, ARescheduleThatWouldMoveAnInstanceWithoutRescheduleIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartAgents(2));
  std::string spec = kLossSpec;
  spec.replace(spec.rfind("placement: {distinct_hosts: true}"),
               std::string("placement: {distinct_hosts: true}").size(),
               "placement: {distinct_hosts: true, colocate_with: zk}");
  std::vector<bdcoord::v1::ApplyProgress> updates;
  ASSERT_TRUE(Apply(spec, &updates, "loss.yaml").ok());
  h3_ = std::make_unique<FakeAgent>(agents_, "h3", &journal_);
  ASSERT_TRUE(WaitFor([&] { return inventory_->Find("h3").has_value(); }));
  auto before = store_->GetCluster("loss");
  ASSERT_TRUE(before.ok());
  std::string lost;
  std::string web_there;
  for (const auto& i : before->placement.instances()) {
    if (i.name() == "zk1") lost = i.host();
  }
  for (const auto& i : before->placement.instances()) {
    if (i.service() == "web" && i.host() == lost) web_there = i.name();
  }
  ASSERT_FALSE(web_there.empty());

  EXPECT_EQ(LoseHostForAndFirstEvent(lost, 32, "reschedule-failed"),
            absl::StrCat("cannot reschedule 1 instance of cluster 'loss' off lost hosts: ",
                         web_there, " would have to move too (from ", lost,
                         " to h3), and its service 'web' has no reschedule; nothing moved"));
  EXPECT_EQ(store_->GetCluster("loss")->placement.SerializeAsString(),
            before->placement.SerializeAsString());
}

// With no other host that its placement rules allow (zk on distinct hosts, two hosts), the lost
// host's zk stays placed there and the controller says why.
TEST_F(CoordinatorApplyTest, ARescheduleThatDoesNotFitMovesNothingAndSaysWhy) {
  ASSERT_NO_FATAL_FAILURE(StartAgents(2));
  std::vector<bdcoord::v1::ApplyProgress> updates;
  ASSERT_TRUE(Apply(kLossSpec, &updates, "loss.yaml").ok());
  auto before = store_->GetCluster("loss");
  ASSERT_TRUE(before.ok());
  const std::string lost = before->placement.instances(0).host();  // zk1's
  EXPECT_THAT(LoseHostForAndFirstEvent(lost, 32, "reschedule-failed"),
              ::testing::StartsWith("cannot reschedule 1 instance of cluster 'loss' off lost "
                                    "hosts: they do not fit on the other hosts; nothing moved\n"));
  EXPECT_EQ(store_->GetCluster("loss")->placement.SerializeAsString(),
            before->placement.SerializeAsString());
}

TEST_F(CoordinatorApplyTest, DrainMovesInstancesKeepingTheirIps) {
  ASSERT_NO_FATAL_FAILURE(StartAgents(3));
  std::vector<bdcoord::v1::ApplyProgress> updates;
  ASSERT_TRUE(Apply(kChainSpec, &updates).ok());
  auto before = store_->GetCluster("chain");
  ASSERT_TRUE(before.ok());
  std::map<std::string, std::string> ip_of;
  std::string busy;  // a host with instances
  for (const auto& i : before->placement.instances()) {
    ip_of[i.name()] = i.ip();
    busy = i.host();
  }
  uint32_t on_busy = 0;
  for (const auto& i : before->placement.instances()) on_busy += i.host() == busy ? 1 : 0;

  bdcoord::v1::DrainHostResponse response;
  const grpc::Status drained = Drain(busy, &response);
  ASSERT_TRUE(drained.ok()) << drained.error_message();
  EXPECT_EQ(response.moved(), on_busy);
  EXPECT_THAT(response.clusters(), ::testing::ElementsAre("chain"));
  auto after = store_->GetCluster("chain");
  ASSERT_TRUE(after.ok());
  std::map<std::string, std::string> host_of;
  for (const auto& i : after->placement.instances()) {
    EXPECT_NE(i.host(), busy) << i.name();
    EXPECT_EQ(i.ip(), ip_of[i.name()]) << i.name();
    host_of[i.name()] = i.host();
  }
  // Each moved instance with its new host: what `bdcoord drain` waits on.
  ASSERT_EQ(response.instances_size(), static_cast<int>(on_busy));
  for (const auto& moved : response.instances()) {
    EXPECT_EQ(moved.cluster(), "chain");
    EXPECT_EQ(moved.host(), host_of[moved.instance()]) << moved.instance();
  }
  // Their new hosts' agents report them: GetStatus shows them running and ready there.
  EXPECT_TRUE(WaitFor([&] {
    bdcoord::v1::GetStatusResponse status;
    if (!GetStatus("chain", &status).ok()) return false;
    for (const auto& view : status.clusters(0).instances()) {
      if (view.status().state() != bdcoord::v1::INSTANCE_STATE_RUNNING || !view.status().ready()) {
        return false;
      }
    }
    return true;
  }));
  // The drained host is told to run nothing of the cluster.
  ASSERT_TRUE(WaitFor([&] { return LatestDesired(busy, "chain").instances_size() == 0; }));
  bdcoord::v1::ListHostsResponse hosts;
  grpc::ClientContext context;
  ASSERT_TRUE(cluster_->ListHosts(&context, bdcoord::v1::ListHostsRequest(), &hosts).ok());
  for (const auto& host : hosts.hosts()) {
    EXPECT_EQ(host.drained(), host.name() == busy) << host.name();
    if (host.name() == busy) {
      EXPECT_EQ(host.instances(), 0u);
    }
  }

  // Draining a second host leaves one for two zk with distinct_hosts: refused, nothing moved.
  std::string second = busy == "h1" ? "h2" : "h1";
  const grpc::Status refused = Drain(second, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(),
              ::testing::StartsWith("cannot drain '" + second +
                                    "': cluster 'chain' does not fit on the other hosts; "
                                    "nothing moved\nplacement impossible"));
  auto unchanged = store_->GetCluster("chain");
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(unchanged->placement.SerializeAsString(), after->placement.SerializeAsString());

  const grpc::Status unknown = Drain("h9", &response);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), ::testing::StartsWith("no host named 'h9'"));
  ASSERT_TRUE(Drain(busy, &response, /*undo=*/true).ok());
  grpc::ClientContext again;
  hosts.Clear();
  ASSERT_TRUE(cluster_->ListHosts(&again, bdcoord::v1::ListHostsRequest(), &hosts).ok());
  for (const auto& host : hosts.hosts()) EXPECT_FALSE(host.drained()) << host.name();
}

}  // namespace
}  // namespace bdcoord
