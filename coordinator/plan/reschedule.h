#ifndef BDCOORD_COORDINATOR_PLAN_RESCHEDULE_H_
#define BDCOORD_COORDINATOR_PLAN_RESCHEDULE_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bdcoord/v1/spec.pb.h"

namespace bdcoord::coordinator {

// A service's `reschedule: {after: ...}` as a duration; zero when it has none.
absl::Duration RescheduleAfter(const bdcoord::v1::Service& service);

// One instance that leaves a lost host now.
struct RescheduledInstance {
  std::string instance;
  std::string service;
  std::string from;  // the lost host
  absl::Duration lost_for;
};

struct RescheduleDecision {
  // Service -> the lost hosts its instances leave now (what the planner keeps it off).
  std::map<std::string, std::set<std::string>> moving_off;
  std::vector<RescheduledInstance> instances;  // in placement order
  // When the next instance of a lost host becomes due (absl::InfiniteFuture() when none).
  absl::Time next_due = absl::InfiniteFuture();
  bool empty() const { return instances.empty(); }
};

// Which instances of the cluster leave a lost host now: those of services with `reschedule`
// placed on a host of `lost` (not connected: host -> its last heartbeat) whose last heartbeat is
// at least the service's `after` before `now`. Instances of services without reschedule stay
// placed where they are, and so do run-once ones. Pure.
RescheduleDecision DueReschedules(const bdcoord::v1::ClusterSpec& spec,
                                  const bdcoord::v1::Placement& placement,
                                  const std::map<std::string, absl::Time>& lost, absl::Time now);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLAN_RESCHEDULE_H_
