#ifndef BDCOORD_COORDINATOR_RENDER_DESIRED_STATE_H_
#define BDCOORD_COORDINATOR_RENDER_DESIRED_STATE_H_

#include <set>
#include <string>

#include "bdcoord/v1/agent.pb.h"
#include "bdcoord/v1/spec.pb.h"
#include "coordinator/render/rendered_plan.h"

namespace bdcoord::coordinator {

// How the cluster's containers resolve names /etc/hosts does not list: the spec's `dns` with
// the defaults for what it leaves out (search: none; options: fail fast, see
// README). Pure.
bdcoord::v1::Dns ContainerDns(const bdcoord::v1::ClusterSpec& spec);

// One host's desired state for a cluster: the instances placed on `host` (completed run-once
// ones marked so, `held` ones held: see Orchestration), with the networks (parents from the spec's
// host of that name), the cluster's hosts file and this host's shim addresses (as /32s). Pure.
bdcoord::v1::DesiredState MakeDesiredState(const bdcoord::v1::ClusterSpec& spec, const Plan& plan,
                                           const std::string& host,
                                           const std::set<std::string>& held,
                                           const std::set<std::string>& completed);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_RENDER_DESIRED_STATE_H_
