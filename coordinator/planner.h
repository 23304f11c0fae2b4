#ifndef BDCOORD_COORDINATOR_PLANNER_H_
#define BDCOORD_COORDINATOR_PLANNER_H_

#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "bdcoord/v1/spec.pb.h"
#include "coordinator/diagnostics.h"
#include "coordinator/scheduler.h"
#include "coordinator/spec_loader.h"

namespace bdcoord::coordinator {

// An earlier placement, so a re-plan keeps instances (host and IP) where they are.
struct PreviousPlacement {
  absl::flat_hash_map<std::string, std::string> host_of;  // instance -> host
  absl::flat_hash_map<std::string, std::string> ip_of;    // instance -> IP
};

// One instance with its templates rendered: what the agent needs to create its container.
struct RenderedInstance {
  bdcoord::v1::PlacedInstance placed;
  std::vector<std::string> command;
  std::vector<bdcoord::v1::EnvVar> env;
  std::vector<bdcoord::v1::File> files;
  std::vector<bdcoord::v1::Volume> volumes;
};

struct Plan {
  std::vector<Diagnostic> diagnostics;      // the spec is invalid (exit code 2)
  std::vector<PlacementFailure> failures;   // placement impossible (exit code 3)
  bdcoord::v1::Placement placement;         // every instance, by service order then index
  std::string hosts_file;                   // the /etc/hosts of every container
  std::vector<RenderedInstance> instances;  // same order as placement.instances
};

struct PlanOptions {
  // The hosts to place on; when null, the spec's own `hosts` (offline planning).
  const std::vector<bdcoord::v1::Host>* inventory = nullptr;
  const PreviousPlacement* previous = nullptr;
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

// Validation, IP allocation, template checks, placement, rendering: spec in, plan out.
// Pure: no I/O, no clock; the same input gives the same plan.
Plan MakePlan(const LoadedSpec& loaded, const PlanOptions& options);

struct RenderOptions {
  bool instances = true;  // render command, env, files and volumes (else only the hosts file)
  std::string only;       // when set, render only this instance
};

// The hosts file and the rendered instances of a placement made earlier (e.g. read back from the
// store), without placing again. `loaded.positions` may be empty: they only place messages.
// Pure. The result's diagnostics are template errors (none for a spec MakePlan accepted).
Plan RenderPlan(const LoadedSpec& loaded, const bdcoord::v1::Placement& placement,
                const RenderOptions& options = {});

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLANNER_H_
