// `bdcoord events` and `bdcoord apply` as a user runs them, against a fake coordinator on a unix
// socket that streams canned events and progress: what goes to stdout and what to stderr.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "cli/cluster_commands.h"
#include "cli/exit_codes.h"
#include "cli/watch_commands.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/rpc/stream_headers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/cli/progress_builders.h"

namespace bdcoord::cli {
namespace {

using ::testing::MatchesRegex;

// Sends its canned messages to every WatchEvents and Apply call, then ends the stream.
class CannedClusterService final : public bdcoord::v1::ClusterService::Service {
 public:
  std::vector<bdcoord::v1::Event> events;
  std::vector<bdcoord::v1::ApplyProgress> progress;
  bool refuse_watchers = false;

  grpc::Status WatchEvents(grpc::ServerContext* context, const bdcoord::v1::WatchEventsRequest*,
                           grpc::ServerWriter<bdcoord::v1::Event>* writer) override {
    if (refuse_watchers) return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many");
    context->AddInitialMetadata(rpc::kSubscribedHeader, "1");  // subscribed, as bdcoordd says it
    writer->SendInitialMetadata();
    for (const auto& event : events) writer->Write(event);
    return grpc::Status::OK;
  }

  // GetStatus answers these one per call, the last one again and again.
  std::vector<grpc::Status> status_errors;  // answered first, one per call
  std::vector<bdcoord::v1::GetStatusResponse> statuses;
  std::atomic<int> status_calls{0};

  grpc::Status GetStatus(grpc::ServerContext*, const bdcoord::v1::GetStatusRequest*,
                         bdcoord::v1::GetStatusResponse* response) override {
    const size_t call = status_calls++;
    if (call < status_errors.size()) return status_errors[call];
    const size_t index = std::min(call - status_errors.size(), statuses.size() - 1);
    *response = statuses[index];
    return grpc::Status::OK;
  }

  bdcoord::v1::DrainHostResponse drained;  // DrainHost's answer
  std::vector<bdcoord::v1::DrainHostRequest> drain_requests;

  grpc::Status DrainHost(grpc::ServerContext*, const bdcoord::v1::DrainHostRequest* request,
                         bdcoord::v1::DrainHostResponse* response) override {
    drain_requests.push_back(*request);
    *response = drained;
    return grpc::Status::OK;
  }

  grpc::Status Apply(grpc::ServerContext*, const bdcoord::v1::ApplyRequest*,
                     grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer) override {
    for (const auto& update : progress) writer->Write(update);
    return grpc::Status::OK;
  }
};

class StreamingCommandsTest : public ::testing::Test {
 protected:
  void StartCoordinator() {
    address_ = "unix://" + dir_.path() + "/bdcoordd.sock";
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address_, grpc::InsecureServerCredentials());
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // `bdcoord drain HOST` against this coordinator, asking for statuses without a pause.
  DrainOptions DrainOf(const std::string& host) {
    DrainOptions options;
    options.host = host;
    options.coordinator.address = address_;
    options.poll_interval = absl::Milliseconds(1);
    return options;
  }
  struct Ran {
    int code;
    std::string out, err;
  };
  static Ran Drain(const DrainOptions& options) {
    std::ostringstream out, err;
    const int code = RunDrain(options, out, err);
    return {.code = code, .out = out.str(), .err = err.str()};
  }

