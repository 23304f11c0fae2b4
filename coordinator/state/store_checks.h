#ifndef BDCOORD_COORDINATOR_STATE_STORE_CHECKS_H_
#define BDCOORD_COORDINATOR_STATE_STORE_CHECKS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bdcoord/v1/agent.pb.h"
#include "coordinator/state/store.h"

// What both stores (SQLite, etcd) check before they write, so that they refuse alike.
namespace bdcoord::coordinator::store_internal {

std::string Quoted(const std::string& s);  // 'name'
absl::Status ClusterNotFound(const std::string& name);
// The cluster's serialized spec, or why the cluster contradicts itself (InvalidArgument).
absl::StatusOr<std::string> CheckedSpec(const AppliedCluster& cluster);
// The host's serialized facts, or why the host cannot be stored.
absl::StatusOr<std::string> CheckedFacts(const std::string& name,
                                         const bdcoord::v1::HostFacts& facts);

}  // namespace bdcoord::coordinator::store_internal

#endif  // BDCOORD_COORDINATOR_STATE_STORE_CHECKS_H_
