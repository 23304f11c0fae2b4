#ifndef BDCOORD_COORDINATOR_SPEC_VALIDATION_H_
#define BDCOORD_COORDINATOR_SPEC_VALIDATION_H_

#include <vector>

#include "bdcoord/v1/spec.pb.h"
#include "coordinator/spec/diagnostics.h"
#include "coordinator/spec/spec_loader.h"

namespace bdcoord::coordinator {

// Checks what the loader cannot: names and references, addresses against their subnets,
// duplicates, counts against pinned IPs, dependency and co-location cycles, probe conditions.
// Returns every problem found, each with the position of the offending element.
std::vector<Diagnostic> ValidateSpec(const bdcoord::v1::ClusterSpec& spec,
                                     const SourceMap& positions);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_SPEC_VALIDATION_H_
