#include "net/link_manager_netlink.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/ipvlan.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "net/netlink_util.h"
#include "spdlog/spdlog.h"

namespace bdcoord::net {
namespace {

using netlink::AddrPtr;
using netlink::CachePtr;
using netlink::Connect;
using netlink::FindLink;
using netlink::LinkPtr;
using netlink::NlAddrPtr;
using netlink::NlStatus;
using netlink::RoutePtr;
using netlink::SockPtr;

std::shared_ptr<spdlog::logger> Logger() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto existing = spdlog::get("link_manager");
    return existing ? existing : spdlog::default_logger()->clone("link_manager");
  }();
  return logger;
}

// An IPv4 address or network: host-order address and prefix length.
struct Prefix {
  uint32_t address = 0;
  int length = 32;

  uint32_t Mask() const { return length == 0 ? 0 : ~uint32_t{0} << (32 - length); }
  bool operator==(const Prefix&) const = default;

  std::string ToString() const {
    in_addr in{};
    in.s_addr = htonl(address);
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &in, text, sizeof(text));
    return absl::StrCat(text, "/", length);
  }
};

// "a.b.c.d" or "a.b.c.d/n"; no prefix means /32.
std::optional<Prefix> ParsePrefix(absl::string_view text) {
  Prefix prefix;
  absl::string_view ip = text;
  if (const size_t slash = text.find('/'); slash != absl::string_view::npos) {
    ip = text.substr(0, slash);
    const absl::string_view length = text.substr(slash + 1);
    if (length.empty() || length.size() > 2 ||
        !std::all_of(length.begin(), length.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(length, &prefix.length) || prefix.length > 32) {
      return std::nullopt;
    }
  }
  const std::string ip_text(ip);
  in_addr in{};
  if (inet_pton(AF_INET, ip_text.c_str(), &in) != 1) return std::nullopt;
  prefix.address = ntohl(in.s_addr);
  return prefix;
}

std::optional<Prefix> FromNlAddr(nl_addr* addr) {
  if (addr == nullptr || nl_addr_get_family(addr) != AF_INET) return std::nullopt;
  Prefix prefix;
  prefix.length = static_cast<int>(nl_addr_get_prefixlen(addr));
  if (nl_addr_get_len(addr) == sizeof(in_addr)) {
    in_addr in{};
    std::memcpy(&in, nl_addr_get_binary_addr(addr), sizeof(in));
    prefix.address = ntohl(in.s_addr);
  }  // else: the default route, 0.0.0.0/0
  return prefix;
}

NlAddrPtr ToNlAddr(const Prefix& prefix) {
  in_addr in{};
  in.s_addr = htonl(prefix.address);
  NlAddrPtr addr(nl_addr_build(AF_INET, &in, sizeof(in)));
  if (addr) nl_addr_set_prefixlen(addr.get(), prefix.length);
  return addr;
}

absl::Status ValidateName(absl::string_view name, absl::string_view what) {
  if (name.empty() || name.size() >= IFNAMSIZ || name == "." || name == ".." ||
      std::any_of(name.begin(), name.end(),
                  [](char c) { return c == '/' || c == ':' || absl::ascii_isspace(c); })) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", name, "\" is not a valid interface name (1 to ", IFNAMSIZ - 1,
                     " characters, no '/', ':' or spaces)"));
  }
  return absl::OkStatus();
}

struct ParsedShim {
  Prefix address;
  std::vector<Prefix> routes;  // deduplicated, in the config's order
};

