#ifndef BDCOORD_COORDINATOR_GRPC_CLUSTER_SERVICE_H_
#define BDCOORD_COORDINATOR_GRPC_CLUSTER_SERVICE_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "coordinator/grpc/agent_service.h"
#include "coordinator/ops/controller.h"
#include "coordinator/plan/planner.h"
#include "coordinator/spec/spec_loader.h"
#include "coordinator/state/inventory.h"
#include "coordinator/state/store.h"

namespace bdcoord::coordinator {

// ClusterService, the public API for the CLI and other tools. Place, Apply, Scale and DrainHost
// plan on the live inventory (drained hosts left out, current placements kept, other clusters'
// IPs taken) and Apply, Scale and DrainHost store the result; the controller then brings the
// agents there, and Apply and Scale stream the progress it makes. Everything but ListHosts and
// Place needs the store, the agents and the controller (FAILED_PRECONDITION without them).
class ClusterServiceImpl final : public bdcoord::v1::ClusterService::Service {
 public:
  explicit ClusterServiceImpl(
      Inventory* inventory, AgentServiceImpl* agents = nullptr, Store* store = nullptr,
      ClusterController* controller = nullptr, absl::Duration poll_period = absl::Milliseconds(200),
      std::function<absl::Time()> now = [] { return absl::Now(); });

  grpc::Status ListHosts(grpc::ServerContext* context, const bdcoord::v1::ListHostsRequest* request,
                         bdcoord::v1::ListHostsResponse* response) override;

  grpc::Status Place(grpc::ServerContext*, const bdcoord::v1::PlaceRequest*,
                     bdcoord::v1::PlaceResponse*) override;
  grpc::Status Apply(grpc::ServerContext*, const bdcoord::v1::ApplyRequest*,
                     grpc::ServerWriter<bdcoord::v1::ApplyProgress>*) override;
  grpc::Status GetStatus(grpc::ServerContext*, const bdcoord::v1::GetStatusRequest*,
                         bdcoord::v1::GetStatusResponse*) override;
  grpc::Status StreamLogs(grpc::ServerContext*, const bdcoord::v1::StreamLogsRequest*,
                          grpc::ServerWriter<bdcoord::v1::LogLine>*) override;
  grpc::Status WatchEvents(grpc::ServerContext*, const bdcoord::v1::WatchEventsRequest*,
                           grpc::ServerWriter<bdcoord::v1::Event>*) override;
  grpc::Status Scale(grpc::ServerContext*, const bdcoord::v1::ScaleRequest*,
                     grpc::ServerWriter<bdcoord::v1::ApplyProgress>*) override;
  grpc::Status Down(grpc::ServerContext*, const bdcoord::v1::DownRequest*,
                    bdcoord::v1::DownResponse*) override;
  grpc::Status DrainHost(grpc::ServerContext*, const bdcoord::v1::DrainHostRequest*,
                         bdcoord::v1::DrainHostResponse*) override;

 private:
  // Validates and plans `loaded` for the cluster on the live hosts; a gRPC error otherwise.
  grpc::Status PlanLive(const LoadedSpec& loaded, const std::string& file_name, Plan* plan);
  // Stores the plan and wakes the controller.
  grpc::Status StorePlan(const LoadedSpec& loaded, const std::string& file_name,
                         const std::string& yaml, const Plan& plan);
  // Streams the cluster's progress until it is done or failed, or the client goes.
  grpc::Status FollowProgress(grpc::ServerContext* context, const std::string& cluster,
                              grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer);
  // `requested`, or the only applied cluster when it is empty.
  grpc::Status ResolveCluster(const std::string& requested, std::string* cluster);
  // ResolveCluster, then the cluster as stored.
  grpc::Status FindCluster(const std::string& requested, AppliedCluster* applied);
  std::vector<bdcoord::v1::Host> LiveHosts(const bdcoord::v1::ClusterSpec& spec);
  // Runs the readiness probe of every running instance of the cluster on its host now, into
  // InstanceView.probe.
  void ProbeNow(const bdcoord::v1::ClusterSpec& spec, bdcoord::v1::ClusterStatus* cluster);
  static constexpr absl::Duration kProbeTimeout = absl::Seconds(5);

  Inventory* inventory_;
  AgentServiceImpl* agents_;
  Store* store_;
  ClusterController* controller_;
  absl::Duration poll_period_;
  std::function<absl::Time()> now_;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_GRPC_CLUSTER_SERVICE_H_
