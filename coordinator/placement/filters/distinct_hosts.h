#ifndef BDCOORD_COORDINATOR_PLACEMENT_FILTERS_DISTINCT_HOSTS_H_
#define BDCOORD_COORDINATOR_PLACEMENT_FILTERS_DISTINCT_HOSTS_H_

#include "bdcoord/v1/spec.pb.h"
#include "coordinator/placement/filters/filter.h"

namespace bdcoord::coordinator {

// `placement.distinct_hosts`: only hosts without an instance of this service yet.
void AddDistinctHostsFilter(const bdcoord::v1::Service& service, const PlacementState& state,
                            PlacementFilters& filters);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLACEMENT_FILTERS_DISTINCT_HOSTS_H_
