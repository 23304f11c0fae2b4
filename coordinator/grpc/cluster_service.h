#ifndef BDCOORD_COORDINATOR_GRPC_CLUSTER_SERVICE_H_
#define BDCOORD_COORDINATOR_GRPC_CLUSTER_SERVICE_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "coordinator/grpc/error_details.h"  // ToGrpc
#include "coordinator/grpc/service_metrics.h"
#include "coordinator/grpc/streams.h"
#include "coordinator/ops/cluster_ops.h"
#include "coordinator/state/event_bus.h"
#include "coordinator/state/log_router.h"

namespace bdcoord::coordinator {

// ClusterService with its long-lived streams (logs, events) on the callback API (streams.h).
using ClusterServiceBase = bdcoord::v1::ClusterService::WithCallbackMethod_StreamLogs<
    bdcoord::v1::ClusterService::WithCallbackMethod_WatchEvents<
        bdcoord::v1::ClusterService::Service>>;

// ClusterService, the public API for the CLI and other tools: proto to ClusterOps and back, and
// the streams (progress, logs, events) written as they come.
class ClusterServiceImpl final : public ClusterServiceBase {
 public:
  // Every collaborator is required and must outlive this (and every stream it opened), but
  // `metrics` (none when null).
  ClusterServiceImpl(ClusterOps& ops, LogRouter& logs, EventBus& events, StreamRegistry& streams,
                     std::function<absl::Time()> now, size_t log_queue_bytes = kLogStreamQueueBytes,
                     const ServiceMetrics* metrics = nullptr);

  grpc::Status ListHosts(grpc::ServerContext* context, const bdcoord::v1::ListHostsRequest* request,
                         bdcoord::v1::ListHostsResponse* response) override;

  grpc::Status Place(grpc::ServerContext*, const bdcoord::v1::PlaceRequest*,
                     bdcoord::v1::PlaceResponse*) override;
  grpc::Status Apply(grpc::ServerContext*, const bdcoord::v1::ApplyRequest*,
                     grpc::ServerWriter<bdcoord::v1::ApplyProgress>*) override;
  grpc::Status GetStatus(grpc::ServerContext*, const bdcoord::v1::GetStatusRequest*,
                         bdcoord::v1::GetStatusResponse*) override;
  grpc::ServerWriteReactor<bdcoord::v1::LogLine>* StreamLogs(
      grpc::CallbackServerContext*, const bdcoord::v1::StreamLogsRequest*) override;
  grpc::ServerWriteReactor<bdcoord::v1::Event>* WatchEvents(
      grpc::CallbackServerContext*, const bdcoord::v1::WatchEventsRequest*) override;
  grpc::Status Scale(grpc::ServerContext*, const bdcoord::v1::ScaleRequest*,
                     grpc::ServerWriter<bdcoord::v1::ApplyProgress>*) override;
  grpc::Status Down(grpc::ServerContext*, const bdcoord::v1::DownRequest*,
                    bdcoord::v1::DownResponse*) override;
  grpc::Status ChangeRollout(grpc::ServerContext*, const bdcoord::v1::ChangeRolloutRequest*,
                             grpc::ServerWriter<bdcoord::v1::ApplyProgress>*) override;
  grpc::Status DrainHost(grpc::ServerContext*, const bdcoord::v1::DrainHostRequest*,
                         bdcoord::v1::DrainHostResponse*) override;
  // The header, the hosts' plan, then each piece forwarded as it is read (one at a time: the
  // client's writes wait for the slowest host), then every host's result.
  grpc::Status PushImage(grpc::ServerContext*,
                         grpc::ServerReaderWriter<bdcoord::v1::PushImageProgress,
                                                  bdcoord::v1::PushImageRequest>*) override;
  grpc::Status ListImages(grpc::ServerContext*, const bdcoord::v1::ListImagesRequest*,
                          bdcoord::v1::ListImagesResponse*) override;

 private:
  // Streams the cluster's progress until it is done or failed, or the client goes; once done,
  // the time since `started` goes into `duration` (when there is one).
  grpc::Status FollowProgress(grpc::ServerContext* context, const std::string& cluster,
                              grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer,
                              absl::Time started = absl::InfinitePast(),
                              prometheus::Histogram* duration = nullptr);

  ClusterOps& ops_;
  LogRouter& logs_;
  EventBus& events_;
  StreamRegistry& streams_;
  size_t log_queue_bytes_;
  std::function<absl::Time()> now_;
  const ServiceMetrics* metrics_;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_GRPC_CLUSTER_SERVICE_H_