absl::StatusOr<ParsedShim> ParseConfig(const ShimConfig& config) {
  if (absl::Status status = ValidateName(config.name, "shim name"); !status.ok()) return status;
  if (absl::Status status = ValidateName(config.parent, "parent"); !status.ok()) return status;
  if (config.name == config.parent) {
    return absl::InvalidArgumentError(
        absl::StrCat("shim \"", config.name, "\" cannot be its own parent"));
  }
  ParsedShim parsed;
  std::optional<Prefix> address = ParsePrefix(config.address);
  if (!address) {
    return absl::InvalidArgumentError(absl::StrCat("address \"", config.address, "\" of shim \"",
                                                   config.name, "\" is not an IPv4 CIDR"));
  }
  parsed.address = *address;
  for (const std::string& text : config.routes) {
    std::optional<Prefix> route = ParsePrefix(text);
    if (!route) {
      return absl::InvalidArgumentError(
          absl::StrCat("route \"", text, "\" of shim \"", config.name, "\" is not an IPv4 CIDR"));
    }
    if ((route->address & ~route->Mask()) != 0) {
      Prefix network = *route;
      network.address &= network.Mask();
      return absl::InvalidArgumentError(absl::StrCat("route \"", text, "\" of shim \"", config.name,
                                                     "\" has host bits set (did you mean ",
                                                     network.ToString(), "?)"));
    }
    if (std::find(parsed.routes.begin(), parsed.routes.end(), *route) == parsed.routes.end()) {
      parsed.routes.push_back(*route);
    }
  }
  return parsed;
}

// For messages: the name of the link with that index, or "#<index>".
std::string LinkName(nl_sock* sock, int ifindex) {
  rtnl_link* link = nullptr;
  if (ifindex > 0 && rtnl_link_get_kernel(sock, ifindex, nullptr, &link) >= 0) {
    LinkPtr owned(link);
    if (const char* name = rtnl_link_get_name(link); name != nullptr) return name;
  }
  return absl::StrCat("#", ifindex);
}

std::string MacvlanModeName(uint32_t mode) {
  char text[32] = {};
  return rtnl_link_macvlan_mode2str(static_cast<int>(mode), text, sizeof(text));
}

std::string IpvlanModeName(uint16_t mode) {
  char text[32] = {};
  return rtnl_link_ipvlan_mode2str(mode, text, sizeof(text));
}

// What differs between an existing link and the shim the config asks for; empty if nothing.
std::vector<std::string> Differences(nl_sock* sock, rtnl_link* link, const ShimConfig& config,
                                     int parent_index) {
  std::vector<std::string> differences;
  const char* type = rtnl_link_get_type(link);
  const std::string kind = type != nullptr ? type : "";
  const std::string want_kind(ShimDriverName(config.driver));
  if (kind != want_kind) {
    differences.push_back(
        absl::StrCat("kind is \"", kind.empty() ? "none" : kind, "\", want \"", want_kind, "\""));
  } else if (config.driver == ShimDriver::kMacvlan) {
    const uint32_t mode = rtnl_link_macvlan_get_mode(link);
    if (mode != MACVLAN_MODE_BRIDGE) {
      differences.push_back(absl::StrCat("macvlan mode is \"", MacvlanModeName(mode), "\", want \"",
                                         MacvlanModeName(MACVLAN_MODE_BRIDGE), "\""));
    }
  } else {
    uint16_t mode = 0;
    if (rtnl_link_ipvlan_get_mode(link, &mode) >= 0 && mode != IPVLAN_MODE_L2) {
      differences.push_back(absl::StrCat("ipvlan mode is \"", IpvlanModeName(mode), "\", want \"",
                                         IpvlanModeName(IPVLAN_MODE_L2), "\""));
    }
  }
  int32_t netnsid = -1;
  const int link_index = rtnl_link_get_link(link);
  if (rtnl_link_get_link_netnsid(link, &netnsid) >= 0 && netnsid >= 0) {
    differences.push_back(
        absl::StrCat("parent is in another network namespace, want \"", config.parent, "\""));
  } else if (link_index == 0) {
    differences.push_back(absl::StrCat("it has no parent, want \"", config.parent, "\""));
  } else if (link_index != parent_index) {
    differences.push_back(absl::StrCat("parent is \"", LinkName(sock, link_index), "\", want \"",
                                       config.parent, "\""));
  }
  return differences;
}

