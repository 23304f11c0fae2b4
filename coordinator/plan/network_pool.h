#ifndef BDCOORD_COORDINATOR_PLAN_NETWORK_POOL_H_
#define BDCOORD_COORDINATOR_PLAN_NETWORK_POOL_H_

#include "bdcoord/v1/spec.pb.h"
#include "net/ipam.h"
#include "net/ipv4.h"

namespace bdcoord::coordinator {

// The addresses of `range` (inside `subnet`) that `network` lets the allocator hand out: without
// the network's gateway and reserved addresses. Without a gateway, `docker_gateway` (the address
// Docker's IPAM takes for one) is reserved instead. The containers' pool and the shims' pool
// differ only in their range and that address. Pure.
net::AddressPool NetworkPool(const bdcoord::v1::Network& network, const net::Cidr& subnet,
                             const net::Cidr& range, net::Ipv4 docker_gateway);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLAN_NETWORK_POOL_H_
