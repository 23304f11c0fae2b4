// ClusterService.StreamLogs and WatchEvents over real gRPC, and the status page that shows them
// (bdcoordd --http-listen: real HTTP on loopback, answering from that gRPC service), on a unix
// socket, with the real SQLite store and fake agents that serve log requests from scripted lines
// (follow: a tick every 20 ms until cancelled) and send status reports on demand. No Docker needed.
// Every wait is on a condition with a deadline.
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bdcoord/v1/agent.grpc.pb.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "coordinator/grpc/agent_service.h"
#include "coordinator/state/inventory.h"
#include "coordinator/web/status_page.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"
#include "tests/integration/tls_test_util.h"
#include "tests/integration/wait_for.h"
#include "tests/testing/coordinator_harness.h"

namespace bdcoord {
namespace {

using test_util::CoordinatorHarness;
using test_util::WaitFor;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using AgentStream =
    grpc::ClientReaderWriter<bdcoord::v1::AgentMessage, bdcoord::v1::CoordinatorMessage>;

// An agent with scripted container logs. Containers it does not know get an `end` chunk with an
// error, like the real agent for a container that is not bdcoord's.
class FakeLogAgent {
 public:
  FakeLogAgent(bdcoord::v1::AgentService::Stub* stub, const std::string& name,
               std::map<std::string, std::vector<std::string>> logs)
      : name_(name), logs_(std::move(logs)) {
    stream_ = stub->Connect(&context_);
    bdcoord::v1::AgentMessage hello;
    hello.mutable_hello()->set_host(name);
    hello.mutable_hello()->mutable_facts()->set_cpus(4);
    hello.mutable_hello()->mutable_facts()->set_docker_version("24.0.5");
    EXPECT_TRUE(Write(hello));
    reader_ = std::thread([this] { Run(); });
  }
  ~FakeLogAgent() { Disconnect(); }

  void Disconnect() {
    context_.TryCancel();
    if (reader_.joinable()) reader_.join();
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    for (auto& thread : followers_) thread.join();
    followers_.clear();
  }

  bool Write(const bdcoord::v1::AgentMessage& message) {
    absl::MutexLock lock(&write_mu_);
    return stream_->Write(message);
  }

  bool SendStatus(const std::string& cluster, std::vector<bdcoord::v1::InstanceStatus> statuses) {
    bdcoord::v1::AgentMessage message;
    message.mutable_status()->set_cluster(cluster);
    for (auto& status : statuses) *message.mutable_status()->add_instances() = status;
    return Write(message);
  }

  std::set<uint64_t> cancels() {
    absl::MutexLock lock(&mu_);
    return cancels_;
  }
  std::vector<bdcoord::v1::LogRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  void Run() {
    bdcoord::v1::CoordinatorMessage message;
    while (stream_->Read(&message)) {
      if (!message.has_logs()) continue;
      const bdcoord::v1::LogRequest request = message.logs();
      {
        absl::MutexLock lock(&mu_);
        if (request.cancel()) {
          cancels_.insert(request.request_id());
          continue;
        }
        requests_.push_back(request);
      }
      bdcoord::v1::AgentMessage reply;
      bdcoord::v1::AgentLogChunk* chunk = reply.mutable_logs();
      chunk->set_request_id(request.request_id());
      chunk->set_instance(request.container());
      auto it = logs_.find(request.container());
      if (it == logs_.end()) {
        chunk->set_end(true);
        chunk->set_error(
            absl::StrCat("container '", request.container(), "' is not managed by bdcoord"));
        Write(reply);
        continue;
      }
      // Lines starting with "err:" go out as stderr, in their own chunk.
      for (const std::string& line : it->second) {
        bdcoord::v1::AgentMessage one = reply;
        const bool is_err = line.rfind("err:", 0) == 0;
        one.mutable_logs()->set_stderr(is_err);
        one.mutable_logs()->add_lines(is_err ? line.substr(4) : line);
        Write(one);
      }
      if (!request.follow()) {
        chunk->set_end(true);
        Write(reply);
        continue;
      }
      followers_.emplace_back([this, request] {
        for (int tick = 1;; ++tick) {
          {
            absl::MutexLock lock(&mu_);
            auto stopped = [this, &request] {
              mu_.AssertHeld();
              return stop_ || cancels_.contains(request.request_id());
            };
            if (stopped()) return;
            mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::Milliseconds(20));
            if (stopped()) return;
          }
          bdcoord::v1::AgentMessage message;
          message.mutable_logs()->set_request_id(request.request_id());
          message.mutable_logs()->add_lines(absl::StrCat("tick ", tick));
          if (!Write(message)) return;
        }
      });
    }
  }