absl::Status CreateShim(nl_sock* sock, const ShimConfig& config, int parent_index) {
  const bool macvlan = config.driver == ShimDriver::kMacvlan;
  LinkPtr link(macvlan ? rtnl_link_macvlan_alloc() : rtnl_link_ipvlan_alloc());
  if (!link) return absl::ResourceExhaustedError("netlink: cannot allocate a link");
  rtnl_link_set_name(link.get(), config.name.c_str());
  rtnl_link_set_link(link.get(), parent_index);
  const int mode_err = macvlan ? rtnl_link_macvlan_set_mode(link.get(), MACVLAN_MODE_BRIDGE)
                               : rtnl_link_ipvlan_set_mode(link.get(), IPVLAN_MODE_L2);
  if (mode_err < 0) return NlStatus(mode_err, "netlink: setting the shim's mode");
  rtnl_link_set_flags(link.get(), IFF_UP);
  const std::string what =
      absl::StrCat("netlink: creating shim \"", config.name, "\" (", ShimDriverName(config.driver),
                   " on \"", config.parent, "\")");
  if (const int err = rtnl_link_add(sock, link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) {
    if (err == -NLE_OPNOTSUPP) {
      // What the kernel answers for a link kind it does not know.
      return NlStatus(err,
                      absl::StrCat(what, " (does the kernel have ",
                                   macvlan ? "macvlan (CONFIG_MACVLAN)" : "ipvlan (CONFIG_IPVLAN)",
                                   " support?)"));
    }
    if (err == -NLE_BUSY) {
      // A device takes one kind of upper link: macvlan or ipvlan children, or bridge membership.
      return NlStatus(
          err, absl::StrCat(what, " (the parent may already carry ", macvlan ? "ipvlan" : "macvlan",
                            " links or be a bridge port)"));
    }
    return NlStatus(err, what);
  }
  Logger()->info("created shim \"{}\" ({} {} on \"{}\")", config.name,
                 ShimDriverName(config.driver), macvlan ? "bridge" : "l2", config.parent);
  return absl::OkStatus();
}

absl::Status BringUp(nl_sock* sock, rtnl_link* link, const std::string& name) {
  LinkPtr change(rtnl_link_alloc());
  if (!change) return absl::ResourceExhaustedError("netlink: cannot allocate a link");
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (const int err = rtnl_link_change(sock, link, change.get(), 0); err < 0) {
    return NlStatus(err, absl::StrCat("netlink: bringing shim \"", name, "\" up"));
  }
  Logger()->info("brought shim \"{}\" up", name);
  return absl::OkStatus();
}

// Makes the shim's IPv4 addresses exactly {want}.
absl::Status ReconcileAddress(nl_sock* sock, int ifindex, const std::string& name,
                              const Prefix& want) {
  nl_cache* raw = nullptr;
  if (const int err = rtnl_addr_alloc_cache(sock, &raw); err < 0) {
    return NlStatus(err, "netlink: listing addresses");
  }
  CachePtr cache(raw);
  bool present = false;
  std::vector<AddrPtr> extra;
  for (nl_object* object = nl_cache_get_first(cache.get()); object != nullptr;
       object = nl_cache_get_next(object)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(object);
    if (rtnl_addr_get_ifindex(addr) != ifindex || rtnl_addr_get_family(addr) != AF_INET) continue;
    std::optional<Prefix> local = FromNlAddr(rtnl_addr_get_local(addr));
    if (local && local->address == want.address && rtnl_addr_get_prefixlen(addr) == want.length) {
      present = true;
      continue;
    }
    nl_object_get(object);
    extra.emplace_back(addr);
  }
  for (const AddrPtr& addr : extra) {
    std::optional<Prefix> local = FromNlAddr(rtnl_addr_get_local(addr.get()));
    std::string text = "?";
    if (local) {
      local->length = rtnl_addr_get_prefixlen(addr.get());
      text = local->ToString();
    }
    if (const int err = rtnl_addr_delete(sock, addr.get(), 0); err < 0 && err != -NLE_NOADDR) {
      return NlStatus(
          err, absl::StrCat("netlink: removing address ", text, " from shim \"", name, "\""));
    }
    Logger()->info("removed address {} from shim \"{}\"", text, name);
  }
  if (present) return absl::OkStatus();
  AddrPtr addr(rtnl_addr_alloc());
  NlAddrPtr local = ToNlAddr(want);
  if (!addr || !local) return absl::ResourceExhaustedError("netlink: cannot allocate an address");
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  rtnl_addr_set_family(addr.get(), AF_INET);
  if (const int err = rtnl_addr_set_local(addr.get(), local.get()); err < 0) {
    return NlStatus(err, "netlink: setting the shim's address");
  }
  rtnl_addr_set_prefixlen(addr.get(), want.length);
  if (const int err = rtnl_addr_add(sock, addr.get(), 0); err < 0) {
    return NlStatus(
        err, absl::StrCat("netlink: adding address ", want.ToString(), " to shim \"", name, "\""));
  }
  Logger()->info("added address {} to shim \"{}\"", want.ToString(), name);
  return absl::OkStatus();
}

// Makes the routes through the shim (main table, IPv4 unicast, not added by the kernel for an
// address) exactly `want`.
absl::Status ReconcileRoutes(nl_sock* sock, int ifindex, const std::string& name,
                             const std::vector<Prefix>& want) {
  nl_cache* raw = nullptr;
  if (const int err = rtnl_route_alloc_cache(sock, AF_INET, 0, &raw); err < 0) {
    return NlStatus(err, "netlink: listing routes");
  }
  CachePtr cache(raw);
  std::vector<bool> present(want.size(), false);
  std::vector<std::pair<RoutePtr, Prefix>> extra;
  for (nl_object* object = nl_cache_get_first(cache.get()); object != nullptr;
       object = nl_cache_get_next(object)) {
    auto* route = reinterpret_cast<rtnl_route*>(object);
    if (rtnl_route_get_family(route) != AF_INET || rtnl_route_get_table(route) != RT_TABLE_MAIN ||
        rtnl_route_get_type(route) != RTN_UNICAST ||
        rtnl_route_get_protocol(route) == RTPROT_KERNEL || rtnl_route_get_nnexthops(route) != 1 ||
        rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(route, 0)) != ifindex) {
      continue;
    }
    std::optional<Prefix> dst = FromNlAddr(rtnl_route_get_dst(route));
    if (!dst) continue;
    const auto it = std::find(want.begin(), want.end(), *dst);
    if (it != want.end() && !present[it - want.begin()]) {
      present[it - want.begin()] = true;
      continue;
    }
    nl_object_get(object);
    extra.emplace_back(RoutePtr(route), *dst);
  }
  for (const auto& [route, dst] : extra) {
    if (const int err = rtnl_route_delete(sock, route.get(), 0);
        err < 0 && err != -NLE_OBJ_NOTFOUND) {
      return NlStatus(err, absl::StrCat("netlink: removing route to ", dst.ToString(),
                                        " through shim \"", name, "\""));
    }
    Logger()->info("removed route to {} through shim \"{}\"", dst.ToString(), name);
  }
  for (size_t i = 0; i < want.size(); ++i) {
    if (present[i]) continue;
    RoutePtr route(rtnl_route_alloc());
    NlAddrPtr dst = ToNlAddr(want[i]);
    rtnl_nexthop* nexthop = rtnl_route_nh_alloc();
    if (!route || !dst || nexthop == nullptr) {
      if (nexthop != nullptr) rtnl_route_nh_free(nexthop);
      return absl::ResourceExhaustedError("netlink: cannot allocate a route");
    }
    rtnl_route_set_family(route.get(), AF_INET);
    rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
    rtnl_route_set_protocol(route.get(), RTPROT_STATIC);
    rtnl_route_set_scope(route.get(), RT_SCOPE_LINK);
    rtnl_route_set_type(route.get(), RTN_UNICAST);
    if (const int err = rtnl_route_set_dst(route.get(), dst.get()); err < 0) {
      rtnl_route_nh_free(nexthop);
      return NlStatus(err, "netlink: setting a route's destination");
    }
    rtnl_route_nh_set_ifindex(nexthop, ifindex);
    rtnl_route_add_nexthop(route.get(), nexthop);  // the route owns it from here
    if (const int err = rtnl_route_add(sock, route.get(), NLM_F_EXCL); err < 0) {
      if (err == -NLE_EXIST) {
        return absl::AlreadyExistsError(
            absl::StrCat("route to ", want[i].ToString(), " through shim \"", name,
                         "\": a route to the same network through another link exists (route the "
                         "containers' addresses as /32s instead): ",
                         nl_geterror(err)));
      }
      return NlStatus(err, absl::StrCat("netlink: adding route to ", want[i].ToString(),
                                        " through shim \"", name, "\""));
    }
    Logger()->info("added route to {} through shim \"{}\"", want[i].ToString(), name);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status NetlinkLinkManager::EnsureShim(const ShimConfig& config) {
  absl::StatusOr<ParsedShim> parsed = ParseConfig(config);
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<SockPtr> sock = Connect();
  if (!sock.ok()) return sock.status();
  nl_sock* s = sock->get();

  absl::StatusOr<LinkPtr> parent = FindLink(s, config.parent);
  if (!parent.ok()) return parent.status();
  if (*parent == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("parent \"", config.parent, "\" of shim \"", config.name, "\" not found"));
  }
  const int parent_index = rtnl_link_get_ifindex(parent->get());
  if (!(rtnl_link_get_flags(parent->get()) & IFF_UP)) {
    Logger()->warn(
        "parent \"{}\" of shim \"{}\" is down: containers are unreachable until it is up",
        config.parent, config.name);
  }

  absl::StatusOr<LinkPtr> link = FindLink(s, config.name);
  if (!link.ok()) return link.status();
  if (*link != nullptr) {
    std::vector<std::string> differences = Differences(s, link->get(), config, parent_index);
    if (!differences.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("link \"", config.name,
                       "\" exists with other settings: ", absl::StrJoin(differences, "; ")));
    }
    if (!(rtnl_link_get_flags(link->get()) & IFF_UP)) {
      if (absl::Status status = BringUp(s, link->get(), config.name); !status.ok()) return status;
    }
  } else {
    if (absl::Status status = CreateShim(s, config, parent_index); !status.ok()) return status;
    link = FindLink(s, config.name);
    if (!link.ok()) return link.status();
    if (*link == nullptr) {
      return absl::InternalError(
          absl::StrCat("shim \"", config.name, "\" vanished right after it was created"));
    }
  }
  const int ifindex = rtnl_link_get_ifindex(link->get());
  if (absl::Status status = ReconcileAddress(s, ifindex, config.name, parsed->address);
      !status.ok()) {
    return status;
  }
  return ReconcileRoutes(s, ifindex, config.name, parsed->routes);
}

