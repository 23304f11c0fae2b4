#ifndef BDCOORD_PROTO_RPC_LIMITS_H_
#define BDCOORD_PROTO_RPC_LIMITS_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>

namespace bdcoord::rpc {

// The largest gRPC message any of the three programs sends or accepts (README, "Limits"). Set
// explicitly on both ends, not left to gRPC's 4 MiB default: the render caps (8 MiB per host's
// desired state) and the status caps (4 MiB per report, 8 MiB per reply) stay well inside it.
inline constexpr int kMaxMessageBytes = 16 * 1024 * 1024;

// The largest piece of an image archive in one message (PushImage's data, the agents'
// ImageChunk): the coordinator refuses larger ones, and an agent's queue of pieces waiting for
// its Docker is bounded by a few of them.
inline constexpr int kImageChunkBytes = 1024 * 1024;

// The limits on a server (bdcoordd) and on a client channel (bdcoord, bdagent).
void ApplyMessageLimits(grpc::ServerBuilder& builder);
void ApplyMessageLimits(grpc::ChannelArguments& arguments);

// A client channel to a coordinator (bdcoord, bdagent): the message limits, and gRPC's own
// reconnect backoff kept at 1 s at most (its connect timeout left alone). The callers retry on
// their own terms (the agent's link, the CLI following a failover); at gRPC's default (up to
// 120 s) a channel to a coordinator that was down can fail calls at once for a while after it is
// back and leading.
void ApplyClientChannelArguments(grpc::ChannelArguments& arguments);

}  // namespace bdcoord::rpc

#endif  // BDCOORD_PROTO_RPC_LIMITS_H_