  std::string name_;
  std::map<std::string, std::vector<std::string>> logs_;
  grpc::ClientContext context_;
  std::unique_ptr<AgentStream> stream_;
  absl::Mutex write_mu_;
  std::thread reader_;
  std::vector<std::thread> followers_;  // only touched by the reader, then by Disconnect
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::set<uint64_t> cancels_ ABSL_GUARDED_BY(mu_);
  std::vector<bdcoord::v1::LogRequest> requests_ ABSL_GUARDED_BY(mu_);
};

bdcoord::v1::PlacedInstance Placed(const std::string& name, const std::string& service,
                                   const std::string& host, const std::string& ip) {
  bdcoord::v1::PlacedInstance placed;
  placed.set_name(name);
  placed.set_service(service);
  placed.set_host(host);
  placed.set_ip(ip);
  return placed;
}

bdcoord::v1::InstanceStatus Status(const std::string& name, bdcoord::v1::InstanceState state,
                                   bool ready = false) {
  bdcoord::v1::InstanceStatus status;
  status.set_name(name);
  status.set_state(state);
  status.set_ready(ready);
  return status;
}

class CoordinatorLogsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // No controller: these tests script the agents' reports themselves.
    CoordinatorHarness::Options options;
    options.name = "logs";
    options.controller = false;
    ASSERT_TRUE(harness_.Start(options).ok());

    coordinator::AppliedCluster applied;
    applied.name = "logs";
    applied.spec.set_cluster("logs");
    applied.placement.set_cluster("logs");
    *applied.placement.add_instances() = Placed("zk1", "zk", "h1", "10.70.0.1");
    *applied.placement.add_instances() = Placed("zk2", "zk", "h2", "10.70.0.2");
    *applied.placement.add_instances() = Placed("web1", "web", "h1", "10.70.0.3");
    ASSERT_TRUE(harness_.store().ApplyCluster(applied).ok());
  }

  void TearDown() override {
    h1_.reset();
    h2_.reset();
  }

  bool Connected(const std::string& host) {
    auto found = harness_.inventory().Find(host);
    return found.has_value() && found->connected;
  }

  void StartAgents() {
    h1_ = std::make_unique<FakeLogAgent>(
        &harness_.agents(), "h1",
        std::map<std::string, std::vector<std::string>>{
            {"zk1", {"zk1 starting", "err:zk1 warning", "zk1 serving"}}});
    h2_ = std::make_unique<FakeLogAgent>(
        &harness_.agents(), "h2",
        std::map<std::string, std::vector<std::string>>{{"zk2", {"zk2 starting", "zk2 serving"}}});
    ASSERT_TRUE(WaitFor([&] { return Connected("h1") && Connected("h2"); }));
  }

  // Reads the whole (non-follow) stream.
  grpc::Status Logs(const std::string& cluster, const std::string& target,
                    std::vector<bdcoord::v1::LogLine>* lines) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    bdcoord::v1::StreamLogsRequest request;
    request.set_cluster(cluster);
    request.set_target(target);
    auto reader = harness_.cluster().StreamLogs(&context, request);
    bdcoord::v1::LogLine line;
    while (reader->Read(&line)) lines->push_back(line);
    return reader->Finish();
  }

  CoordinatorHarness harness_;
  std::unique_ptr<FakeLogAgent> h1_;
  std::unique_ptr<FakeLogAgent> h2_;
};

