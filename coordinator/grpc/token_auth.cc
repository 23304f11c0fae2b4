#include "coordinator/grpc/token_auth.h"

#include <sys/stat.h>

#include "absl/strings/string_view.h"
#include "coordinator/grpc/leader_gate.h"
#include "proto/rpc/bearer_token.h"

namespace bdcoord::coordinator {

using bdcoord::v1::ClusterService;

grpc::Status CheckBearerToken(const grpc::ServerContextBase& context, const std::string& token) {
  const auto& metadata = context.client_metadata();
  const auto found = metadata.find(bdcoord::rpc::kAuthorizationKey);
  if (found != metadata.end() &&
      bdcoord::rpc::BearerTokenMatches(
          absl::string_view(found->second.data(), found->second.size()), token)) {
    return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, kBadTokenMessage);
}

absl::StatusOr<std::string> ReadServerToken(const std::string& path, spdlog::logger& logger) {
  if (path.empty()) return std::string();
  absl::StatusOr<std::string> token = bdcoord::rpc::ReadTokenFile("--token-file", path);
  if (!token.ok()) return token.status();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    logger.warn("the token file '{}' can be read by other users than its owner: chmod 600 it",
                path);
  }
  return token;
}

namespace {

// Hands the call to `method` of the wrapped service once admitted.
template <typename Request, typename Response>
grpc::Status Checked(grpc::Status admitted, ClusterServiceBase* inner,
                     grpc::Status (ClusterService::Service::*method)(grpc::ServerContext*, Request,
                                                                     Response),
                     grpc::ServerContext* context, Request request, Response response) {
  if (!admitted.ok()) return admitted;
  return (inner->*method)(context, request, response);
}

}  // namespace

grpc::Status TokenClusterService::Admit(grpc::ServerContextBase* context) const {
  if (!token_.empty()) {
    if (grpc::Status status = CheckBearerToken(*context, token_); !status.ok()) return status;
  }
  return CheckLeadership(leadership_, context);
}

grpc::Status TokenClusterService::Place(grpc::ServerContext* context,
                                        const bdcoord::v1::PlaceRequest* request,
                                        bdcoord::v1::PlaceResponse* response) {
  return Checked(Admit(context), inner_, &ClusterService::Service::Place, context, request,
                 response);
}

grpc::Status TokenClusterService::Apply(grpc::ServerContext* context,
                                        const bdcoord::v1::ApplyRequest* request,
                                        grpc::ServerWriter<bdcoord::v1::ApplyProgress>* response) {
  return Checked(Admit(context), inner_, &ClusterService::Service::Apply, context, request,
                 response);
}

grpc::Status TokenClusterService::GetStatus(grpc::ServerContext* context,
                                            const bdcoord::v1::GetStatusRequest* request,
                                            bdcoord::v1::GetStatusResponse* response) {
  return Checked(Admit(context), inner_, &ClusterService::Service::GetStatus, context, request,
                 response);
}

grpc::ServerWriteReactor<bdcoord::v1::LogLine>* TokenClusterService::StreamLogs(
    grpc::CallbackServerContext* context, const bdcoord::v1::StreamLogsRequest* request) {
  if (grpc::Status status = Admit(context); !status.ok()) {
    return FinishedStream<bdcoord::v1::LogLine>(status);
  }
  return inner_->StreamLogs(context, request);
}

grpc::ServerWriteReactor<bdcoord::v1::Event>* TokenClusterService::WatchEvents(
    grpc::CallbackServerContext* context, const bdcoord::v1::WatchEventsRequest* request) {
  if (grpc::Status status = Admit(context); !status.ok()) {
    return FinishedStream<bdcoord::v1::Event>(status);
  }
  return inner_->WatchEvents(context, request);
}

grpc::Status TokenClusterService::Scale(grpc::ServerContext* context,
                                        const bdcoord::v1::ScaleRequest* request,
                                        grpc::ServerWriter<bdcoord::v1::ApplyProgress>* response) {
  return Checked(Admit(context), inner_, &ClusterService::Service::Scale, context, request,
                 response);
}

grpc::Status TokenClusterService::Down(grpc::ServerContext* context,
                                       const bdcoord::v1::DownRequest* request,
                                       bdcoord::v1::DownResponse* response) {
  return Checked(Admit(context), inner_, &ClusterService::Service::Down, context, request,
                 response);
}

grpc::Status TokenClusterService::ListHosts(grpc::ServerContext* context,
                                            const bdcoord::v1::ListHostsRequest* request,
                                            bdcoord::v1::ListHostsResponse* response) {
  return Checked(Admit(context), inner_, &ClusterService::Service::ListHosts, context, request,
                 response);
}

grpc::Status TokenClusterService::ChangeRollout(
    grpc::ServerContext* context, const bdcoord::v1::ChangeRolloutRequest* request,
    grpc::ServerWriter<bdcoord::v1::ApplyProgress>* response) {
  return Checked(Admit(context), inner_, &ClusterService::Service::ChangeRollout, context, request,
                 response);
}

grpc::Status TokenClusterService::DrainHost(grpc::ServerContext* context,
                                            const bdcoord::v1::DrainHostRequest* request,
                                            bdcoord::v1::DrainHostResponse* response) {
  return Checked(Admit(context), inner_, &ClusterService::Service::DrainHost, context, request,
                 response);
}

grpc::Status TokenClusterService::PushImage(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<bdcoord::v1::PushImageProgress, bdcoord::v1::PushImageRequest>*
        stream) {
  // Checked before a byte of the archive is read: only ClusterService callers push images.
  if (grpc::Status status = Admit(context); !status.ok()) return status;
  return inner_->PushImage(context, stream);
}

grpc::Status TokenClusterService::ListImages(grpc::ServerContext* context,
                                             const bdcoord::v1::ListImagesRequest* request,
                                             bdcoord::v1::ListImagesResponse* response) {
  return Checked(Admit(context), inner_, &ClusterService::Service::ListImages, context, request,
                 response);
}

grpc::Status TokenAgentService::Connect(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<bdcoord::v1::CoordinatorMessage, bdcoord::v1::AgentMessage>* stream) {
  // A verified client certificate: the listener is mutual TLS, which authenticates agents.
  if (!token_.empty() && !context->auth_context()->IsPeerAuthenticated()) {
    if (grpc::Status status = CheckBearerToken(*context, token_); !status.ok()) return status;
  }
  if (grpc::Status status = CheckLeadership(leadership_, context); !status.ok()) return status;
  return inner_->Connect(context, stream);
}

}  // namespace bdcoord::coordinator
