#include "coordinator/plan/shim_addresses.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/plan/network_pool.h"
#include "net/ipam.h"
#include "net/ipv4.h"

namespace bdcoord::coordinator {

std::vector<Diagnostic> AllocateShimAddresses(const LoadedSpec& loaded,
                                              const ShimAddressMap* previous,
                                              bdcoord::v1::Placement* placement) {
  std::vector<Diagnostic> diagnostics;
  placement->clear_shims();
  for (const bdcoord::v1::Network& network : loaded.spec.networks()) {
    if (!network.host_shim()) continue;
    auto subnet = net::Cidr::Parse(network.subnet());
    auto range = net::Cidr::Parse(network.shim_range());
    if (!subnet.ok() || !range.ok()) continue;  // validation reports it
    std::set<std::string> hosts;
    for (const auto& instance : placement->instances()) {
      if (instance.network() == network.name() && !instance.host().empty()) {
        hosts.insert(instance.host());
      }
    }
    if (hosts.empty()) continue;

    // Without a gateway, the subnet's first address is never a shim's (see the header).
    const net::AddressPool pool =
        NetworkPool(network, *subnet, *range, net::Ipv4(subnet->network().value() + 1));
    const absl::flat_hash_map<std::string, std::string>* before = nullptr;
    if (previous != nullptr) {
      if (auto it = previous->find(network.name()); it != previous->end()) before = &it->second;
    }
    std::vector<net::AddressRequest> requests;
    for (const std::string& host : hosts) {
      net::AddressRequest request;
      if (before != nullptr) {
        if (auto it = before->find(host); it != before->end()) {
          // Only inside today's range: shim_range may have moved since.
          if (auto ip = net::Ipv4::Parse(it->second); ip.ok() && range->Contains(*ip)) {
            request.previous = *ip;
          }
        }
      }
      requests.push_back(request);
    }
    auto allocated = net::AllocateAddresses(pool, requests);
    if (!allocated.ok()) {  // without pinned addresses, only when the range is too small
      diagnostics.push_back(
          {loaded.positions.Find(absl::StrCat("networks.", network.name(), ".shim_range")),
           absl::StrCat("shim_range ", network.shim_range(), " of network '", network.name(),
                        "' has ", net::UsableAddressCount(pool), " usable addresses for ",
                        hosts.size(), " hosts with instances on it (", absl::StrJoin(hosts, ", "),
                        ")"),
           "widen shim_range: each host with instances on the network takes one address"});
      continue;
    }
    size_t i = 0;
    for (const std::string& host : hosts) {
      bdcoord::v1::ShimAddress* shim = placement->add_shims();
      shim->set_network(network.name());
      shim->set_host(host);
      shim->set_address((*allocated)[i++].ToString());
    }
  }
  return diagnostics;
}

}  // namespace bdcoord::coordinator
