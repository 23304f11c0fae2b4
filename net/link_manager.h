#ifndef BDCOORD_NET_LINK_MANAGER_H_
#define BDCOORD_NET_LINK_MANAGER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace bdcoord::net {

// The host shim: on macvlan the host cannot reach its own containers (libnetwork#1915), because
// the parent interface never sees what its macvlan children send to each other. A sibling link on
// the same parent (macvlan in bridge mode, or ipvlan in L2 mode when the network is ipvlan), with
// an address of its own and routes to the containers through it, gives the host (and the agent's
// readiness probes) a way in. The agent ensures one per network with `host_shim: true` and
// removes it when the network goes.

enum class ShimDriver {
  kMacvlan,  // macvlan link, mode bridge
  kIpvlan,   // ipvlan link, mode l2
};

// "macvlan" or "ipvlan", as in cluster.yaml.
constexpr const char* ShimDriverName(ShimDriver driver) {
  return driver == ShimDriver::kIpvlan ? "ipvlan" : "macvlan";
}

struct ShimConfig {
  std::string name;    // link name, at most 15 characters, e.g. "bdc-lan"
  std::string parent;  // host interface the containers' network sits on, e.g. "eth0"
  ShimDriver driver = ShimDriver::kMacvlan;
  // The shim's own address in CIDR notation, e.g. "10.0.50.250/32". Use /32 (an address outside
  // the containers' ip_range): a shorter prefix makes the kernel add a connected route for the
  // whole subnet through the shim.
  std::string address;
  // IPv4 networks to route through the shim: the network's ip_range, or one /32 per container
  // ("10.0.50.10" means "10.0.50.10/32"). Host bits must be zero.
  std::vector<std::string> routes;
};

// Creates, reconciles and removes host shims. One real implementation
// (link_manager_netlink.h: rtnetlink through libnl-route-3); fakes live in tests/.
class LinkManager {
 public:
  virtual ~LinkManager() = default;

  // Idempotent. Creates the shim if it is missing; brings it up; makes its IPv4 addresses exactly
  // {config.address} and the routes through it exactly config.routes (routes the kernel adds for
  // the address itself are left alone). A link of that name with other settings (kind, parent,
  // mode) is FailedPrecondition naming each difference, and is left untouched. A missing parent
  // is NotFound naming it; a malformed config is InvalidArgument; a route to the same network
  // through another link is AlreadyExists naming the route.
  virtual absl::Status EnsureShim(const ShimConfig& config) = 0;

  // Deletes the shim (the kernel drops its addresses and routes with it). A no-op when there is
  // no link of that name. Refuses (FailedPrecondition) a link that is not a macvlan or ipvlan,
  // so a wrong name can never take down a real interface.
  virtual absl::Status RemoveShim(const std::string& name) = 0;

  // Whether a link of that name exists, whatever its kind.
  virtual absl::StatusOr<bool> ShimExists(const std::string& name) = 0;
};

}  // namespace bdcoord::net

#endif  // BDCOORD_NET_LINK_MANAGER_H_
