#include "proto/rpc/limits.h"

namespace bdcoord::rpc {

void ApplyMessageLimits(grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
}

void ApplyMessageLimits(grpc::ChannelArguments& arguments) {
  arguments.SetMaxReceiveMessageSize(kMaxMessageBytes);
  arguments.SetMaxSendMessageSize(kMaxMessageBytes);
}

void ApplyClientChannelArguments(grpc::ChannelArguments& arguments) {
  ApplyMessageLimits(arguments);
  // Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC takes it as the connect timeout too (20 s by
  // default), and at 100 ms a TLS handshake on a loaded host never finished (faults_testbed_e2e).
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
}

}  // namespace bdcoord::rpc