  test_util::TempDir dir_{"streaming_commands_test"};
  CannedClusterService service_;
  std::string address_;
  std::unique_ptr<grpc::Server> server_;
};

// One instance of the service, `ready` of it started and ready (or completed, when run_once).
bdcoord::v1::ServiceProgress OneInstance(const std::string& name, uint32_t ready, bool run_once,
                                         const std::string& waiting = "") {
  bdcoord::v1::ServiceProgress service = Progress(name, 1, ready, ready, waiting);
  service.set_run_once(run_once);
  return service;
}

TEST_F(StreamingCommandsTest, EventsSaysWhatItWatchesOnStderrBeforeTheEvents) {
  bdcoord::v1::Event event;
  event.set_kind("host-up");
  event.set_host("h1");
  service_.events.push_back(event);
  StartCoordinator();
  EventsOptions options;
  options.cluster = "bigdata";
  options.coordinator.address = address_;
  std::ostringstream out, err;
  EXPECT_EQ(RunEvents(options, out, err), kExitOk);
  EXPECT_THAT(err.str(), MatchesRegex("watching the events of cluster 'bigdata' and of every host "
                                      "since [-0-9]+T[:0-9]+Z \\(Ctrl-C to stop\\)\n"));
  EXPECT_EQ(out.str(), "1970-01-01T00:00:00.000Z  host-up    host h1\n");  // events only
}

// A watcher the coordinator refused (or could not reach) never said it was watching.
TEST_F(StreamingCommandsTest, ARefusedWatcherDoesNotSayItWatches) {
  service_.refuse_watchers = true;
  StartCoordinator();
  EventsOptions options;
  options.coordinator.address = address_;
  std::ostringstream out, err;
  EXPECT_EQ(RunEvents(options, out, err), kExitRuntimeError);
  EXPECT_EQ(err.str(), "bdcoord: too many\n");
  EXPECT_EQ(out.str(), "");
}

// The demo's first apply without a terminal printed every service on every update; now a
// service's line comes when it changed, and the run-once job says "completed".
TEST_F(StreamingCommandsTest, ApplyWithoutATerminalPrintsChangedLinesOnly) {
  auto update = [](uint32_t format_done, uint32_t nn_ready, bool done) {
    bdcoord::v1::ApplyProgress progress;
    progress.set_cluster("hdfs");
    *progress.add_services() = OneInstance("namenode-format", format_done, /*run_once=*/true);
    *progress.add_services() = OneInstance("namenode", nn_ready, /*run_once=*/false,
                                           format_done == 0 ? "namenode-format completed" : "");
    progress.set_done(done);
    return progress;
  };
  service_.progress = {update(0, 0, false), update(0, 0, false), update(1, 0, false),
                       update(1, 0, false), update(1, 1, true)};
  StartCoordinator();
  const std::string spec = dir_.path() + "/hdfs.yaml";
  std::ofstream(spec) << "cluster: hdfs\n";
  ApplyOptions options;
  options.spec_file = spec;
  options.coordinator.address = address_;
  std::ostringstream out, err;
  EXPECT_EQ(RunApply(options, out, err), kExitOk);
  EXPECT_EQ(out.str(),
            "namenode-format: 0/1 completed\n"
            "namenode: 0/1 ready (waiting for namenode-format completed)\n"
            "namenode-format: 1/1 completed\n"
            "namenode: 0/1 ready\n"
            "namenode: 1/1 ready\n"
            "cluster hdfs: 2/2 instances ready, done\n");
  EXPECT_EQ(err.str(), "");
}

bdcoord::v1::GetStatusResponse OneInstanceStatus(bdcoord::v1::InstanceState state) {
  bdcoord::v1::GetStatusResponse response;
  auto* view = response.add_clusters()->add_instances();
  view->mutable_placed()->set_name("zk1");
  view->mutable_placed()->set_service("zk");
  view->mutable_placed()->set_host("h1");
  view->mutable_placed()->set_ip("10.1.0.11");
  view->mutable_status()->set_state(state);
  return response;
}

TEST_F(StreamingCommandsTest, StatusWatchPrintsEachChangeOnceAndSaysWhenTheCoordinatorIsGone) {
  service_.status_errors = {grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused"),
                            grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused")};
  service_.statuses = {OneInstanceStatus(bdcoord::v1::INSTANCE_STATE_CREATED),
                       OneInstanceStatus(bdcoord::v1::INSTANCE_STATE_CREATED),
                       OneInstanceStatus(bdcoord::v1::INSTANCE_STATE_RUNNING)};
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  StatusOptions options;
  options.watch = true;
  options.interval_seconds = 0.01;
  options.coordinator.address = address_;
  std::ostringstream out, err;
  const int code = WatchStatus(options, out, err, [&] { return service_.status_calls >= 7; });
  EXPECT_EQ(code, kExitOk);
  // Two statuses, each once, each after a line with its time; the error once.
  EXPECT_THAT(out.str(), MatchesRegex("--- [0-9T:-]+Z\nINSTANCE .*\nzk1 .* created .*\n"
                                      "--- [0-9T:-]+Z\nINSTANCE .*\nzk1 .* running .*\n"));
  const std::string said = err.str();
  EXPECT_THAT(said, ::testing::StartsWith("bdcoord: cannot reach the coordinator at "));
  EXPECT_THAT(said, ::testing::EndsWith("\n(asking again every 10ms)\n"));
  EXPECT_EQ(said.find("connection refused"), said.rfind("connection refused")) << "said once";
}

// A drain that moved kafka2 and zk1 of cluster "big" off h4, and the status of those two:
// `kafka2` and `zk1` in the given states (running ones ready when `ready`), zk3 unmoved and ready.
bdcoord::v1::DrainHostResponse DrainedTwo() {
  bdcoord::v1::DrainHostResponse drained;
  drained.set_moved(2);
  drained.add_clusters("big");
  for (const auto& [name, host] : {std::pair{"kafka2", "h1"}, std::pair{"zk1", "h2"}}) {
    bdcoord::v1::MovedInstance* moved = drained.add_instances();
    moved->set_cluster("big");
    moved->set_instance(name);
    moved->set_host(host);
  }
  return drained;
}
bdcoord::v1::GetStatusResponse MovedStatus(bdcoord::v1::InstanceState kafka2, bool kafka2_ready,
                                           bdcoord::v1::InstanceState zk1, bool zk1_ready) {
  bdcoord::v1::GetStatusResponse response;
  bdcoord::v1::ClusterStatus* cluster = response.add_clusters();
  cluster->set_cluster("big");
  auto add = [&](const char* name, const char* service, const char* host,
                 bdcoord::v1::InstanceState state, bool ready) {
    bdcoord::v1::InstanceStatus* status =
        AddInstance(cluster, name, service, host, "", state)->mutable_status();
    status->set_name(name);
    status->set_service(service);
    status->set_ready(ready);
  };
  add("kafka2", "kafka", "h1", kafka2, kafka2_ready);
  add("zk1", "zk", "h2", zk1, zk1_ready);
  add("zk3", "zk", "h3", bdcoord::v1::INSTANCE_STATE_RUNNING, true);
  auto counted = [](bdcoord::v1::InstanceState state, bool ready, uint32_t* started,
                    uint32_t* ready_count) {
    *started += state == bdcoord::v1::INSTANCE_STATE_RUNNING;
    *ready_count += state == bdcoord::v1::INSTANCE_STATE_RUNNING && ready;
  };
  uint32_t kafka_started = 0, kafka_ready = 0, zk_started = 1, zk_ready = 1;
  counted(kafka2, kafka2_ready, &kafka_started, &kafka_ready);
  counted(zk1, zk1_ready, &zk_started, &zk_ready);
  *cluster->add_services() = Progress("zk", 2, zk_started, zk_ready);
  *cluster->add_services() = Progress("kafka", 1, kafka_started, kafka_ready);
  *cluster->add_services() = Progress("web", 1, 1, 1);  // nothing of it moved: not shown
  return response;
}

TEST_F(StreamingCommandsTest, DrainShowsProgressLikeApplyUntilTheMovedInstancesAreReady) {
  using bdcoord::v1::INSTANCE_STATE_PENDING;
  using bdcoord::v1::INSTANCE_STATE_RUNNING;
  service_.drained = DrainedTwo();
  service_.statuses = {MovedStatus(INSTANCE_STATE_PENDING, false, INSTANCE_STATE_PENDING, false),
                       MovedStatus(INSTANCE_STATE_PENDING, false, INSTANCE_STATE_PENDING, false),
                       MovedStatus(INSTANCE_STATE_RUNNING, false, INSTANCE_STATE_PENDING, false),
                       MovedStatus(INSTANCE_STATE_RUNNING, true, INSTANCE_STATE_RUNNING, false),
                       MovedStatus(INSTANCE_STATE_RUNNING, true, INSTANCE_STATE_RUNNING, false),
                       MovedStatus(INSTANCE_STATE_RUNNING, true, INSTANCE_STATE_RUNNING, true)};
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  const Ran ran = Drain(DrainOf("h4"));
  EXPECT_EQ(ran.code, kExitOk);
  // Without a terminal, a service's line only when it changed, as apply prints them.
  EXPECT_EQ(ran.out,
            "host h4 drained: moving 2 instances to other hosts (cluster big); nothing new goes "
            "to it until `bdcoord drain --undo h4`\n"
            "zk: 1/2 ready\n"
            "kafka: 0/1 ready\n"
            "kafka: 0/1 ready, 1 started\n"
            "zk: 1/2 ready, 2 started\n"
            "kafka: 1/1 ready\n"
            "zk: 2/2 ready\n"
            "host h4 drained: 2/2 moved instances ready on their new hosts\n");
  EXPECT_EQ(ran.err, "");
  EXPECT_EQ(service_.status_calls, 6);
  ASSERT_EQ(service_.drain_requests.size(), 1u);
  EXPECT_EQ(service_.drain_requests[0].host(), "h4");
  EXPECT_FALSE(service_.drain_requests[0].undo());
}

TEST_F(StreamingCommandsTest, DrainNamesTheMovedInstancesNotReadyInTime) {
  service_.drained = DrainedTwo();
  service_.statuses = {MovedStatus(bdcoord::v1::INSTANCE_STATE_RUNNING, false,
                                   bdcoord::v1::INSTANCE_STATE_PENDING, false)};
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  DrainOptions options = DrainOf("h4");
  options.timeout_seconds = 1;  // waited out: this is what is tested
  options.poll_interval = absl::Milliseconds(50);
  const Ran ran = Drain(options);
  EXPECT_EQ(ran.code, kExitRuntimeError);
  EXPECT_EQ(ran.err,
            "bdcoord: 2 of 2 moved instances not ready after 1 s: kafka2 (h1: running, not "
            "ready), zk1 (h2: pending)\n"
            "  hint: they keep moving: `bdcoord status` shows where they are, `bdcoord events` "
            "what happens to them\n");
  EXPECT_THAT(ran.out, ::testing::EndsWith("kafka: 0/1 ready, 1 started\n"));
}

TEST_F(StreamingCommandsTest, DrainStopsAtAMovedInstanceThatFailed) {
  service_.drained = DrainedTwo();
  bdcoord::v1::GetStatusResponse failed = MovedStatus(bdcoord::v1::INSTANCE_STATE_FAILED, false,
                                                      bdcoord::v1::INSTANCE_STATE_RUNNING, true);
  bdcoord::v1::InstanceStatus* kafka2 =
      failed.mutable_clusters(0)->mutable_instances(0)->mutable_status();
  kafka2->set_message("exited with code 1");
  kafka2->add_last_log_lines("boom");
  service_.statuses = {failed};
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  const Ran ran = Drain(DrainOf("h4"));
  EXPECT_EQ(ran.code, kExitRuntimeError);
  EXPECT_EQ(ran.err,
            "bdcoord: 1 of 2 moved instances failed on its new host\n"
            "  kafka2 (service kafka): exited with code 1\n"
            "    | boom\n");
}

TEST_F(StreamingCommandsTest, DrainOfAnEmptyHostAndUndoSayWhatTheyDo) {
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  DrainOptions options = DrainOf("h4");
  Ran ran = Drain(options);
  EXPECT_EQ(ran.code, kExitOk);
  EXPECT_EQ(ran.out,
            "host h4 drained: no instances were on it; nothing new goes to it until `bdcoord "
            "drain --undo h4`\n");
  EXPECT_EQ(ran.err, "");
  EXPECT_EQ(service_.status_calls, 0);
  options.undo = true;
  ran = Drain(options);
  EXPECT_EQ(ran.code, kExitOk);
  EXPECT_EQ(ran.out,
            "host h4 takes placements again: new instances (apply, scale) may go there; nothing "
            "moves back by itself\n");
  EXPECT_EQ(ran.err, "");
  ASSERT_EQ(service_.drain_requests.size(), 2u);
  EXPECT_TRUE(service_.drain_requests[1].undo());
}

// One of several coordinators: ListHosts answers while it leads, with the hosts `connected` says
// for that call (the last entry again and again), else it refuses as a standby naming `leader`;
// Apply records the spec, sends `progress` and ends with `apply_end`, leading no more when that
// is an error (as a coordinator that went away).
class FailoverService final : public bdcoord::v1::ClusterService::Service {
 public:
  std::atomic<bool> leads{false};
  std::string leader;
  std::vector<std::vector<std::string>> connected = {{}};
  std::vector<bdcoord::v1::ApplyProgress> progress;
  grpc::Status apply_end = grpc::Status::OK;
  std::atomic<int> list_calls{0};
  absl::Mutex mu;
  std::vector<std::string> applied ABSL_GUARDED_BY(mu);

  grpc::Status ListHosts(grpc::ServerContext* context, const bdcoord::v1::ListHostsRequest*,
                         bdcoord::v1::ListHostsResponse* response) override {
    if (!leads) {
      context->AddTrailingMetadata("bdcoord-leader", leader);
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "this coordinator is a standby; the leader is at " + leader);
    }
    const size_t call = std::min<size_t>(list_calls++, connected.size() - 1);
    for (const std::string& name : connected[call]) {
      auto* host = response->add_hosts();
      host->set_name(name);
      host->set_connected(true);
    }
    return grpc::Status::OK;
  }
  grpc::Status Apply(grpc::ServerContext*, const bdcoord::v1::ApplyRequest* request,
                     grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer) override {
    {
      absl::MutexLock lock(&mu);
      applied.push_back(request->spec().yaml());
    }
    for (const auto& update : progress) writer->Write(update);
    if (!apply_end.ok()) leads = false;
    return apply_end;
  }
  std::vector<std::string> Applied() {
    absl::MutexLock lock(&mu);
    return applied;
  }
};

// Two coordinators on unix sockets: `a` leads with hosts h1 and h2, `b` stands by.
class FailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_address_ = "unix://" + dir_.path() + "/a.sock";
    b_address_ = "unix://" + dir_.path() + "/b.sock";
    a_.leads = true;
    a_.leader = b_address_;
    a_.connected = {{"h1", "h2"}};
    b_.leader = a_address_;
    spec_ = dir_.path() + "/zk.yaml";
    std::ofstream(spec_) << "cluster: zk\n";
    options_.spec_file = spec_;
    options_.coordinator.address = a_address_ + "," + b_address_;
    options_.failover.timeout = absl::Milliseconds(500);
    options_.failover.poll_interval = absl::Milliseconds(5);
  }
  void Start() {
    a_server_ = Serve(a_address_, a_);
    b_server_ = Serve(b_address_, b_);
  }
  static std::unique_ptr<grpc::Server> Serve(const std::string& address, FailoverService& service) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials());
    builder.RegisterService(&service);
    return builder.BuildAndStart();
  }
  void TearDown() override {
    for (auto* server : {a_server_.get(), b_server_.get()}) {
      if (server != nullptr) server->Shutdown();
    }
  }
  // `a` ends the apply after one update as a killed coordinator's stream ends.
  void AGoesAwayMidApply() {
    a_.progress = {ZkProgress(1, false)};
    a_.apply_end = grpc::Status(grpc::StatusCode::UNAVAILABLE, "Socket closed");
  }
  static bdcoord::v1::ApplyProgress ZkProgress(uint32_t ready, bool done) {
    bdcoord::v1::ApplyProgress progress;
    progress.set_cluster("zk");
    *progress.add_services() = Progress("zk", 3, 3, ready);
    progress.set_done(done);
    return progress;
  }

  test_util::TempDir dir_{"failover_test"};
  std::string a_address_, b_address_, spec_;
  FailoverService a_, b_;
  std::unique_ptr<grpc::Server> a_server_, b_server_;
  ApplyOptions options_;
};

