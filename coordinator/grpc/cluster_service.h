#ifndef BDCOORD_COORDINATOR_GRPC_CLUSTER_SERVICE_H_
#define BDCOORD_COORDINATOR_GRPC_CLUSTER_SERVICE_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "coordinator/grpc/error_details.h"  // ToGrpc
#include "coordinator/ops/cluster_ops.h"
#include "coordinator/state/event_bus.h"
#include "coordinator/state/log_router.h"

namespace bdcoord::coordinator {

// ClusterService, the public API for the CLI and other tools: proto to ClusterOps and back, and
// the streams (progress, logs, events) written as they come.
class ClusterServiceImpl final : public bdcoord::v1::ClusterService::Service {
 public:
  // Every collaborator is required and must outlive this; `now` bounds the waits for events.
  ClusterServiceImpl(ClusterOps& ops, LogRouter& logs, EventBus& events,
                     std::function<absl::Time()> now);

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
  // Streams the cluster's progress until it is done or failed, or the client goes.
  grpc::Status FollowProgress(grpc::ServerContext* context, const std::string& cluster,
                              grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer);

  ClusterOps& ops_;
  LogRouter& logs_;
  EventBus& events_;
  std::function<absl::Time()> now_;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_GRPC_CLUSTER_SERVICE_H_
