#ifndef BDCOORD_COORDINATOR_PLACEMENT_FILTERS_CAPACITY_H_
#define BDCOORD_COORDINATOR_PLACEMENT_FILTERS_CAPACITY_H_

#include "bdcoord/v1/spec.pb.h"
#include "coordinator/placement/filters/filter.h"

namespace bdcoord::coordinator {

// `resources`: one filter per resource the service asks for (cpus, then memory): only hosts whose
// capacity still holds one more instance. A capacity of 0 is unlimited.
void AddCapacityFilters(const bdcoord::v1::Service& service, const PlacementState& state,
                        PlacementFilters& filters);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLACEMENT_FILTERS_CAPACITY_H_
