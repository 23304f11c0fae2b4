#ifndef BDCOORD_COORDINATOR_GRPC_TOKEN_AUTH_H_
#define BDCOORD_COORDINATOR_GRPC_TOKEN_AUTH_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/statusor.h"
#include "bdcoord/v1/agent.grpc.pb.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "coordinator/grpc/cluster_service.h"
#include "coordinator/state/leader_fence.h"
#include "spdlog/spdlog.h"

namespace bdcoord::coordinator {

inline constexpr char kBadTokenMessage[] = "missing or invalid bearer token";

// The bearer-token check of bdcoordd --token-file: OK when the call's `authorization` metadata
// is `Bearer <token>`, else UNAUTHENTICATED "missing or invalid bearer token".
grpc::Status CheckBearerToken(const grpc::ServerContextBase& context, const std::string& token);

// The token of bdcoordd --token-file (empty without one), as rpc::ReadTokenFile reads it; warns
// on `logger` when users other than the owner can read the file.
absl::StatusOr<std::string> ReadServerToken(const std::string& path, spdlog::logger& logger);

// These wrap the real services and are what the server registers when a token is configured or
// the coordinator is one of several (a `leadership`: a standby refuses every call with
// CheckLeadership, leader_gate.h, after the token check) (gRPC 1.51 offers no other place that can
// reject a call on every kind of listener: server interceptors cannot end a call, and
// AuthMetadataProcessor needs TLS credentials).
//
// ClusterService (the CLI, tools): every call needs the token. A method added to the proto and
// not forwarded here stays UNIMPLEMENTED, never open. The streams on the callback API are
// checked the same way: a refused one ends at once, before any stream slot is taken.
class TokenClusterService final : public ClusterServiceBase {
 public:
  TokenClusterService(ClusterServiceBase* inner, std::string token,
                      const Leadership* leadership = nullptr)
      : inner_(inner), token_(std::move(token)), leadership_(leadership) {}

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
  grpc::Status ListHosts(grpc::ServerContext*, const bdcoord::v1::ListHostsRequest*,
                         bdcoord::v1::ListHostsResponse*) override;
  grpc::Status ChangeRollout(grpc::ServerContext*, const bdcoord::v1::ChangeRolloutRequest*,
                             grpc::ServerWriter<bdcoord::v1::ApplyProgress>*) override;
  grpc::Status DrainHost(grpc::ServerContext*, const bdcoord::v1::DrainHostRequest*,
                         bdcoord::v1::DrainHostResponse*) override;
  grpc::Status PushImage(grpc::ServerContext*,
                         grpc::ServerReaderWriter<bdcoord::v1::PushImageProgress,
                                                  bdcoord::v1::PushImageRequest>*) override;
  grpc::Status ListImages(grpc::ServerContext*, const bdcoord::v1::ListImagesRequest*,
                          bdcoord::v1::ListImagesResponse*) override;

 private:
  // The token (when configured), then the leadership.
  grpc::Status Admit(grpc::ServerContextBase* context) const;

  ClusterServiceBase* inner_;
  const std::string token_;
  const Leadership* const leadership_;
};

// AgentService (bdagent): an agent that presented a client certificate the server verified
// (mutual TLS) is authenticated by it; without TLS (unix socket, loopback TCP) it needs the
// token like any other client.
class TokenAgentService final : public bdcoord::v1::AgentService::Service {
 public:
  TokenAgentService(bdcoord::v1::AgentService::Service* inner, std::string token,
                    const Leadership* leadership = nullptr)
      : inner_(inner), token_(std::move(token)), leadership_(leadership) {}

  grpc::Status Connect(grpc::ServerContext* context,
                       grpc::ServerReaderWriter<bdcoord::v1::CoordinatorMessage,
                                                bdcoord::v1::AgentMessage>* stream) override;

 private:
  bdcoord::v1::AgentService::Service* inner_;
  const std::string token_;
  const Leadership* const leadership_;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_GRPC_TOKEN_AUTH_H_
