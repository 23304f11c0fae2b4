#ifndef BDCOORD_NET_IPAM_H_
#define BDCOORD_NET_IPAM_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "net/ipv4.h"

namespace bdcoord::net {

// The addresses of one L2 network that the allocator may hand out.
struct AddressPool {
  Cidr subnet;
  std::optional<Ipv4> gateway;
  Cidr range;                  // allocation range, inside subnet (the whole subnet by default)
  std::vector<Ipv4> reserved;  // never allocated
};

// One address wanted by one instance. A pinned address is always honoured (validation has
// already checked it); a previous address is kept when it is still usable, so re-plans move
// nothing that does not have to move.
struct AddressRequest {
  std::optional<Ipv4> pinned;
  std::optional<Ipv4> previous;
};

// Allocates one address per request, in request order: pinned first, then previous addresses
// still valid, then the lowest free address of the range. Never returns the network, broadcast
// (for prefixes shorter than /31), gateway or reserved addresses, nor one address twice.
// Pure and deterministic. Fails with ResourceExhausted naming needed vs free counts.
absl::StatusOr<std::vector<Ipv4>> AllocateAddresses(const AddressPool& pool,
                                                    const std::vector<AddressRequest>& requests);

// How many addresses of the range can be allocated at all (range minus network, broadcast,
// gateway and reserved addresses).
uint64_t UsableAddressCount(const AddressPool& pool);

}  // namespace bdcoord::net

#endif  // BDCOORD_NET_IPAM_H_
