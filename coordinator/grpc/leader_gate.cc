#include "coordinator/grpc/leader_gate.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace bdcoord::coordinator {

std::string StandbyMessage(const std::string& leader) {
  return leader.empty() ? "this coordinator is a standby; no leader is known yet"
                        : absl::StrCat("this coordinator is a standby; the leader is at ", leader);
}

grpc::Status CheckLeadership(const Leadership* leadership, grpc::ServerContextBase* context) {
  if (leadership == nullptr || leadership->IsLeader()) return grpc::Status::OK;
  const std::string leader = leadership->Leader();
  if (!leader.empty()) context->AddTrailingMetadata(kLeaderMetadataKey, leader);
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, StandbyMessage(leader));
}

absl::StatusOr<std::string> AdvertisedAddress(const std::string& advertise,
                                              const std::string& listen) {
  if (!advertise.empty()) return advertise;
  const std::string host = listen.substr(0, listen.rfind(':'));
  if (absl::StartsWith(listen, "unix:") || !(host.empty() || host == "0.0.0.0" || host == "[::]")) {
    return listen;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--listen '", listen,
      "' is no address other machines can dial: with --store etcd://, pass --advertise "
      "HOST:PORT, the address clients and agents should use for this coordinator"));
}

}  // namespace bdcoord::coordinator