TEST_F(CoordinatorLogsTest, ServiceLogsAreMergedWithTheirInstance) {
  StartAgents();
  std::vector<bdcoord::v1::LogLine> lines;
  // No cluster named: the only one applied.
  const grpc::Status status = Logs("", "zk", &lines);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::map<std::string, std::vector<std::string>> by_instance;
  std::vector<std::string> stderr_lines;
  for (const auto& line : lines) {
    by_instance[line.instance()].push_back(line.text());
    if (line.stderr()) stderr_lines.push_back(line.instance() + ": " + line.text());
  }
  EXPECT_THAT(by_instance["zk1"], ElementsAre("zk1 starting", "zk1 warning", "zk1 serving"));
  EXPECT_THAT(by_instance["zk2"], ElementsAre("zk2 starting", "zk2 serving"));
  EXPECT_EQ(by_instance.size(), 2u);
  EXPECT_THAT(stderr_lines, ElementsAre("zk1: zk1 warning"));
  // Each instance went to its own host, as asked.
  ASSERT_EQ(h1_->requests().size(), 1u);
  EXPECT_EQ(h1_->requests()[0].container(), "zk1");
  EXPECT_FALSE(h1_->requests()[0].follow());
  ASSERT_EQ(h2_->requests().size(), 1u);
  EXPECT_EQ(h2_->requests()[0].container(), "zk2");

  // One instance by name, with a tail passed through.
  lines.clear();
  grpc::ClientContext context;
  bdcoord::v1::StreamLogsRequest request;
  request.set_cluster("logs");
  request.set_target("zk2");
  request.set_tail(5);
  auto reader = harness_.cluster().StreamLogs(&context, request);
  bdcoord::v1::LogLine line;
  while (reader->Read(&line)) lines.push_back(line);
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].instance(), "zk2");
  EXPECT_EQ(h2_->requests().back().tail(), 5);
  // The router forgets an ended request just after handing its end to the stream, which may
  // already have finished: a moment later.
  EXPECT_TRUE(WaitFor([&] { return harness_.agent_service().logs()->open_requests() == 0; }));
}

