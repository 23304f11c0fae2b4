#ifndef BDCOORD_COORDINATOR_GRPC_ERROR_DETAILS_H_
#define BDCOORD_COORDINATOR_GRPC_ERROR_DETAILS_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <optional>

#include "absl/status/status.h"
#include "bdcoord/v1/cluster.pb.h"

namespace bdcoord::coordinator {

// A status travels in HTTP/2 headers, which gRPC bounds (8 KiB by default on the receiving side:
// past it the call fails with "received initial metadata size exceeds limit"). So the message
// and the details are cut to these; the whole report goes as a Rejection message instead.
inline constexpr size_t kMaxStatusMessageBytes = 1024;
inline constexpr size_t kMaxStatusDetailsBytes = 4096;

// An error Status of the layers below as a gRPC status: the message as it is when it fits in
// kMaxStatusMessageBytes, else a one-line summary (`many.yaml: 60 errors`); its payloads
// (ClusterOps' SpecErrors and PlacementFailures) become the details of an ErrorStatus in
// `grpc-status-details-bin` (the wire format of google.rpc.Status), the list cut so that the
// ErrorStatus (which repeats the message) fits kMaxStatusDetailsBytes, the rest counted in
// `omitted`.
grpc::Status ToGrpc(const absl::Status& status);

// The full report of a refused spec (InvalidArgument or FailedPrecondition with a SpecErrors or
// PlacementFailures payload), or nothing for any other status.
std::optional<bdcoord::v1::Rejection> RejectionOf(const absl::Status& status);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_GRPC_ERROR_DETAILS_H_
