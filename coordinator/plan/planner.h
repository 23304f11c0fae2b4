#ifndef BDCOORD_COORDINATOR_PLAN_PLANNER_H_
#define BDCOORD_COORDINATOR_PLAN_PLANNER_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "bdcoord/v1/spec.pb.h"
#include "coordinator/placement/scheduler.h"
#include "coordinator/plan/shim_addresses.h"
#include "coordinator/render/rendered_plan.h"
#include "coordinator/spec/diagnostics.h"
#include "coordinator/spec/spec_loader.h"

namespace bdcoord::coordinator {

// An earlier placement, so a re-plan keeps instances (host and IP) where they are.
struct PreviousPlacement {
  absl::flat_hash_map<std::string, std::string> host_of;  // instance -> host
  absl::flat_hash_map<std::string, std::string> ip_of;    // instance -> IP
  ShimAddressMap shim_of;  // network -> host -> its shim address (host_shim networks)
};

struct PlanOptions {
  // The hosts to place on; when null, the spec's own `hosts` (offline planning).
  const std::vector<bdcoord::v1::Host>* inventory = nullptr;
  const PreviousPlacement* previous = nullptr;
  // Service name -> hosts its instances leave (rescheduled off a lost host, which `inventory`
  // still lists for the instances that stay there); they keep their IPs (previous).
  const std::map<std::string, std::set<std::string>>* moving_off = nullptr;
  // Addresses held by other clusters on the same LAN (IP -> who holds it, e.g. "instance zk1
  // of cluster 'a'"): never allocated here; pinning one is an error naming the holder.
  const absl::flat_hash_map<std::string, std::string>* taken_ips = nullptr;
  // Networks of the other applied clusters (cluster name -> its networks). Clusters on one LAN
  // share a network: one of the same name must be defined the same way, and a differently
  // named one must not overlap its subnet.
  const std::map<std::string, std::vector<bdcoord::v1::Network>>* other_networks = nullptr;
  bool render = true;       // render command, env, files and volumes of the instances
  std::string render_only;  // when set, render only this instance (e.g. --show-config)
};

// Validation, IP allocation, template checks, placement, shim addresses, rendering: spec in,
// plan out.
// Pure: no I/O, no clock; the same input gives the same plan.
Plan MakePlan(const LoadedSpec& loaded, const PlanOptions& options);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLAN_PLANNER_H_
