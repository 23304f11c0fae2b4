#ifndef BDCOORD_COORDINATOR_PLACEMENT_FILTERS_CONSTRAINT_H_
#define BDCOORD_COORDINATOR_PLACEMENT_FILTERS_CONSTRAINT_H_

#include <string>

#include "bdcoord/v1/spec.pb.h"
#include "coordinator/placement/filters/filter.h"

namespace bdcoord::coordinator {

// True when the host's labels satisfy the constraint. An unknown operator never holds: a hard rule
// fails closed.
bool ConstraintHolds(const bdcoord::v1::Constraint& constraint, const bdcoord::v1::Host& host);

// The constraint as the user wrote it; rebuilt from the parsed fields when `text` is empty.
std::string ConstraintText(const bdcoord::v1::Constraint& constraint);

// `placement.constraints`: one filter per constraint, in the order written. Static.
void AddConstraintFilters(const bdcoord::v1::Service& service, const PlacementState& state,
                          PlacementFilters& filters);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLACEMENT_FILTERS_CONSTRAINT_H_
