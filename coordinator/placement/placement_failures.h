#ifndef BDCOORD_COORDINATOR_PLACEMENT_PLACEMENT_FAILURES_H_
#define BDCOORD_COORDINATOR_PLACEMENT_PLACEMENT_FAILURES_H_

#include <string>
#include <vector>

#include "coordinator/placement/scheduler.h"

namespace bdcoord::coordinator {

// Why instances could not be placed: per instance, what each rule filtered and what would fix it
// (what `bdcoord place` prints and what Apply returns with FAILED_PRECONDITION).
std::string FormatPlacementFailures(const std::vector<PlacementFailure>& failures,
                                    int instances_total);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLACEMENT_PLACEMENT_FAILURES_H_
