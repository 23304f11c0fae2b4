#ifndef BDCOORD_COORDINATOR_PLAN_ORCHESTRATOR_H_
#define BDCOORD_COORDINATOR_PLAN_ORCHESTRATOR_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "bdcoord/v1/agent.pb.h"
#include "bdcoord/v1/cluster.pb.h"
#include "bdcoord/v1/spec.pb.h"

namespace bdcoord::coordinator {

// What the orchestrator knows about a cluster: its spec, where its instances went, the latest
// status of each instance, and the run-once instances that ever completed.
struct OrchestratorInput {
  const bdcoord::v1::ClusterSpec* spec = nullptr;
  const bdcoord::v1::Placement* placement = nullptr;                             // may be null
  const std::map<std::string, bdcoord::v1::InstanceStatus>* statuses = nullptr;  // by name
  const std::set<std::string>* completed = nullptr;  // run-once instances that completed
};

struct Orchestration {
  // Services whose instances may be started now, in spec order: for each of their depends_on
  // entries, every instance of the dependency satisfies the condition.
  std::vector<std::string> released;
  // Instances of the services not released: their agents create them and hold their start
  // (DesiredInstance.hold), so that only the start is left when the service is released. A
  // container that ever started is left running: depends_on orders the first start and never
  // stops an instance (scaling a dependency up, or one of its instances restarting, must not
  // stop its dependents).
  std::set<std::string> held;
  std::vector<bdcoord::v1::ServiceProgress> services;  // spec order
  bool done = false;    // every instance of every service is ready (or completed)
  bool failed = false;  // some instance is FAILED
  std::vector<bdcoord::v1::InstanceStatus> failures;  // the FAILED instances
};

// Pure: the same input gives the same output. O(services x (instances + dependencies)).
Orchestration Orchestrate(const OrchestratorInput& input);

// Whether one instance's status satisfies a depends_on condition (started: RUNNING or
// COMPLETED; ready: RUNNING and ready, or COMPLETED; completed: COMPLETED).
bool ConditionHolds(bdcoord::v1::Dependency::Condition condition,
                    const bdcoord::v1::InstanceStatus& status);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLAN_ORCHESTRATOR_H_
