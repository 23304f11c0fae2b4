#ifndef BDCOORD_AGENT_PASS_PROGRESS_H_
#define BDCOORD_AGENT_PASS_PROGRESS_H_

#include <vector>

#include "bdcoord/v1/agent.pb.h"

namespace bdcoord::agent {

// The status report of one cluster while a pass works through it: each instance as the pass
// left it, and until the pass reaches it, as the last report said (a new instance: pending). A
// report is whole (an instance missing from it is gone), so a report mid-pass is built here.
// Pure; not thread-safe.
class PassProgress {
 public:
  PassProgress(const bdcoord::v1::DesiredState& desired,
               const std::vector<bdcoord::v1::InstanceStatus>& last_reported);

  // The pass is done with instance `index`: whether what the coordinator is told of it changed
  // (its state, readiness or container), which is worth a report now.
  bool Update(int index, const bdcoord::v1::InstanceStatus& status);

  bdcoord::v1::StatusReport Report() const;
  const std::vector<bdcoord::v1::InstanceStatus>& statuses() const { return statuses_; }

 private:
  bdcoord::v1::StatusReport header_;  // cluster and generation
  std::vector<bdcoord::v1::InstanceStatus> statuses_;
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_PASS_PROGRESS_H_
