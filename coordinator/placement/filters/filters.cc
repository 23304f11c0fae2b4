#include "coordinator/placement/filters/filters.h"

#include "coordinator/placement/filters/capacity.h"
#include "coordinator/placement/filters/colocate_with.h"
#include "coordinator/placement/filters/constraint.h"
#include "coordinator/placement/filters/distinct_hosts.h"
#include "coordinator/placement/filters/max_per.h"
#include "coordinator/placement/filters/pinned_hosts.h"

namespace bdcoord::coordinator {

PlacementFilters FiltersFor(const bdcoord::v1::Service& service, const PlacementState& state) {
  PlacementFilters filters;
  AddPinnedHostsFilter(service, state, filters);
  AddConstraintFilters(service, state, filters);
  AddColocateWithFilter(service, state, filters);
  AddDistinctHostsFilter(service, state, filters);
  AddMaxPerFilter(service, state, filters);
  AddCapacityFilters(service, state, filters);
  return filters;
}

}  // namespace bdcoord::coordinator
