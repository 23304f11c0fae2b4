#ifndef BDCOORD_COORDINATOR_RENDER_RENDERED_PLAN_H_
#define BDCOORD_COORDINATOR_RENDER_RENDERED_PLAN_H_

#include <cstddef>
#include <string>
#include <vector>

#include "bdcoord/v1/spec.pb.h"
#include "coordinator/placement/scheduler.h"
#include "coordinator/spec/diagnostics.h"
#include "coordinator/spec/spec_loader.h"
#include "net/hosts_file.h"

namespace bdcoord::coordinator {

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

// The hosts map's entries of a placement: every instance with an IP, by FQDN and name. Pure.
std::vector<net::HostsEntry> HostsEntries(const bdcoord::v1::Placement& placement);

// Every template of every service rendered once against a sample instance, so template errors
// are found before placing (and independently of the cluster's size). Pure.
std::vector<Diagnostic> CheckTemplates(const LoadedSpec& loaded);

// Caps on what a plan renders (README, "Limits"), besides kMaxRenderedBytes per template: each
// instance (command, env, files, volumes), each host's share (its instances and the hosts file,
// what its desired state carries) and the whole cluster. Each is an error at the service whose
// instance went past it, and rendering stops there.
inline constexpr size_t kMaxInstanceBytes = 2 << 20;
inline constexpr size_t kMaxHostBytes = 8 << 20;
inline constexpr size_t kMaxPlanBytes = 128 << 20;

struct RenderOptions {
  bool instances = true;  // render command, env, files and volumes (else only the hosts file)
  std::string only;       // when set, render only this instance
};

// The hosts file and the rendered instances of a placement made earlier (e.g. read back from the
// store), without placing again. `loaded.positions` may be empty: they only place messages.
// Pure. The result's diagnostics are template errors and the caps above (none for a spec MakePlan
// accepted); rendering stops at the first instance with one.
Plan RenderPlan(const LoadedSpec& loaded, const bdcoord::v1::Placement& placement,
                const RenderOptions& options = {});

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_RENDER_RENDERED_PLAN_H_
