#ifndef BDCOORD_COORDINATOR_SPEC_HOST_POLICY_H_
#define BDCOORD_COORDINATOR_SPEC_HOST_POLICY_H_

#include <string>
#include <vector>

#include "bdcoord/v1/spec.pb.h"
#include "coordinator/spec/diagnostics.h"
#include "coordinator/spec/spec_loader.h"
#include "policy/host_policy.h"

namespace bdcoord::coordinator {

// What a spec may do to the hosts it runs on, set by the operator on the coordinator
// (bdcoordd --allow-root, --allow-host-path); the rules are policy/'s, which each agent enforces
// again. Deny by default: whoever may apply must not become root on every host.
using HostPolicy = bdcoord::policy::HostPolicy;

// The spec's breaches of `policy`, each at its element's position: a root `user:`, a bind
// mount of a host path outside the allowed prefixes (or with `..`), the Docker socket or a
// directory holding it (never, whatever the policy), a network named like one of Docker's own
// (host, none, bridge: a container there is not on the cluster's L2). Pure.
std::vector<Diagnostic> CheckHostPolicy(const bdcoord::v1::ClusterSpec& spec,
                                        const SourceMap& positions, const HostPolicy& policy);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_SPEC_HOST_POLICY_H_