TEST_F(CoordinatorLogsTest, FollowStreamsUntilTheClientCancels) {
  StartAgents();
  grpc::ClientContext context;
  bdcoord::v1::StreamLogsRequest request;
  request.set_target("zk1");
  request.set_follow(true);
  auto reader = harness_.cluster().StreamLogs(&context, request);
  std::vector<std::string> texts;
  bdcoord::v1::LogLine line;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (texts.size() < 6 && absl::Now() < deadline && reader->Read(&line)) {
    texts.push_back(line.text());
  }
  ASSERT_EQ(texts.size(), 6u);
  EXPECT_THAT(texts, ElementsAre("zk1 starting", "zk1 warning", "zk1 serving", "tick 1", "tick 2",
                                 "tick 3"));
  context.TryCancel();
  while (reader->Read(&line)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The agent was told to stop, and the coordinator forgot the request.
  ASSERT_EQ(h1_->requests().size(), 1u);
  const uint64_t id = h1_->requests()[0].request_id();
  EXPECT_TRUE(WaitFor([&] { return h1_->cancels().contains(id); }));
  EXPECT_TRUE(WaitFor([&] { return harness_.agent_service().logs()->open_requests() == 0; }));
}

TEST_F(CoordinatorLogsTest, UnknownTargetsAndClustersAreNamed) {
  StartAgents();
  std::vector<bdcoord::v1::LogLine> lines;
  grpc::Status status = Logs("", "zk7", &lines);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(),
            "no instance or service named 'zk7' in cluster 'logs'; did you mean 'zk1'?");
  status = Logs("logs", "nginx", &lines);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no instance or service named 'nginx' in cluster 'logs'");
  status = Logs("nope", "zk", &lines);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no cluster named 'nope'; expected one of: logs");
  status = Logs("logs", "", &lines);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "name an instance or a service whose logs to stream");

  // A container the agent refuses (not bdcoord's): its error, nothing else.
  status = Logs("logs", "web1", &lines);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(),
            "logs of 'web1' on host 'h1': container 'web1' is not managed by bdcoord");
  EXPECT_TRUE(lines.empty());

  // Two clusters: which one must be said.
  coordinator::AppliedCluster other;
  other.name = "other";
  *other.placement.add_instances() = Placed("db1", "db", "h2", "10.70.0.9");
  ASSERT_TRUE(harness_.store().ApplyCluster(other).ok());
  status = Logs("", "zk", &lines);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "2 clusters are applied (logs, other): name one with -c/--cluster");
  EXPECT_TRUE(Logs("other", "db1", &lines).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(CoordinatorLogsTest, DisconnectedHostIsNamed) {
  StartAgents();
  // Before the call: h2 is gone.
  h2_->Disconnect();
  ASSERT_TRUE(WaitFor([&] { return !Connected("h2"); }));
  std::vector<bdcoord::v1::LogLine> lines;
  grpc::Status status = Logs("logs", "zk", &lines);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "instance 'zk2' is on host 'h2', which is not connected");
  EXPECT_TRUE(h1_->requests().empty());  // nothing was asked of h1 either

  // During a follow: h1 goes away.
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  bdcoord::v1::StreamLogsRequest request;
  request.set_target("zk1");
  request.set_follow(true);
  auto reader = harness_.cluster().StreamLogs(&context, request);
  bdcoord::v1::LogLine line;
  ASSERT_TRUE(reader->Read(&line));
  EXPECT_EQ(line.text(), "zk1 starting");
  h1_->Disconnect();
  while (reader->Read(&line)) {
  }
  status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(),
            "host 'h1' is not connected any more: it disconnected while streaming the logs of "
            "'zk1'");
}

TEST_F(CoordinatorLogsTest, StatusChangesAndHostsBecomeEvents) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  bdcoord::v1::WatchEventsRequest request;
  request.set_cluster("logs");
  auto reader = harness_.cluster().WatchEvents(&context, request);
  reader->WaitForInitialMetadata();  // subscribed from here on
  StartAgents();

  using bdcoord::v1::INSTANCE_STATE_CREATED;
  using bdcoord::v1::INSTANCE_STATE_FAILED;
  using bdcoord::v1::INSTANCE_STATE_RUNNING;
  ASSERT_TRUE(h1_->SendStatus("logs", {Status("zk1", INSTANCE_STATE_CREATED)}));
  ASSERT_TRUE(h1_->SendStatus("logs", {Status("zk1", INSTANCE_STATE_RUNNING)}));
  ASSERT_TRUE(h1_->SendStatus("logs", {Status("zk1", INSTANCE_STATE_RUNNING, true)}));
  ASSERT_TRUE(h1_->SendStatus("logs", {Status("zk1", INSTANCE_STATE_RUNNING, true)}));  // same
  auto restarted = Status("zk1", INSTANCE_STATE_RUNNING, true);
  restarted.set_restart_count(2);
  restarted.set_last_exit_code(137);
  ASSERT_TRUE(h1_->SendStatus("logs", {restarted}));
  ASSERT_TRUE(h1_->SendStatus("logs", {restarted}));  // the same count: no second event
  auto failed = Status("zk1", INSTANCE_STATE_FAILED);
  failed.set_exit_code(3);
  failed.set_message("exited with code 3");
  ASSERT_TRUE(h1_->SendStatus("logs", {failed}));
  ASSERT_TRUE(h1_->SendStatus("other", {Status("db1", INSTANCE_STATE_RUNNING)}));  // filtered
  ASSERT_TRUE(h1_->SendStatus("logs", {}));  // zk1 no longer reported

  // Reads until `count` events were seen (host-up events skipped), as "kind instance: message".
  std::vector<std::string> seen;
  bdcoord::v1::Event event;
  auto read = [&](size_t count) {
    while (seen.size() < count && reader->Read(&event)) {
      if (event.kind() == "host-up") continue;
      if (event.kind() == "host-down") {
        EXPECT_TRUE(event.cluster().empty());  // hosts belong to no cluster: every watcher
        seen.push_back(absl::StrCat("host-down ", event.host(), ": ", event.message()));
        continue;
      }
      EXPECT_EQ(event.cluster(), "logs");
      EXPECT_EQ(event.host(), "h1");
      EXPECT_TRUE(event.has_time());
      seen.push_back(absl::StrCat(event.kind(), " ", event.instance(),
                                  event.message().empty() ? "" : ": ", event.message()));
    }
  };
  read(6);
  EXPECT_THAT(seen,
              ElementsAre("created zk1", "started zk1", "ready zk1",
                          "restarted zk1: restarted (2 restarts, last exit code 137)",
                          "failed zk1: exited with code 3", "removed zk1: no longer on this host"));
  h2_->Disconnect();
  read(7);
  ASSERT_EQ(seen.size(), 7u);
  EXPECT_EQ(seen[6], "host-down h2: disconnected");
  context.TryCancel();
  while (reader->Read(&event)) {
  }
  reader->Finish();
}

