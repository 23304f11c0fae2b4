#ifndef BDCOORD_COORDINATOR_GRPC_PEER_IDENTITY_H_
#define BDCOORD_COORDINATOR_GRPC_PEER_IDENTITY_H_

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace bdcoord::coordinator {

// The host names a verified client certificate speaks for: its common name and its DNS
// subject alternative names. nullopt when the peer presented no verified certificate (a unix
// socket or loopback TCP, where the token authenticated it).
std::optional<std::vector<std::string>> CertificateHostNames(const grpc::AuthContext& context);

// A certificate is one host: OK when no certificate was presented or `host` is one of its
// names; PermissionDenied naming both otherwise. Pure.
absl::Status CheckCertificateHost(const std::optional<std::vector<std::string>>& names,
                                  const std::string& host);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_GRPC_PEER_IDENTITY_H_
