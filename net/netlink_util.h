#ifndef BDCOORD_NET_NETLINK_UTIL_H_
#define BDCOORD_NET_NETLINK_UTIL_H_

// The libnl helpers of the host shim (link_manager_netlink.cc), shared with its tests.

#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace bdcoord::net::netlink {

// Owning pointers for libnl objects (all reference counted: the deleter drops our reference).
struct SockDeleter {
  void operator()(nl_sock* sock) const { nl_socket_free(sock); }
};
struct CacheDeleter {
  void operator()(nl_cache* cache) const { nl_cache_free(cache); }
};
struct LinkDeleter {
  void operator()(rtnl_link* link) const { rtnl_link_put(link); }
};
struct AddrDeleter {
  void operator()(rtnl_addr* addr) const { rtnl_addr_put(addr); }
};
struct RouteDeleter {
  void operator()(rtnl_route* route) const { rtnl_route_put(route); }
};
struct NlAddrDeleter {
  void operator()(nl_addr* addr) const { nl_addr_put(addr); }
};
using SockPtr = std::unique_ptr<nl_sock, SockDeleter>;
using CachePtr = std::unique_ptr<nl_cache, CacheDeleter>;
using LinkPtr = std::unique_ptr<rtnl_link, LinkDeleter>;
using AddrPtr = std::unique_ptr<rtnl_addr, AddrDeleter>;
using RoutePtr = std::unique_ptr<rtnl_route, RouteDeleter>;
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrDeleter>;

// A libnl error code (negative NLE_*) as a Status: "<what>: <nl_geterror>".
absl::Status NlStatus(int err, absl::string_view what);

// A route socket bound to the calling thread's network namespace (it stays bound to it).
absl::StatusOr<SockPtr> Connect();

// The link of that name, or null when there is none.
absl::StatusOr<LinkPtr> FindLink(nl_sock* sock, const std::string& name);

}  // namespace bdcoord::net::netlink

#endif  // BDCOORD_NET_NETLINK_UTIL_H_
