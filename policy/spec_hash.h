#ifndef BDCOORD_POLICY_SPEC_HASH_H_
#define BDCOORD_POLICY_SPEC_HASH_H_

#include <string>

#include "bdcoord/v1/agent.pb.h"

namespace bdcoord::policy {

// The stable hash of everything that defines an instance's container (spec_hash, completed and
// hold excluded, and the content of files whose on_change is not restart): when it changes, the
// agent replaces the container. Shared by the agent, which labels containers with it, and the
// coordinator, which compares it with what agents report to tell which instances a rollout has
// updated. Stable across processes and releases. Pure.
std::string SpecHash(const bdcoord::v1::DesiredInstance& instance);

}  // namespace bdcoord::policy

#endif  // BDCOORD_POLICY_SPEC_HASH_H_
