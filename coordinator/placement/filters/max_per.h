#ifndef BDCOORD_COORDINATOR_PLACEMENT_FILTERS_MAX_PER_H_
#define BDCOORD_COORDINATOR_PLACEMENT_FILTERS_MAX_PER_H_

#include "bdcoord/v1/spec.pb.h"
#include "coordinator/placement/filters/filter.h"

namespace bdcoord::coordinator {

// `placement.max_per: {label: L, count: N}`: at most N instances of the service per value of host
// label L (ZooKeeper: at most 1 per rack). A host without label L is filtered: its failure domain
// is unknown, so the rule cannot vouch for it (as Nomad's distinct_property does); label it to use
// it.
void AddMaxPerFilter(const bdcoord::v1::Service& service, const PlacementState& state,
                     PlacementFilters& filters);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLACEMENT_FILTERS_MAX_PER_H_