TEST_F(FailoverTest, AnApplyWhoseCoordinatorGoesAwayIsSentAgainToTheNextLeaderOnceItsHostsAreBack) {
  AGoesAwayMidApply();
  b_.leads = true;
  b_.connected = {{"h1"}, {"h1"}, {"h1"}, {"h1", "h2"}};  // h2 comes back on the fourth ask
  b_.progress = {ZkProgress(3, true)};
  Start();
  std::ostringstream out, err;
  EXPECT_EQ(RunApply(options_, out, err), kExitOk) << err.str();
  EXPECT_EQ(err.str(), "bdcoord: the coordinator at " + a_address_ +
                           " stopped serving the apply (Socket closed): waiting for the next "
                           "leader\nbdcoord: " +
                           b_address_ + " leads, every host is back: sending the apply again\n");
  EXPECT_EQ(out.str(),
            "zk: 1/3 ready, 3 started\nzk: 3/3 ready\ncluster zk: 3/3 instances ready, done\n");
  EXPECT_EQ(b_.Applied(), std::vector<std::string>{"cluster: zk\n"});
  EXPECT_GE(b_.list_calls.load(), 4);  // it waited for h2
}

TEST_F(FailoverTest, WithoutANextLeaderTheApplyIsNotSentAgainAndTheErrorSaysWhy) {
  AGoesAwayMidApply();
  b_.leader = "";  // nobody leads
  Start();
  std::ostringstream out, err;
  EXPECT_EQ(RunApply(options_, out, err), kExitRuntimeError);
  EXPECT_THAT(err.str(), ::testing::HasSubstr(
                             "bdcoord: no coordinator leads after 500ms: the apply was not sent "
                             "again\n  hint: `bdcoord status` shows what runs; run the apply again "
                             "once a coordinator leads\n"));
  EXPECT_TRUE(b_.Applied().empty());
}