// The status page in front of this coordinator: a real HTTP server on a free loopback port,
// talking to the harness's ClusterService over its unix socket (bdcoordd uses an in-process
// channel; the calls are the same).
class StatusPageTest : public CoordinatorLogsTest {
 protected:
  static constexpr char kPageToken[] = "page-token";
  // The page as bdcoordd --http-listen 127.0.0.1:0 --token-file serves it, and a client that
  // brings the token (StatusPageTokenTest: one that does not).
  void StartPage() {
    auto bind = coordinator::ParseHttpListen("127.0.0.1:0", false, true);
    ASSERT_TRUE(bind.ok()) << bind.status();
    auto page = coordinator::StatusPage::Start(
        {.bind = *bind, .tls_cert = "", .tls_key = "", .token = kPageToken},
        bdcoord::v1::ClusterService::NewStub(
            grpc::CreateChannel(harness_.address(), grpc::InsecureChannelCredentials())));
    ASSERT_TRUE(page.ok()) << page.status();
    page_ = *std::move(page);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", page_->port());
    client_->set_default_headers({{"Authorization", absl::StrCat("Bearer ", kPageToken)}});
  }
  void TearDown() override {
    if (page_ != nullptr) page_->Stop();
    CoordinatorLogsTest::TearDown();
  }
  nlohmann::json GetJson(const std::string& path, int expected_status = 200) {
    auto response = client_->Get(path);
    EXPECT_TRUE(response) << path << ": " << httplib::to_string(response.error());
    if (!response) return nullptr;
    EXPECT_EQ(response->status, expected_status) << path << ": " << response->body;
    return nlohmann::json::parse(response->body, nullptr, false);
  }

