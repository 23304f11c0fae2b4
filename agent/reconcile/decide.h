#ifndef BDCOORD_AGENT_RECONCILE_DECIDE_H_
#define BDCOORD_AGENT_RECONCILE_DECIDE_H_

#include <optional>
#include <string>
#include <vector>

#include "agent/docker/docker_client.h"
#include "bdcoord/v1/agent.pb.h"

namespace bdcoord::agent {

// What a pass does with one desired instance, given the managed containers of its cluster.
enum class InstanceAction {
  kReportCompleted,  // a run-once job that did its work: report it, never run it again
  kKeep,             // its container has its spec: report it, rewrite its /etc/hosts if stale
  kStart,            // its container has its spec but was only created: start it, then as kKeep
  kCreate,           // no container: create and start one
  kReplace,          // its container has another spec: remove it, then create
};

struct InstanceDecision {
  InstanceAction action = InstanceAction::kCreate;
  std::string spec_hash;                  // the label its container has or gets
  std::optional<ContainerInfo> existing;  // its current container
};

struct Decision {
  std::vector<InstanceDecision> instances;  // one per desired instance, in order
  std::vector<ContainerInfo> remove;        // managed containers that no instance wants
};

// The stable hash of everything that defines an instance's container (spec_hash excluded):
// when it changes, the container is replaced.
std::string SpecHash(const bdcoord::v1::DesiredInstance& instance);

// The pure diff of one cluster on this host: desired instances against the containers that carry
// the cluster's label (found by label, never by name). No I/O: the reconciler acts on it.
Decision Decide(const bdcoord::v1::DesiredState& desired,
                const std::vector<ContainerInfo>& managed);

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_RECONCILE_DECIDE_H_
