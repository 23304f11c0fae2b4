#include "coordinator/plan/network_pool.h"

#include <string>

namespace bdcoord::coordinator {

net::AddressPool NetworkPool(const bdcoord::v1::Network& network, const net::Cidr& subnet,
                             const net::Cidr& range, net::Ipv4 docker_gateway) {
  net::AddressPool pool;
  pool.subnet = subnet;
  pool.range = range;
  if (auto gateway = net::Ipv4::Parse(network.gateway()); gateway.ok()) {
    pool.gateway = *gateway;
  } else {
    pool.reserved.push_back(docker_gateway);
  }
  for (const std::string& text : network.reserved()) {
    if (auto ip = net::Ipv4::Parse(text); ip.ok()) pool.reserved.push_back(*ip);
  }
  return pool;
}

}  // namespace bdcoord::coordinator
