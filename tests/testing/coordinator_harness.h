#ifndef BDCOORD_TESTS_TESTING_COORDINATOR_HARNESS_H_
#define BDCOORD_TESTS_TESTING_COORDINATOR_HARNESS_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "bdcoord/v1/agent.grpc.pb.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "coordinator/grpc/coordinator.h"
#include "coordinator/state/store.h"

namespace bdcoord::test_util {

// An in-process bdcoordd for integration tests: the real SQLite store in a fresh temporary
// directory, the coordinator's parts wired as bdcoordd wires them (coordinator::Coordinator),
// and a real gRPC server on a unix socket in that directory, with stubs for both services.
class CoordinatorHarness {
 public:
  struct Options {
    std::string name = "coordinator";  // in the temporary directory's name
    std::string token;                 // when set, every call must carry it
    bool controller = true;            // run the controller's passes
    absl::Duration controller_period = absl::Milliseconds(20);
    size_t max_streams = coordinator::kDefaultMaxStreams;
    size_t max_streams_per_client = coordinator::kDefaultMaxStreamsPerClient;
    size_t log_stream_queue_bytes = coordinator::kLogStreamQueueBytes;
    // The coordinator's clock; unset: absl::Now (a test moves time on with an offset on it).
    std::function<absl::Time()> now;
    // The services' metrics (none when null); outlives the harness.
    const coordinator::ServiceMetrics* service_metrics = nullptr;
  };

  CoordinatorHarness() = default;
  ~CoordinatorHarness();  // stops the server, removes the directory

  // Makes the directory, opens the store, wires the coordinator and starts serving.
  absl::Status Start(Options options);
  absl::Status Start() { return Start(Options()); }
  // Serving stops and starts again with the same coordinator (agents see a restart).
  void StopServer();
  absl::Status StartServer();
  // bdcoordd restarted: serving stops, the coordinator and the store are closed, then opened
  // again on the same database with the same options and served (everything in memory is new;
  // references to the old store, coordinator and inventory are invalid).
  absl::Status RestartCoordinator();

  const std::string& dir() const { return dir_; }
  const std::string& address() const { return address_; }  // unix:///DIR/bdcoordd.sock
  coordinator::Store& store() { return *store_; }
  coordinator::Coordinator& coordinator() { return *coordinator_; }
  coordinator::Inventory& inventory() { return coordinator_->inventory(); }
  coordinator::AgentServiceImpl& agent_service() { return coordinator_->agent_service(); }
  bdcoord::v1::AgentService::Stub& agents() { return *agents_; }
  bdcoord::v1::ClusterService::Stub& cluster() { return *cluster_; }

 private:
  // Opens the store in dir_ and wires the coordinator with options_.
  absl::Status OpenCoordinator();

  Options options_;
  std::string dir_;
  std::string address_;
  std::unique_ptr<coordinator::Store> store_;
  std::unique_ptr<coordinator::Coordinator> coordinator_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<bdcoord::v1::AgentService::Stub> agents_;
  std::unique_ptr<bdcoord::v1::ClusterService::Stub> cluster_;
};

}  // namespace bdcoord::test_util

#endif  // BDCOORD_TESTS_TESTING_COORDINATOR_HARNESS_H_
