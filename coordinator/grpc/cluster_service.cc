#include "coordinator/grpc/cluster_service.h"

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/rpc/limits.h"
#include "proto/rpc/status_limits.h"
#include "spdlog/spdlog.h"

namespace bdcoord::coordinator {

namespace {

std::string FileName(const bdcoord::v1::SpecSource& source) {
  return source.file_name().empty() ? std::string("cluster.yaml") : source.file_name();
}

SpecText TextOf(const bdcoord::v1::SpecSource& source) { return {FileName(source), source.yaml()}; }

// A refused Apply or Scale: the full report as the stream's last message (the status trailer
// holds only a summary and the first details), then the error.
grpc::Status Refuse(const absl::Status& status,
                    grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer) {
  if (std::optional<bdcoord::v1::Rejection> rejection = RejectionOf(status)) {
    bdcoord::v1::ApplyProgress last;
    *last.mutable_rejection() = *std::move(rejection);
    writer->Write(last);
  }
  return ToGrpc(status);
}

}  // namespace

ClusterServiceImpl::ClusterServiceImpl(ClusterOps& ops, LogRouter& logs, EventBus& events,
                                       StreamRegistry& streams, std::function<absl::Time()> now,
                                       size_t log_queue_bytes, const ServiceMetrics* metrics)
    : ops_(ops),
      logs_(logs),
      events_(events),
      streams_(streams),
      log_queue_bytes_(log_queue_bytes),
      now_(std::move(now)),
      metrics_(metrics) {}

grpc::Status ClusterServiceImpl::ListHosts(grpc::ServerContext*,
                                           const bdcoord::v1::ListHostsRequest*,
                                           bdcoord::v1::ListHostsResponse* response) {
  for (bdcoord::v1::HostView& view : ops_.Hosts()) *response->add_hosts() = std::move(view);
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::Place(grpc::ServerContext*,
                                       const bdcoord::v1::PlaceRequest* request,
                                       bdcoord::v1::PlaceResponse* response) {
  absl::StatusOr<Plan> plan = ops_.PlanLive(TextOf(request->spec()));
  if (!plan.ok()) {
    std::optional<bdcoord::v1::Rejection> rejection = RejectionOf(plan.status());
    if (!request->rejection_in_response() || !rejection) return ToGrpc(plan.status());
    *response->mutable_rejection() = *std::move(rejection);
    return grpc::Status::OK;
  }
  *response->mutable_placement() = plan->placement;
  response->set_hosts_file(plan->hosts_file);
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::FollowProgress(
    grpc::ServerContext* context, const std::string& cluster,
    grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer, absl::Time started,
    prometheus::Histogram* duration) {
  absl::Status followed = ops_.FollowProgress(
      cluster,
      [writer](bdcoord::v1::ApplyProgress progress) {
        rpc::TrimProgress(&progress);
        return writer->Write(progress);
      },
      [context] { return context->IsCancelled(); });
  if (followed.ok() && duration != nullptr) {
    duration->Observe(absl::ToDoubleSeconds(now_() - started));
  }
  return ToGrpc(followed);
}

grpc::Status ClusterServiceImpl::Apply(grpc::ServerContext* context,
                                       const bdcoord::v1::ApplyRequest* request,
                                       grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer) {
  const absl::Time started = now_();
  absl::StatusOr<std::string> cluster = ops_.Apply(TextOf(request->spec()));
  if (!cluster.ok()) return Refuse(cluster.status(), writer);
  return FollowProgress(context, *cluster, writer, started,
                        metrics_ != nullptr ? &metrics_->apply_duration : nullptr);
}

grpc::Status ClusterServiceImpl::Scale(grpc::ServerContext* context,
                                       const bdcoord::v1::ScaleRequest* request,
                                       grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer) {
  const absl::Time started = now_();
  absl::StatusOr<std::string> cluster =
      ops_.Scale(request->cluster(), request->service(), request->count());
  if (!cluster.ok()) return Refuse(cluster.status(), writer);
  return FollowProgress(context, *cluster, writer, started,
                        metrics_ != nullptr ? &metrics_->scale_duration : nullptr);
}

grpc::Status ClusterServiceImpl::ChangeRollout(
    grpc::ServerContext* context, const bdcoord::v1::ChangeRolloutRequest* request,
    grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer) {
  absl::StatusOr<std::string> cluster = ops_.ChangeRollout(request->cluster(), request->action());
  if (!cluster.ok()) return ToGrpc(cluster.status());
  if (request->action() == bdcoord::v1::ChangeRolloutRequest::ACTION_UNDO) {
    return FollowProgress(context, *cluster, writer);
  }
  absl::StatusOr<bdcoord::v1::ApplyProgress> progress = ops_.Progress(*cluster);
  if (!progress.ok()) return ToGrpc(progress.status());
  writer->Write(*progress);
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::Down(grpc::ServerContext* context,
                                      const bdcoord::v1::DownRequest* request,
                                      bdcoord::v1::DownResponse* response) {
  absl::StatusOr<ClusterOps::DownResult> down =
      ops_.Down(request->cluster(), [context] { return context->IsCancelled(); });
  if (!down.ok()) return ToGrpc(down.status());
  response->set_removed(down->removed);
  for (const std::string& host : down->disconnected_hosts) response->add_disconnected_hosts(host);
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::DrainHost(grpc::ServerContext*,
                                           const bdcoord::v1::DrainHostRequest* request,
                                           bdcoord::v1::DrainHostResponse* response) {
  absl::StatusOr<ClusterOps::DrainResult> drained =
      ops_.DrainHost(request->host(), request->undo());
  if (!drained.ok()) return ToGrpc(drained.status());
  response->set_moved(drained->moved);
  for (const std::string& cluster : drained->clusters) response->add_clusters(cluster);
  for (const auto& instance : drained->instances) *response->add_instances() = instance;
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::GetStatus(grpc::ServerContext*,
                                           const bdcoord::v1::GetStatusRequest* request,
                                           bdcoord::v1::GetStatusResponse* response) {
  auto clusters = ops_.Status(request->cluster(), request->probe());
  if (!clusters.ok()) return ToGrpc(clusters.status());
  for (bdcoord::v1::ClusterStatus& cluster : *clusters) {
    *response->add_clusters() = std::move(cluster);
  }
  rpc::TrimStatusReply(response);
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<bdcoord::v1::LogLine>* ClusterServiceImpl::StreamLogs(
    grpc::CallbackServerContext* context, const bdcoord::v1::StreamLogsRequest* request) {
  return NewLogStream(context, *request, ops_, logs_, streams_, log_queue_bytes_);
}

grpc::ServerWriteReactor<bdcoord::v1::Event>* ClusterServiceImpl::WatchEvents(
    grpc::CallbackServerContext* context, const bdcoord::v1::WatchEventsRequest* request) {
  spdlog::default_logger()->debug("events watcher subscribed (cluster '{}', peer '{}')",
                                  request->cluster(), context->peer());
  return NewEventStream(context, *request, events_, streams_);
}

grpc::Status ClusterServiceImpl::PushImage(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<bdcoord::v1::PushImageProgress, bdcoord::v1::PushImageRequest>*
        stream) {
  bdcoord::v1::PushImageRequest request;
  if (!stream->Read(&request) || !request.has_header()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "a push starts with its header (the image's name, IDs and tags)");
  }
  std::unique_ptr<ImagePush> push = ops_.NewImagePush();
  absl::StatusOr<bdcoord::v1::PushImageProgress> plan = push->Start(request.header());
  if (!plan.ok()) return ToGrpc(plan.status());
  spdlog::info("image push of '{}': {} hosts, {} to send to", request.header().name(),
               plan->hosts_size(), push->sending() ? "some" : "none");
  if (!stream->Write(*plan)) {
    push->Abort();
    return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
  }
  if (!push->sending()) {
    bdcoord::v1::PushImageProgress done = *plan;
    done.set_done(true);
    stream->Write(done);
    return grpc::Status::OK;
  }
  while (stream->Read(&request)) {
    if (!request.has_data() || request.data().size() > static_cast<size_t>(rpc::kImageChunkBytes)) {
      push->Abort();
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("after the header a push sends the archive in pieces of at most ",
                       rpc::kImageChunkBytes, " bytes"));
    }
    if (absl::Status forwarded = push->Forward(request.data()); !forwarded.ok()) {
      return ToGrpc(forwarded);
    }
    if (!push->sending()) break;  // every host failed: nothing to send to
  }
  if (context->IsCancelled()) {
    push->Abort();
    return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
  }
  const bdcoord::v1::PushImageProgress done = push->Finish();
  for (const auto& host : done.hosts()) {
    spdlog::info("image push of '{}' to '{}': {} {}", request.header().name(), host.host(),
                 bdcoord::v1::HostPush::State_Name(host.state()), host.message());
  }
  stream->Write(done);
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::ListImages(grpc::ServerContext*,
                                            const bdcoord::v1::ListImagesRequest* request,
                                            bdcoord::v1::ListImagesResponse* response) {
  absl::StatusOr<std::vector<bdcoord::v1::HostImages>> hosts = ops_.HostImages(request->hosts());
  if (!hosts.ok()) return ToGrpc(hosts.status());
  for (bdcoord::v1::HostImages& host : *hosts) *response->add_hosts() = std::move(host);
  return grpc::Status::OK;
}

}  // namespace bdcoord::coordinator
