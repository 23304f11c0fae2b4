#include "coordinator/state/reported_status.h"

namespace bdcoord::coordinator {

std::map<std::string, bdcoord::v1::InstanceStatus> StatusesOnPlacement(
    const bdcoord::v1::Placement& placement,
    const std::map<std::string, ReportedStatus>& reported) {
  std::map<std::string, bdcoord::v1::InstanceStatus> statuses;
  for (const bdcoord::v1::PlacedInstance& instance : placement.instances()) {
    auto found = reported.find(instance.name());
    if (found == reported.end() || found->second.host != instance.host()) continue;
    statuses[instance.name()] = found->second.status;
  }
  return statuses;
}

}  // namespace bdcoord::coordinator
