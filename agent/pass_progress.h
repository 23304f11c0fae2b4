#ifndef BDCOORD_AGENT_PASS_PROGRESS_H_
#define BDCOORD_AGENT_PASS_PROGRESS_H_

#include <cstdint>
#include <vector>

#include "bdcoord/v1/agent.pb.h"

namespace bdcoord::agent {

// The status report of one cluster while a pass works through it: each instance as the pass
// left it, and until the pass reaches it, as the last report said (a new instance, or one whose
// spec changed since: pending). A report is whole (an instance missing from it is gone), so a
// report mid-pass is built here. Pure; not thread-safe.
class PassProgress {
 public:
  // `last_reported`: the statuses the last pass over the cluster reported, made against the
  // desired state of generation `last_generation` (0: none).
  PassProgress(const bdcoord::v1::DesiredState& desired,
               const std::vector<bdcoord::v1::InstanceStatus>& last_reported,
               uint64_t last_generation);

  // Whether the coordinator has statuses from this host that it disregards: reported against an
  // older desired state (it counts only reports on the state it sent last), all of instances
  // still desired. A readiness reported just before a new desired state came would wait for
  // the new pass's first news otherwise, and the dependents it releases with it.
  bool CoordinatorWaits() const { return coordinator_waits_; }

  // The pass is done with instance `index`: whether what the coordinator is told of it changed
  // (its state, readiness or container), which is worth a report now.
  bool Update(int index, const bdcoord::v1::InstanceStatus& status);

  bdcoord::v1::StatusReport Report() const;
  const std::vector<bdcoord::v1::InstanceStatus>& statuses() const { return statuses_; }

 private:
  bdcoord::v1::StatusReport header_;  // cluster and generation
  bool coordinator_waits_ = false;
  std::vector<bdcoord::v1::InstanceStatus> statuses_;
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_PASS_PROGRESS_H_
