#include "coordinator/plan/reschedule.h"

#include <algorithm>

#include "coordinator/spec/instance_names.h"

namespace bdcoord::coordinator {

absl::Duration RescheduleAfter(const bdcoord::v1::Service& service) {
  if (!service.has_reschedule()) return absl::ZeroDuration();
  return absl::Seconds(service.reschedule().after().seconds()) +
         absl::Nanoseconds(service.reschedule().after().nanos());
}

RescheduleDecision DueReschedules(const bdcoord::v1::ClusterSpec& spec,
                                  const bdcoord::v1::Placement& placement,
                                  const std::map<std::string, absl::Time>& lost, absl::Time now) {
  RescheduleDecision decision;
  if (lost.empty()) return decision;
  for (const auto& instance : placement.instances()) {
    auto host = lost.find(instance.host());
    if (host == lost.end()) continue;
    const bdcoord::v1::Service* service = FindService(spec, instance.service());
    if (service == nullptr || service->run_once()) continue;
    const absl::Duration after = RescheduleAfter(*service);
    if (after <= absl::ZeroDuration()) continue;  // stays on the lost host
    const absl::Time due = host->second + after;
    if (now < due) {
      decision.next_due = std::min(decision.next_due, due);
      continue;
    }
    decision.moving_off[instance.service()].insert(instance.host());
    decision.instances.push_back(
        {instance.name(), instance.service(), instance.host(), now - host->second});
  }
  return decision;
}

}  // namespace bdcoord::coordinator
