#include "coordinator/cluster_service.h"

#include "absl/time/time.h"

namespace bdcoord::coordinator {
namespace {

grpc::Status NotYet() {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet implemented");
}

}  // namespace

ClusterServiceImpl::ClusterServiceImpl(Inventory* inventory) : inventory_(inventory) {}

grpc::Status ClusterServiceImpl::ListHosts(grpc::ServerContext*,
                                           const bdcoord::v1::ListHostsRequest*,
                                           bdcoord::v1::ListHostsResponse* response) {
  for (const InventoryHost& host : inventory_->Hosts()) {
    bdcoord::v1::HostView* view = response->add_hosts();
    view->set_name(host.name);
    *view->mutable_facts() = host.facts;
    view->set_connected(host.connected);
    if (host.last_heartbeat != absl::InfinitePast()) {
      const int64_t nanos = absl::ToUnixNanos(host.last_heartbeat);
      view->mutable_last_heartbeat()->set_seconds(nanos / 1000000000);
      view->mutable_last_heartbeat()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
    }
  }
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::Place(grpc::ServerContext*, const bdcoord::v1::PlaceRequest*,
                                       bdcoord::v1::PlaceResponse*) {
  return NotYet();
}
grpc::Status ClusterServiceImpl::Apply(grpc::ServerContext*, const bdcoord::v1::ApplyRequest*,
                                       grpc::ServerWriter<bdcoord::v1::ApplyProgress>*) {
  return NotYet();
}
grpc::Status ClusterServiceImpl::GetStatus(grpc::ServerContext*,
                                           const bdcoord::v1::GetStatusRequest*,
                                           bdcoord::v1::GetStatusResponse*) {
  return NotYet();
}
grpc::Status ClusterServiceImpl::StreamLogs(grpc::ServerContext*,
                                            const bdcoord::v1::StreamLogsRequest*,
                                            grpc::ServerWriter<bdcoord::v1::LogLine>*) {
  return NotYet();
}
grpc::Status ClusterServiceImpl::WatchEvents(grpc::ServerContext*,
                                             const bdcoord::v1::WatchEventsRequest*,
                                             grpc::ServerWriter<bdcoord::v1::Event>*) {
  return NotYet();
}
grpc::Status ClusterServiceImpl::Scale(grpc::ServerContext*, const bdcoord::v1::ScaleRequest*,
                                       grpc::ServerWriter<bdcoord::v1::ApplyProgress>*) {
  return NotYet();
}
grpc::Status ClusterServiceImpl::Down(grpc::ServerContext*, const bdcoord::v1::DownRequest*,
                                      bdcoord::v1::DownResponse*) {
  return NotYet();
}
grpc::Status ClusterServiceImpl::DrainHost(grpc::ServerContext*,
                                           const bdcoord::v1::DrainHostRequest*,
                                           bdcoord::v1::DrainHostResponse*) {
  return NotYet();
}

}  // namespace bdcoord::coordinator