  std::unique_ptr<coordinator::StatusPage> page_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(StatusPageTest, ShowsHostsInstancesStatesEventsAndLogs) {
  StartPage();
  // The page says whether it is subscribed to the events (it shows the ones from then on).
  ASSERT_TRUE(WaitFor([&] { return GetJson("/api/status")["events_live"] == true; }));
  StartAgents();
  ASSERT_TRUE(h1_->SendStatus("logs", {Status("zk1", bdcoord::v1::INSTANCE_STATE_RUNNING, true),
                                       Status("web1", bdcoord::v1::INSTANCE_STATE_CREATED)}));
  // What the controller (off in these tests) stores from that report.
  ASSERT_TRUE(
      harness_.store()
          .MarkInstance("logs", "h1", Status("zk1", bdcoord::v1::INSTANCE_STATE_RUNNING, true))
          .ok());
  // The page's data: each placed instance with its host, IP and the state its host reported.
  auto zk1_ready = [&] {
    const nlohmann::json body = GetJson("/api/status");
    if (!body.is_object() || body["clusters"].size() != 1) return false;
    for (const auto& view : body["clusters"][0]["instances"]) {
      if (view["placed"]["name"] == "zk1") {
        return view["placed"]["host"] == "h1" && view["placed"]["ip"] == "10.70.0.1" &&
               view.contains("status") && view["status"]["state"] == "INSTANCE_STATE_RUNNING" &&
               view["status"]["ready"] == true;
      }
    }
    return false;
  };
  ASSERT_TRUE(WaitFor(zk1_ready)) << GetJson("/api/status").dump(2);
  nlohmann::json body = GetJson("/api/status");
  EXPECT_EQ(body["clusters"][0]["instances"].size(), 3u);
  std::set<std::string> hosts;
  for (const auto& host : body["hosts"]) {
    if (host["connected"] == true) hosts.insert(host["name"]);
  }
  EXPECT_THAT(hosts, ::testing::ElementsAre("h1", "h2"));
  // The events the page keeps: web1's and zk1's, seen by its own watch.
  auto has_event = [&](const std::string& kind, const std::string& instance) {
    const nlohmann::json events = GetJson("/api/status")["events"];
    for (const auto& event : events) {
      if (event["kind"] == kind && event["instance"] == instance) return true;
    }
    return false;
  };
  EXPECT_TRUE(WaitFor([&] { return has_event("ready", "zk1") && has_event("created", "web1"); }));

  // One instance's recent logs, through its host's agent.
  body = GetJson("/api/logs?cluster=logs&target=zk1&tail=10");
  ASSERT_TRUE(body.contains("lines")) << body.dump();
  std::vector<std::string> texts;
  for (const auto& line : body["lines"]) texts.push_back(line["text"]);
  EXPECT_THAT(texts, ElementsAre("zk1 starting", "zk1 warning", "zk1 serving"));
  EXPECT_EQ(GetJson("/api/logs?cluster=logs&target=nosuch", 404)["error"],
            "no instance or service named 'nosuch' in cluster 'logs'");
  EXPECT_EQ(GetJson("/api/logs?cluster=logs", 400)["error"],
            "target (an instance or a service) is required");
  EXPECT_EQ(GetJson("/api/logs?cluster=logs&target=zk1&tail=5000", 400)["error"],
            "tail must be a number from 1 to 1000");
}

TEST_F(StatusPageTest, ServesItsOwnFilesWithHeadersThatKeepOtherSitesOut) {
  StartPage();
  auto response = client_->Get("/");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->body, HasSubstr("<script src=\"/status.js\" defer></script>"));
  EXPECT_EQ(response->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_THAT(response->get_header_value("Content-Security-Policy"),
              HasSubstr("default-src 'self'"));
  EXPECT_EQ(response->get_header_value("X-Content-Type-Options"), "nosniff");
  response = client_->Get("/status.js");
  ASSERT_TRUE(response);
  EXPECT_THAT(response->body, HasSubstr("/api/status"));
  // DNS rebinding: a page of another site whose name resolves to 127.0.0.1.
  response = client_->Get("/api/status", {{"Host", "attacker.example"}});
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 403);
  EXPECT_THAT(response->body, HasSubstr("answers loopback names only, not 'attacker.example'"));
  EXPECT_EQ(client_->Get("/nosuch")->status, 404);
  EXPECT_EQ(client_->Post("/api/status", "", "application/json")->status, 404);  // read-only
}

TEST_F(StatusPageTest, AnotherProgramOnThePortIsAClearError) {
  StartPage();
  auto bind = coordinator::ParseHttpListen(absl::StrCat("127.0.0.1:", page_->port()), false, true);
  ASSERT_TRUE(bind.ok());
  auto second =
      coordinator::StatusPage::Start({.bind = *bind, .tls_cert = "", .tls_key = "", .token = "t"},
                                     bdcoord::v1::ClusterService::NewStub(grpc::CreateChannel(
                                         harness_.address(), grpc::InsecureChannelCredentials())));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            absl::StrCat("--http-listen: cannot listen on '127.0.0.1:", page_->port(),
                         "' (in use, or not an address of this machine)"));
}

