#ifndef BDCOORD_COORDINATOR_GRPC_LEADER_GATE_H_
#define BDCOORD_COORDINATOR_GRPC_LEADER_GATE_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/statusor.h"
#include "coordinator/state/leader_fence.h"

namespace bdcoord::coordinator {

// The trailing metadata of a standby's refusal: the leader's address, for clients to follow.
inline constexpr char kLeaderMetadataKey[] = "bdcoord-leader";

// Why a standby refuses: "this coordinator is a standby; the leader is at ADDR" (or that none is
// known yet while `leader` is empty).
std::string StandbyMessage(const std::string& leader);

// OK while `leadership` is null (SQLite: always the leader) or leads; else UNAVAILABLE with
// StandbyMessage, and the leader's address as `bdcoord-leader` trailing metadata of `context`.
grpc::Status CheckLeadership(const Leadership* leadership, grpc::ServerContextBase* context);

// The address this coordinator tells the others to send clients to (bdcoordd --advertise):
// `advertise`, else `listen` unless clients elsewhere could not use it (a TCP wildcard such as
// 0.0.0.0:7443); InvalidArgument then, asking for --advertise.
absl::StatusOr<std::string> AdvertisedAddress(const std::string& advertise,
                                              const std::string& listen);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_GRPC_LEADER_GATE_H_
