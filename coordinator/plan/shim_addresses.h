#ifndef BDCOORD_COORDINATOR_PLAN_SHIM_ADDRESSES_H_
#define BDCOORD_COORDINATOR_PLAN_SHIM_ADDRESSES_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "bdcoord/v1/spec.pb.h"
#include "coordinator/spec/diagnostics.h"
#include "coordinator/spec/spec_loader.h"

namespace bdcoord::coordinator {

// network -> host -> the host's shim address on it (dotted quad).
using ShimAddressMap =
    absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, std::string>>;

// Gives every host with instances of `placement` on a host_shim network one address of the
// network's shim_range, into placement->shims (networks in spec order, hosts by name): the
// address it had in `previous` (may be null) while that is still in the range and free, else the
// lowest free one, so a host keeps its address across re-plans while it has instances there.
// Never the subnet's network, broadcast, gateway (or the first address, which Docker takes when
// there is none) or a reserved address. A validated spec is assumed. Returns one diagnostic per
// network whose shim_range is too small, at its shim_range. Pure.
std::vector<Diagnostic> AllocateShimAddresses(const LoadedSpec& loaded,
                                              const ShimAddressMap* previous,
                                              bdcoord::v1::Placement* placement);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLAN_SHIM_ADDRESSES_H_