// With bdcoordd --token-file the page's data needs the token, as every API call does.
TEST(StatusPageTokenTest, TheDataNeedsTheCoordinatorsToken) {
  CoordinatorHarness harness;
  CoordinatorHarness::Options options;
  options.name = "pagetoken";
  options.token = "s3cret-token";
  ASSERT_TRUE(harness.Start(options).ok());
  auto bind = coordinator::ParseHttpListen("127.0.0.1:0", false, true);
  ASSERT_TRUE(bind.ok());
  auto page = coordinator::StatusPage::Start(
      {.bind = *bind, .tls_cert = "", .tls_key = "", .token = "s3cret-token"},
      bdcoord::v1::ClusterService::NewStub(
          grpc::CreateChannel(harness.address(), grpc::InsecureChannelCredentials())));
  ASSERT_TRUE(page.ok()) << page.status();
  httplib::Client client("127.0.0.1", (*page)->port());
  auto response = client.Get("/api/status");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(nlohmann::json::parse(response->body)["error"],
            "missing or invalid bearer token: open the page as /#token=TOKEN (the token of "
            "bdcoordd --token-file)");
  EXPECT_EQ(client.Get("/")->status, 200);  // the page itself asks for the token
  response = client.Get("/api/status", {{"Authorization", "Bearer s3cret-token"}});
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200) << response->body;
  EXPECT_EQ(nlohmann::json::parse(response->body)["clusters"], nlohmann::json::array());
  (*page)->Stop();
}

// With --tls-cert and --tls-key the page is HTTPS with the coordinator's certificate (a browser
// checks it like any site's); a pair that cannot serve is refused at start, saying which files.
TEST(StatusPageTlsTest, ServesHttpsWithTheCoordinatorsCertificate) {
  ASSERT_TRUE(test_util::HaveOpenssl());
  CoordinatorHarness harness;
  CoordinatorHarness::Options options;
  options.name = "pagetls";
  options.token = "tls-token";
  ASSERT_TRUE(harness.Start(options).ok());
  const std::string dir = harness.dir();
  ASSERT_TRUE(test_util::MakeTestCertificates(dir));
  auto bind = coordinator::ParseHttpListen("127.0.0.1:0", true, true);
  ASSERT_TRUE(bind.ok()) << bind.status();
  auto stub = [&] {
    return bdcoord::v1::ClusterService::NewStub(
        grpc::CreateChannel(harness.address(), grpc::InsecureChannelCredentials()));
  };
  auto page = coordinator::StatusPage::Start({.bind = *bind,
                                              .tls_cert = dir + "/server.pem",
                                              .tls_key = dir + "/server.key",
                                              .token = "tls-token"},
                                             stub());
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ((*page)->url(), absl::StrCat("https://127.0.0.1:", (*page)->port(), "/"));
  httplib::SSLClient client("127.0.0.1", (*page)->port());
  client.set_ca_cert_path((dir + "/ca.pem").c_str());
  client.enable_server_certificate_verification(true);
  auto response = client.Get("/api/status", {{"Authorization", "Bearer tls-token"}});
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->status, 200) << response->body;
  // Plain HTTP gets no page.
  httplib::Client plain("127.0.0.1", (*page)->port());
  auto refused = plain.Get("/");
  EXPECT_TRUE(!refused || refused->status != 200);
  (*page)->Stop();

  auto mismatched = coordinator::StatusPage::Start({.bind = *bind,
                                                    .tls_cert = dir + "/server.pem",
                                                    .tls_key = dir + "/client.key",
                                                    .token = "tls-token"},
                                                   stub());
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.status().message(),
            absl::StrCat("--http-listen: cannot serve HTTPS with --tls-cert '", dir,
                         "/server.pem' and --tls-key '", dir,
                         "/client.key' (unreadable, or not a PEM pair)"));
}

}  // namespace
}  // namespace bdcoord
