#include "coordinator/grpc/cluster_service.h"

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
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
                                       std::function<absl::Time()> now)
    : ops_(ops), logs_(logs), events_(events), now_(std::move(now)) {}

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
    grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer) {
  return ToGrpc(ops_.FollowProgress(
      cluster,
      [writer](bdcoord::v1::ApplyProgress progress) {
        rpc::TrimProgress(&progress);
        return writer->Write(progress);
      },
      [context] { return context->IsCancelled(); }));
}

grpc::Status ClusterServiceImpl::Apply(grpc::ServerContext* context,
                                       const bdcoord::v1::ApplyRequest* request,
                                       grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer) {
  absl::StatusOr<std::string> cluster = ops_.Apply(TextOf(request->spec()));
  if (!cluster.ok()) return Refuse(cluster.status(), writer);
  return FollowProgress(context, *cluster, writer);
}

grpc::Status ClusterServiceImpl::Scale(grpc::ServerContext* context,
                                       const bdcoord::v1::ScaleRequest* request,
                                       grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer) {
  absl::StatusOr<std::string> cluster =
      ops_.Scale(request->cluster(), request->service(), request->count());
  if (!cluster.ok()) return Refuse(cluster.status(), writer);
  return FollowProgress(context, *cluster, writer);
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

namespace {

constexpr absl::Duration kCancelCheckPeriod = ClusterOps::kCancelCheckPeriod;

// Lines and ends from the log requests of one StreamLogs call, filled by the router's callbacks.
struct LogFeed {
  absl::Mutex mu;
  std::deque<bdcoord::v1::AgentLogChunk> chunks ABSL_GUARDED_BY(mu);
  size_t open ABSL_GUARDED_BY(mu) = 0;  // requests not ended yet
  absl::Status error ABSL_GUARDED_BY(mu);

  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return !chunks.empty() || open == 0 || !error.ok();
  }
};

}  // namespace

grpc::Status ClusterServiceImpl::StreamLogs(grpc::ServerContext* context,
                                            const bdcoord::v1::StreamLogsRequest* request,
                                            grpc::ServerWriter<bdcoord::v1::LogLine>* writer) {
  absl::StatusOr<std::vector<ClusterOps::LogTarget>> targets =
      ops_.LogTargets(request->cluster(), request->target());
  if (!targets.ok()) return ToGrpc(targets.status());
  LogFeed feed;
  std::vector<uint64_t> ids;
  auto cancel_all = [&] {
    for (uint64_t id : ids) logs_.CancelLogs(id);
  };
  for (const ClusterOps::LogTarget& target : *targets) {
    {
      absl::MutexLock lock(&feed.mu);
      ++feed.open;
    }
    const std::string instance = target.instance;
    auto id = logs_.RequestLogs(
        target.host, target.container, instance, request->follow(), request->tail(),
        [&feed, instance](const bdcoord::v1::AgentLogChunk& chunk, const absl::Status& ended) {
          absl::MutexLock lock(&feed.mu);
          if (chunk.lines_size() > 0) {
            feed.chunks.push_back(chunk);
            feed.chunks.back().set_instance(instance);
          }
          if (!ended.ok() && feed.error.ok()) feed.error = ended;
          if (chunk.end() || !ended.ok()) --feed.open;
        });
    if (!id.ok()) {
      cancel_all();
      return ToGrpc(id.status());
    }
    ids.push_back(*id);
  }

  while (true) {
    std::deque<bdcoord::v1::AgentLogChunk> chunks;
    absl::Status error;
    bool all_ended = false;
    {
      absl::MutexLock lock(&feed.mu);
      feed.mu.AwaitWithTimeout(absl::Condition(&feed, &LogFeed::Ready), kCancelCheckPeriod);
      chunks.swap(feed.chunks);
      error = feed.error;
      all_ended = feed.open == 0;
    }
    for (const auto& chunk : chunks) {
      for (const std::string& text : chunk.lines()) {
        bdcoord::v1::LogLine line;
        line.set_instance(chunk.instance());
        line.set_text(text);
        line.set_stderr(chunk.stderr());
        if (!writer->Write(line)) {
          cancel_all();
          return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
        }
      }
    }
    if (!error.ok()) {
      cancel_all();
      return ToGrpc(error);
    }
    if (all_ended) break;
    if (context->IsCancelled()) {
      cancel_all();
      return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    }
  }
  cancel_all();  // every request ended: nothing is sent, no callback can run after this
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::WatchEvents(grpc::ServerContext* context,
                                             const bdcoord::v1::WatchEventsRequest* request,
                                             grpc::ServerWriter<bdcoord::v1::Event>* writer) {
  std::unique_ptr<EventBus::Subscription> subscription = events_.Subscribe(request->cluster());
  // Headers go out now: the client knows it is subscribed before the first event.
  writer->SendInitialMetadata();
  spdlog::default_logger()->debug("events watcher subscribed (cluster '{}', peer '{}')",
                                  request->cluster(), context->peer());
  while (!context->IsCancelled()) {
    std::optional<bdcoord::v1::Event> event = subscription->Next(now_() + kCancelCheckPeriod);
    if (event.has_value() && !writer->Write(*event)) break;
  }
  return grpc::Status::OK;
}

}  // namespace bdcoord::coordinator
