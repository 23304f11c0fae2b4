#ifndef BDCOORD_COORDINATOR_PLACEMENT_FILTERS_FILTERS_H_
#define BDCOORD_COORDINATOR_PLACEMENT_FILTERS_FILTERS_H_

#include "bdcoord/v1/spec.pb.h"
#include "coordinator/placement/filters/filter.h"

namespace bdcoord::coordinator {

// The hard rules that apply to `service`, in the order they filter (and failures list them):
// pinned hosts, each constraint, colocate_with, distinct_hosts, max_per, capacity (cpus, then
// memory). A rule that does not apply to the service adds no filter.
PlacementFilters FiltersFor(const bdcoord::v1::Service& service, const PlacementState& state);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLACEMENT_FILTERS_FILTERS_H_
