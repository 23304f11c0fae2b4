#ifndef BDCOORD_COORDINATOR_CLUSTER_SERVICE_H_
#define BDCOORD_COORDINATOR_CLUSTER_SERVICE_H_

#include "bdcoord/v1/cluster.grpc.pb.h"
#include "coordinator/inventory.h"

namespace bdcoord::coordinator {

// ClusterService, the public API for the CLI. ListHosts comes from the live inventory; every
// other RPC is UNIMPLEMENTED for now.
class ClusterServiceImpl final : public bdcoord::v1::ClusterService::Service {
 public:
  explicit ClusterServiceImpl(Inventory* inventory);

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
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_CLUSTER_SERVICE_H_
