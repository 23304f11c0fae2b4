#ifndef BDCOORD_NET_LINK_MANAGER_NETLINK_H_
#define BDCOORD_NET_LINK_MANAGER_NETLINK_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/link_manager.h"

namespace bdcoord::net {

// LinkManager over rtnetlink (libnl-route-3); never runs `ip`. Needs CAP_NET_ADMIN. Every call
// opens its own netlink socket, so the object is safe to share between threads and acts on the
// network namespace of the calling thread. Errors carry libnl's message (nl_geterror).
class NetlinkLinkManager final : public LinkManager {
 public:
  NetlinkLinkManager() = default;

  absl::Status EnsureShim(const ShimConfig& config) override;
  absl::Status RemoveShim(const std::string& name) override;
  absl::StatusOr<bool> ShimExists(const std::string& name) override;
};

std::unique_ptr<LinkManager> NewNetlinkLinkManager();

}  // namespace bdcoord::net

#endif  // BDCOORD_NET_LINK_MANAGER_NETLINK_H_
