#include "tests/testing/coordinator_harness.h"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coordinator/state/store_sqlite.h"
#include "proto/rpc/limits.h"
#include "spdlog/sinks/null_sink.h"

namespace bdcoord::test_util {

CoordinatorHarness::~CoordinatorHarness() {
  StopServer();
  coordinator_.reset();
  store_.reset();
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

absl::Status CoordinatorHarness::Start(Options options) {
  std::string pattern = absl::StrCat("/tmp/bdcoord-", options.name, "-test-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp '", pattern, "' failed"));
  }
  dir_ = pattern;
  address_ = absl::StrCat("unix://", dir_, "/bdcoordd.sock");
  options_ = std::move(options);
  if (absl::Status opened = OpenCoordinator(); !opened.ok()) return opened;
  if (absl::Status started = StartServer(); !started.ok()) return started;
  grpc::ChannelArguments arguments;
  bdcoord::rpc::ApplyMessageLimits(arguments);
  auto channel = grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), arguments);
  agents_ = bdcoord::v1::AgentService::NewStub(channel);
  cluster_ = bdcoord::v1::ClusterService::NewStub(channel);
  return absl::OkStatus();
}

absl::Status CoordinatorHarness::OpenCoordinator() {
  auto store = coordinator::OpenSqliteStore(dir_ + "/state.db");
  if (!store.ok()) return store.status();
  store_ = *std::move(store);
  coordinator::CoordinatorOptions wiring;
  wiring.logger = std::make_shared<spdlog::logger>("bdcoordd-test",
                                                   std::make_shared<spdlog::sinks::null_sink_mt>());
  wiring.now = options_.now ? options_.now : [] { return absl::Now(); };
  wiring.controller_period = options_.controller_period;
  wiring.token = options_.token;
  wiring.max_streams = options_.max_streams;
  wiring.max_streams_per_client = options_.max_streams_per_client;
  wiring.log_stream_queue_bytes = options_.log_stream_queue_bytes;
  wiring.service_metrics = options_.service_metrics;
  coordinator_ = std::make_unique<coordinator::Coordinator>(*store_, std::move(wiring));
  if (options_.controller) coordinator_->StartController();
  return absl::OkStatus();
}

absl::Status CoordinatorHarness::RestartCoordinator() {
  StopServer();
  coordinator_.reset();
  store_.reset();
  if (absl::Status opened = OpenCoordinator(); !opened.ok()) return opened;
  return StartServer();
}

absl::Status CoordinatorHarness::StartServer() {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address_, grpc::InsecureServerCredentials());
  bdcoord::rpc::ApplyMessageLimits(builder);  // as bdcoordd's StartServer
  coordinator_->RegisterServices(builder);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) return absl::UnavailableError("cannot listen on " + address_);
  return absl::OkStatus();
}

void CoordinatorHarness::StopServer() {
  if (server_ == nullptr) return;
  coordinator_->Shutdown(*server_, absl::Milliseconds(200));
  server_.reset();
}

}  // namespace bdcoord::test_util
