#ifndef BDCOORD_COORDINATOR_STATE_REPORTED_STATUS_H_
#define BDCOORD_COORDINATOR_STATE_REPORTED_STATUS_H_

#include <map>
#include <string>

#include "bdcoord/v1/agent.pb.h"
#include "bdcoord/v1/spec.pb.h"

namespace bdcoord::coordinator {

// An instance's latest status as stored, with the host whose agent reported it.
struct ReportedStatus {
  std::string host;
  bdcoord::v1::InstanceStatus status;
};

// The statuses that describe `placement` now, by instance name: an instance's status counts
// only when the host it is placed on reported it. An instance that moved (a drain, a re-plan)
// has none until its new host reports it: what the old host said is about a container that is
// going away. Instances not placed are left out. Pure.
std::map<std::string, bdcoord::v1::InstanceStatus> StatusesOnPlacement(
    const bdcoord::v1::Placement& placement, const std::map<std::string, ReportedStatus>& reported);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_STATE_REPORTED_STATUS_H_