absl::Status NetlinkLinkManager::RemoveShim(const std::string& name) {
  if (absl::Status status = ValidateName(name, "shim name"); !status.ok()) return status;
  absl::StatusOr<SockPtr> sock = Connect();
  if (!sock.ok()) return sock.status();
  absl::StatusOr<LinkPtr> link = FindLink(sock->get(), name);
  if (!link.ok()) return link.status();
  if (*link == nullptr) {
    Logger()->debug("shim \"{}\" is already gone", name);
    return absl::OkStatus();
  }
  const char* type = rtnl_link_get_type(link->get());
  const std::string kind = type != nullptr ? type : "";
  if (kind != ShimDriverName(ShimDriver::kMacvlan) && kind != ShimDriverName(ShimDriver::kIpvlan)) {
    return absl::FailedPreconditionError(
        absl::StrCat("link \"", name, "\" is ", kind.empty() ? "of no kind" : "a " + kind,
                     ", not a shim (macvlan or ipvlan): not removing it"));
  }
  if (const int err = rtnl_link_delete(sock->get(), link->get());
      err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV) {
    return NlStatus(err, absl::StrCat("netlink: removing shim \"", name, "\""));
  }
  Logger()->info("removed shim \"{}\"", name);
  return absl::OkStatus();
}

absl::StatusOr<bool> NetlinkLinkManager::ShimExists(const std::string& name) {
  if (absl::Status status = ValidateName(name, "shim name"); !status.ok()) return status;
  absl::StatusOr<SockPtr> sock = Connect();
  if (!sock.ok()) return sock.status();
  absl::StatusOr<LinkPtr> link = FindLink(sock->get(), name);
  if (!link.ok()) return link.status();
  return *link != nullptr;
}

std::unique_ptr<LinkManager> NewNetlinkLinkManager() {
  return std::make_unique<NetlinkLinkManager>();
}

}  // namespace bdcoord::net
