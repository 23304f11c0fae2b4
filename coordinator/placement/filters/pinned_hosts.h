#ifndef BDCOORD_COORDINATOR_PLACEMENT_FILTERS_PINNED_HOSTS_H_
#define BDCOORD_COORDINATOR_PLACEMENT_FILTERS_PINNED_HOSTS_H_

#include "bdcoord/v1/spec.pb.h"
#include "coordinator/placement/filters/filter.h"

namespace bdcoord::coordinator {

// `placement.hosts`: only the pinned hosts (names not in the inventory pin nothing). Static.
void AddPinnedHostsFilter(const bdcoord::v1::Service& service, const PlacementState& state,
                          PlacementFilters& filters);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLACEMENT_FILTERS_PINNED_HOSTS_H_
