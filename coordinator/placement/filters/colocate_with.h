#ifndef BDCOORD_COORDINATOR_PLACEMENT_FILTERS_COLOCATE_WITH_H_
#define BDCOORD_COORDINATOR_PLACEMENT_FILTERS_COLOCATE_WITH_H_

#include "bdcoord/v1/spec.pb.h"
#include "coordinator/placement/filters/filter.h"

namespace bdcoord::coordinator {

// `placement.colocate_with`: only hosts that run an instance of the target service, which the
// scheduler places first (a target not placed yet, or unknown, leaves no host). Static.
void AddColocateWithFilter(const bdcoord::v1::Service& service, const PlacementState& state,
                           PlacementFilters& filters);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLACEMENT_FILTERS_COLOCATE_WITH_H_
