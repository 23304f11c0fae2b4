#ifndef BDCOORD_COORDINATOR_CLUSTER_SERVICE_H_
#define BDCOORD_COORDINATOR_CLUSTER_SERVICE_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "coordinator/agent_service.h"
#include "coordinator/inventory.h"
#include "coordinator/store.h"

namespace bdcoord::coordinator {

// ClusterService, the public API for the CLI. ListHosts comes from the live inventory; Apply
// plans on the live inventory, stores the cluster and pushes desired states to the agents in
// dependency order; GetStatus reads the store. Apply and GetStatus need `agents` and `store`
// (FAILED_PRECONDITION without them); the other RPCs are UNIMPLEMENTED for now.
class ClusterServiceImpl final : public bdcoord::v1::ClusterService::Service {
 public:
  explicit ClusterServiceImpl(
      Inventory* inventory, AgentServiceImpl* agents = nullptr, Store* store = nullptr,
      absl::Duration poll_period = absl::Milliseconds(200),
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
  Inventory* inventory_;
  AgentServiceImpl* agents_;
  Store* store_;
  absl::Duration poll_period_;
  std::function<absl::Time()> now_;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_CLUSTER_SERVICE_H_
