#ifndef BDCOORD_COORDINATOR_RENDER_DESIRED_STATE_H_
#define BDCOORD_COORDINATOR_RENDER_DESIRED_STATE_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bdcoord/v1/agent.pb.h"
#include "bdcoord/v1/spec.pb.h"
#include "coordinator/render/rendered_plan.h"

namespace bdcoord::coordinator {

// How the cluster's containers resolve names /etc/hosts does not list: the spec's `dns` with
// the defaults for what it leaves out (search: none; options: fail fast, see
// README). Pure.
bdcoord::v1::Dns ContainerDns(const bdcoord::v1::ClusterSpec& spec);

// How long the agent of an instance whose service reschedules after `after` goes without hearing
// from the coordinator before it stops the instance (DesiredInstance.fence_after): half of
// `after`, so the container is stopped well before the coordinator starts it elsewhere. Pure.
absl::Duration FenceAfter(absl::Duration after);

// What each instance of the plan is to run, by instance name (hold and completed unset). Pure.
std::map<std::string, bdcoord::v1::DesiredInstance> DesiredInstances(
    const bdcoord::v1::ClusterSpec& spec, const Plan& plan);

// What MakeDesiredState marks or swaps per instance, by instance name.
struct InstanceOverrides {
  std::set<std::string> held;       // created, not started (see Orchestration)
  std::set<std::string> completed;  // run-once instances that completed: never run again
  // Instances a rollout has not reached: they keep running this (their previous spec).
  std::map<std::string, bdcoord::v1::DesiredInstance> pinned;
};

// One host's share of a plan, as positions in it (in plan order): what its desired state reads.
struct HostShare {
  std::vector<size_t> instances;  // in plan.instances
  std::vector<int> shims;         // in plan.placement.shims
  int spec_host = -1;             // in spec.hosts (-1: not listed there)
};

// Every host's share of `plan`, found in one scan, so that building each host's desired state
// reads only its own instances (not all of the cluster's for every host: 20,000 x 1,000 in
// issue 13's fleet). Hosts neither placed on nor listed in the spec are absent. Pure.
std::map<std::string, HostShare> SharesByHost(const bdcoord::v1::ClusterSpec& spec,
                                              const Plan& plan);

// `host`'s entry in `shares` (SharesByHost), or an empty share when it has none. Pure.
const HostShare& ShareOf(const std::map<std::string, HostShare>& shares, const std::string& host);

// One host's desired state for a cluster, from its `share` (its entry in SharesByHost(spec, plan);
// empty when it has none): the instances placed on it (as `overrides` say), with the networks
// (parents from the spec's host of its name) and its shim addresses (as /32s). Not the hosts map:
// the controller sends it, or what changed in it, on its own. Pure.
bdcoord::v1::DesiredState MakeDesiredState(const bdcoord::v1::ClusterSpec& spec, const Plan& plan,
                                           const HostShare& share,
                                           const InstanceOverrides& overrides);

// A hash of what MakeDesiredState reads of `overrides` for `share`: whether each of its instances
// is held, completed or pinned (and to what). For one spec and plan, equal hashes mean an equal
// desired state: a controller pass need not build a host's state again to learn that it has not
// changed (issue 13). Pure.
size_t OverridesHash(const Plan& plan, const HostShare& share, const InstanceOverrides& overrides);

// The same for `host`, its share found by scanning the plan (for one-offs and tests). Pure.
bdcoord::v1::DesiredState MakeDesiredState(const bdcoord::v1::ClusterSpec& spec, const Plan& plan,
                                           const std::string& host,
                                           const InstanceOverrides& overrides);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_RENDER_DESIRED_STATE_H_