TEST_F(FailoverTest, ANextLeaderWithoutEveryHostIsNotSentTheApply) {
  AGoesAwayMidApply();
  b_.leads = true;
  b_.connected = {{"h1"}};  // h2 never comes back
  Start();
  std::ostringstream out, err;
  EXPECT_EQ(RunApply(options_, out, err), kExitRuntimeError);
  EXPECT_THAT(err.str(), ::testing::HasSubstr("bdcoord: " + b_address_ +
                                              " leads but h2 has not connected to it after 500ms: "
                                              "the apply was not sent again\n"));
  EXPECT_TRUE(b_.Applied().empty());
}

TEST_F(FailoverTest, WithOneAddressALostCoordinatorIsReportedNotFollowed) {
  AGoesAwayMidApply();
  b_.leads = true;
  Start();
  options_.coordinator.address = a_address_;
  std::ostringstream out, err;
  EXPECT_EQ(RunApply(options_, out, err), kExitRuntimeError);
  EXPECT_THAT(err.str(), ::testing::HasSubstr("cannot reach the coordinator at " + a_address_ +
                                              ": Socket closed"));
  EXPECT_TRUE(b_.Applied().empty());
}

TEST_F(FailoverTest, AnApplyRefusedForAMissingHostIsReportedNotFollowed) {
  a_.apply_end = grpc::Status(grpc::StatusCode::UNAVAILABLE, "host 'h2' is not connected");
  b_.leads = true;
  Start();
  std::ostringstream out, err;
  EXPECT_EQ(RunApply(options_, out, err), kExitRuntimeError);
  EXPECT_EQ(err.str(), "bdcoord: host 'h2' is not connected\n");
  EXPECT_TRUE(b_.Applied().empty());
}

}  // namespace
}  // namespace bdcoord::cli
