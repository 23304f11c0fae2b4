// The host shim against the real kernel. Every test runs in a network namespace of its own
// (unshare(CLONE_NEWNET) in SetUp, back to the original one in TearDown), so the machine's own
// links, addresses and routes are never touched; the namespaces hold no process and are only
// referenced by file descriptors, so the kernel destroys them, and every link in them, when the
// test closes those. Needs root; skipped without the privilege to create namespaces.
//
// Topology: the "parent" is one end of a veth pair (lan0) whose other end (wire0) sits, up, in a
// "wire" namespace of its own: that gives lan0 a carrier, and nothing on the far side answers
// anything. A "container" is a macvlan/ipvlan link on lan0 moved into a "container" namespace.

#include "net/link_manager.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/ipvlan.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/link_manager_netlink.h"
#include "net/netlink_util.h"

namespace bdcoord::net {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr std::chrono::seconds kDeadline{10};

// --- small RAII helpers ----------------------------------------------------------------------

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

using netlink::CachePtr;
using netlink::Connect;
using netlink::LinkPtr;
using netlink::NlAddrPtr;
using netlink::NlStatus;
using netlink::SockPtr;

absl::Status ErrnoError(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// --- network namespaces ----------------------------------------------------------------------

Fd CurrentNetns() { return Fd(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)); }

ino_t NetnsInode(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// Runs fn with the calling thread in the namespace `netns`, then moves it back, whatever fn did.
absl::Status InNetns(int netns, const std::function<absl::Status()>& fn) {
  Fd here = CurrentNetns();
  if (!here.valid()) return ErrnoError("opening the current netns");
  if (setns(netns, CLONE_NEWNET) != 0) return ErrnoError("entering a netns");
  absl::Status status = fn();
  if (setns(here.get(), CLONE_NEWNET) != 0) {
    // Carrying on in the wrong namespace could touch the machine's network: stop here.
    std::perror("returning to the test netns");
    std::abort();
  }
  return status;
}

// A new, empty network namespace that no process is in: it lives as long as the returned fd.
absl::StatusOr<Fd> NewDetachedNetns() {
  Fd here = CurrentNetns();
  if (!here.valid()) return ErrnoError("opening the current netns");
  if (unshare(CLONE_NEWNET) != 0) return ErrnoError("unshare(CLONE_NEWNET)");
  Fd created = CurrentNetns();
  if (setns(here.get(), CLONE_NEWNET) != 0) {
    std::perror("returning to the test netns");
    std::abort();
  }
  if (!created.valid()) return ErrnoError("opening the new netns");
  return created;
}

// --- libnl helpers (the test's own view of the kernel) ---------------------------------------

absl::StatusOr<SockPtr> ConnectIn(int netns) {
  absl::StatusOr<SockPtr> sock;
  absl::Status status = InNetns(netns, [&] {
    sock = Connect();
    return sock.status();
  });
  if (!status.ok()) return status;
  return sock;
}

LinkPtr GetLink(nl_sock* sock, const std::string& name) {
  absl::StatusOr<LinkPtr> link = netlink::FindLink(sock, name);
  return link.ok() ? *std::move(link) : nullptr;
}

absl::Status SetUpLink(nl_sock* sock, const std::string& name) {
  LinkPtr link = GetLink(sock, name);
  if (!link) return absl::NotFoundError(name);
  LinkPtr change(rtnl_link_alloc());
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (int err = rtnl_link_change(sock, link.get(), change.get(), 0); err < 0) {
    return NlStatus(err, "bringing " + name + " up");
  }
  return absl::OkStatus();
}

// A veth pair: `name` here, up; `peer` in the namespace `peer_netns`, up.
absl::Status AddVethPair(nl_sock* sock, const std::string& name, const std::string& peer,
                         int peer_netns) {
  rtnl_link* veth = rtnl_link_veth_alloc();
  if (veth == nullptr) return absl::ResourceExhaustedError("rtnl_link_veth_alloc");
  rtnl_link_set_name(veth, name.c_str());
  rtnl_link_set_flags(veth, IFF_UP);
  rtnl_link* peer_link = rtnl_link_veth_get_peer(veth);
  rtnl_link_set_name(peer_link, peer.c_str());
  rtnl_link_set_ns_fd(peer_link, peer_netns);
  const int err = rtnl_link_add(sock, veth, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put(peer_link);  // libnl 3.7: get_peer takes a reference
  rtnl_link_veth_release(veth);
  if (err < 0) return NlStatus(err, "adding veth " + name);
  return InNetns(peer_netns, [&]() -> absl::Status {
    absl::StatusOr<SockPtr> there = Connect();
    if (!there.ok()) return there.status();
    return SetUpLink(there->get(), peer);
  });
}

// A macvlan (mode `mode`) or ipvlan (l2) link on `parent`; created in `netns` when it is >= 0.
absl::Status AddSubLink(nl_sock* sock, ShimDriver driver, const std::string& name,
                        const std::string& parent, uint32_t macvlan_mode = MACVLAN_MODE_BRIDGE,
                        int netns = -1) {
  LinkPtr parent_link = GetLink(sock, parent);
  if (!parent_link) return absl::NotFoundError(parent);
  LinkPtr link(driver == ShimDriver::kMacvlan ? rtnl_link_macvlan_alloc()
                                              : rtnl_link_ipvlan_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  rtnl_link_set_link(link.get(), rtnl_link_get_ifindex(parent_link.get()));
  if (driver == ShimDriver::kMacvlan) {
    rtnl_link_macvlan_set_mode(link.get(), macvlan_mode);
  } else {
    rtnl_link_ipvlan_set_mode(link.get(), IPVLAN_MODE_L2);
  }
  if (netns >= 0) rtnl_link_set_ns_fd(link.get(), netns);
  if (int err = rtnl_link_add(sock, link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) {
    return NlStatus(err, "adding " + name);
  }
  return absl::OkStatus();
}

NlAddrPtr ParseAddr(const std::string& cidr) {
  nl_addr* addr = nullptr;
  if (nl_addr_parse(cidr.c_str(), AF_INET, &addr) < 0) return nullptr;
  return NlAddrPtr(addr);
}

absl::Status AddAddress(nl_sock* sock, const std::string& link_name, const std::string& cidr) {
  LinkPtr link = GetLink(sock, link_name);
  if (!link) return absl::NotFoundError(link_name);
  NlAddrPtr local = ParseAddr(cidr);
  if (!local) return absl::InvalidArgumentError(cidr);
  rtnl_addr* addr = rtnl_addr_alloc();
  rtnl_addr_set_ifindex(addr, rtnl_link_get_ifindex(link.get()));
  rtnl_addr_set_family(addr, AF_INET);
  rtnl_addr_set_local(addr, local.get());
  const int err = rtnl_addr_add(sock, addr, 0);
  rtnl_addr_put(addr);
  if (err < 0) return NlStatus(err, "adding " + cidr + " to " + link_name);
  return absl::OkStatus();
}

absl::Status AddRoute(nl_sock* sock, const std::string& link_name, const std::string& cidr) {
  LinkPtr link = GetLink(sock, link_name);
  if (!link) return absl::NotFoundError(link_name);
  NlAddrPtr dst = ParseAddr(cidr);
  if (!dst) return absl::InvalidArgumentError(cidr);
  rtnl_route* route = rtnl_route_alloc();
  rtnl_route_set_family(route, AF_INET);
  rtnl_route_set_table(route, RT_TABLE_MAIN);
  rtnl_route_set_scope(route, RT_SCOPE_LINK);
  rtnl_route_set_dst(route, dst.get());
  rtnl_nexthop* nexthop = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nexthop, rtnl_link_get_ifindex(link.get()));
  rtnl_route_add_nexthop(route, nexthop);
  const int err = rtnl_route_add(sock, route, NLM_F_EXCL);
  rtnl_route_put(route);
  if (err < 0) return NlStatus(err, "adding route " + cidr + " via " + link_name);
  return absl::OkStatus();
}

std::string AddrToString(nl_addr* addr) {
  char text[64] = {};
  nl_addr2str(addr, text, sizeof(text));
  return text;
}

// The IPv4 addresses on a link, as "a.b.c.d/n".
std::vector<std::string> Ipv4Addresses(nl_sock* sock, int ifindex) {
  std::vector<std::string> result;
  nl_cache* raw = nullptr;
  if (rtnl_addr_alloc_cache(sock, &raw) < 0) return {"<cannot list addresses>"};
  CachePtr cache(raw);
  for (nl_object* o = nl_cache_get_first(raw); o != nullptr; o = nl_cache_get_next(o)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(addr) != ifindex || rtnl_addr_get_family(addr) != AF_INET) continue;
    nl_addr* local = rtnl_addr_get_local(addr);
    char text[64] = {};
    nl_addr2str(local, text, sizeof(text));
    std::string s = text;
    if (s.find('/') == std::string::npos) s += "/" + std::to_string(rtnl_addr_get_prefixlen(addr));
    result.push_back(s);
  }
  return result;
}

struct RouteInfo {
  std::string dst;
  int scope = 0;
  int protocol = 0;
};

// IPv4 main-table routes whose only nexthop is `ifindex`; with_kernel: also the ones the kernel
// added for an address.
std::vector<RouteInfo> RoutesVia(nl_sock* sock, int ifindex, bool with_kernel = false) {
  std::vector<RouteInfo> result;
  nl_cache* raw = nullptr;
  if (rtnl_route_alloc_cache(sock, AF_INET, 0, &raw) < 0) return {{"<cannot list routes>"}};
  CachePtr cache(raw);
  for (nl_object* o = nl_cache_get_first(raw); o != nullptr; o = nl_cache_get_next(o)) {
    auto* route = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_table(route) != RT_TABLE_MAIN || rtnl_route_get_nnexthops(route) != 1 ||
        rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(route, 0)) != ifindex) {
      continue;
    }
    if (!with_kernel && rtnl_route_get_protocol(route) == RTPROT_KERNEL) continue;
    RouteInfo info;
    info.dst = AddrToString(rtnl_route_get_dst(route));
    if (info.dst.find('/') == std::string::npos) info.dst += "/32";
    info.scope = rtnl_route_get_scope(route);
    info.protocol = rtnl_route_get_protocol(route);
    result.push_back(info);
  }
  return result;
}

std::vector<std::string> Dsts(const std::vector<RouteInfo>& routes) {
  std::vector<std::string> result;
  for (const RouteInfo& route : routes) result.push_back(route.dst);
  return result;
}

// Every IPv4 main-table route to `dst`, through whatever link.
int CountRoutesTo(nl_sock* sock, const std::string& dst) {
  nl_cache* raw = nullptr;
  if (rtnl_route_alloc_cache(sock, AF_INET, 0, &raw) < 0) return -1;
  CachePtr cache(raw);
  int count = 0;
  for (nl_object* o = nl_cache_get_first(raw); o != nullptr; o = nl_cache_get_next(o)) {
    auto* route = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_table(route) != RT_TABLE_MAIN) continue;
    std::string text = AddrToString(rtnl_route_get_dst(route));
    if (text.find('/') == std::string::npos) text += "/32";
    if (text == dst) ++count;
  }
  return count;
}

std::string MacvlanMode(rtnl_link* link) {
  char text[32] = {};
  return rtnl_link_macvlan_mode2str(static_cast<int>(rtnl_link_macvlan_get_mode(link)), text,
                                    sizeof(text));
}

bool WriteFile(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
  out.close();
  return static_cast<bool>(out);
}

// --- TCP through the namespaces --------------------------------------------------------------

sockaddr_in SockAddr(const std::string& ip, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  return addr;
}

int MillisLeft(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// A TCP listener on ip:0, created in (and so bound to) the namespace `netns`.
absl::StatusOr<std::pair<Fd, uint16_t>> ListenIn(int netns, const std::string& ip) {
  Fd fd;
  absl::Status status = InNetns(netns, [&]() -> absl::Status {
    fd = Fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    return fd.valid() ? absl::OkStatus() : ErrnoError("socket");
  });
  if (!status.ok()) return status;
  sockaddr_in addr = SockAddr(ip, 0);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoError("bind " + ip);
  }
  if (listen(fd.get(), 8) != 0) return ErrnoError("listen");
  socklen_t len = sizeof(addr);
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return ErrnoError("getsockname");
  }
  return std::make_pair(std::move(fd), ntohs(addr.sin_port));
}

// Connects from the current namespace to ip:port and accepts on `listener`, within the deadline.
// Ok: the peer address the listener saw. Error: why not (the connect's error, or the deadline).
absl::StatusOr<std::string> ConnectAndAccept(int listener, const std::string& ip, uint16_t port) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoError("socket");
  sockaddr_in addr = SockAddr(ip, port);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 &&
      errno != EINPROGRESS) {
    return absl::UnavailableError(absl::StrCat("connect: ", std::strerror(errno)));
  }
  bool connected = false;
  Fd accepted;
  std::string peer_ip;
  while (!connected || !accepted.valid()) {
    pollfd fds[2] = {{fd.get(), POLLOUT, 0}, {listener, POLLIN, 0}};
    const int left = MillisLeft(deadline);
    if (left == 0) return absl::DeadlineExceededError("no connection within the deadline");
    if (poll(fds, 2, left) < 0 && errno != EINTR) return ErrnoError("poll");
    if (!connected && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
      int error = 0;
      socklen_t len = sizeof(error);
      getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len);
      if (error != 0) {
        return absl::UnavailableError(absl::StrCat("connect: ", std::strerror(error)));
      }
      connected = true;
    }
    if (!accepted.valid() && (fds[1].revents & POLLIN)) {
      sockaddr_in peer{};
      socklen_t len = sizeof(peer);
      accepted = Fd(accept4(listener, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
      if (accepted.valid()) {
        char text[INET_ADDRSTRLEN] = {};
        inet_ntop(AF_INET, &peer.sin_addr, text, sizeof(text));
        peer_ip = text;
      }
    }
  }
  return peer_ip;
}

// --- the fixture -----------------------------------------------------------------------------

class LinkManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    original_netns_ = CurrentNetns();
    ASSERT_TRUE(original_netns_.valid()) << std::strerror(errno);
    if (unshare(CLONE_NEWNET) != 0) {
      if (errno == EPERM) GTEST_SKIP() << "needs root to create network namespaces";
      FAIL() << "unshare(CLONE_NEWNET): " << std::strerror(errno);
    }
    in_test_netns_ = true;
    Fd test_netns = CurrentNetns();
    ASSERT_NE(NetnsInode(test_netns.get()), NetnsInode(original_netns_.get()));

    absl::StatusOr<SockPtr> sock = Connect();
    ASSERT_TRUE(sock.ok()) << sock.status();
    sock_ = std::move(*sock);
    // As on any host: without lo, the kernel cannot deliver to its own addresses (ICMP errors
    // about our own packets included).
    ASSERT_TRUE(SetUpLink(sock_.get(), "lo").ok());
    absl::StatusOr<Fd> wire = NewDetachedNetns();
    ASSERT_TRUE(wire.ok()) << wire.status();
    wire_netns_ = std::move(*wire);
    ASSERT_TRUE(AddParent("lan0", "wire0").ok());
  }

  void TearDown() override {
    // Drop every reference to the test's namespaces (sockets included), then go home: the kernel
    // then destroys them with every link in them.
    sock_.reset();
    wire_netns_.Reset();
    container_netns_.Reset();
    if (in_test_netns_) {
      if (setns(original_netns_.get(), CLONE_NEWNET) != 0) {
        std::perror("returning to the original netns");
        std::abort();
      }
      Fd now = CurrentNetns();
      EXPECT_EQ(NetnsInode(now.get()), NetnsInode(original_netns_.get()));
    }
  }

  absl::Status AddParent(const std::string& name, const std::string& wire_end) {
    absl::Status status = AddVethPair(sock_.get(), name, wire_end, wire_netns_.get());
    EXPECT_TRUE(status.ok()) << status;
    return status;
  }

  int IfIndex(const std::string& name) {
    LinkPtr link = GetLink(sock_.get(), name);
    return link ? rtnl_link_get_ifindex(link.get()) : 0;
  }

  // Whether the kernel knows ipvlan links at all (CONFIG_IPVLAN): not every kernel does.
  bool KernelHasIpvlan() {
    LinkPtr parent = GetLink(sock_.get(), "lan0");
    LinkPtr probe(rtnl_link_ipvlan_alloc());
    rtnl_link_set_name(probe.get(), "ipvl-probe");
    rtnl_link_set_link(probe.get(), rtnl_link_get_ifindex(parent.get()));
    const int err = rtnl_link_add(sock_.get(), probe.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err == -NLE_OPNOTSUPP) return false;
    EXPECT_GE(err, 0) << "probing for ipvlan: " << nl_geterror(err);
    if (err >= 0) {
      EXPECT_GE(rtnl_link_delete(sock_.get(), probe.get()), 0);
    }
    return err >= 0;
  }

  static ShimConfig Config(ShimDriver driver = ShimDriver::kMacvlan) {
    ShimConfig config;
    config.name = "bdc-lan";
    config.parent = "lan0";
    config.driver = driver;
    config.address = "10.0.50.120/32";
    config.routes = {"10.0.50.128/25", "10.0.50.7/32"};
    return config;
  }

  Fd original_netns_;
  bool in_test_netns_ = false;
  SockPtr sock_;
  Fd wire_netns_;
  Fd container_netns_;
  NetlinkLinkManager manager_;
};

TEST_F(LinkManagerTest, CreatesMacvlanShimInBridgeModeWithAddressAndRoutes) {
  absl::Status status = manager_.EnsureShim(Config());
  ASSERT_TRUE(status.ok()) << status;

  LinkPtr shim = GetLink(sock_.get(), "bdc-lan");
  ASSERT_TRUE(shim);
  ASSERT_NE(rtnl_link_get_type(shim.get()), nullptr);
  EXPECT_STREQ(rtnl_link_get_type(shim.get()), "macvlan");
  EXPECT_EQ(rtnl_link_macvlan_get_mode(shim.get()), uint32_t{MACVLAN_MODE_BRIDGE})
      << MacvlanMode(shim.get());
  EXPECT_EQ(rtnl_link_get_link(shim.get()), IfIndex("lan0"));
  EXPECT_TRUE(rtnl_link_get_flags(shim.get()) & IFF_UP);

  const int ifindex = rtnl_link_get_ifindex(shim.get());
  EXPECT_THAT(Ipv4Addresses(sock_.get(), ifindex), ElementsAre("10.0.50.120/32"));
  std::vector<RouteInfo> routes = RoutesVia(sock_.get(), ifindex, /*with_kernel=*/true);
  EXPECT_THAT(Dsts(routes), UnorderedElementsAre("10.0.50.128/25", "10.0.50.7/32"));
  for (const RouteInfo& route : routes) {
    EXPECT_EQ(route.scope, RT_SCOPE_LINK) << route.dst;
    EXPECT_EQ(route.protocol, RTPROT_STATIC) << route.dst;
  }

  absl::StatusOr<bool> exists = manager_.ShimExists("bdc-lan");
  ASSERT_TRUE(exists.ok()) << exists.status();
  EXPECT_TRUE(*exists);
  exists = manager_.ShimExists("bdc-other");
  ASSERT_TRUE(exists.ok()) << exists.status();
  EXPECT_FALSE(*exists);
}

TEST_F(LinkManagerTest, EnsureShimTwiceIsIdempotent) {
  ASSERT_TRUE(manager_.EnsureShim(Config()).ok());
  const int ifindex = IfIndex("bdc-lan");
  ASSERT_NE(ifindex, 0);

  absl::Status status = manager_.EnsureShim(Config());
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(IfIndex("bdc-lan"), ifindex) << "the shim was recreated";
  EXPECT_THAT(Ipv4Addresses(sock_.get(), ifindex), ElementsAre("10.0.50.120/32"));
  EXPECT_THAT(Dsts(RoutesVia(sock_.get(), ifindex, /*with_kernel=*/true)),
              UnorderedElementsAre("10.0.50.128/25", "10.0.50.7/32"));
}

TEST_F(LinkManagerTest, ReconcilesAddressesAndRoutesOfAnExistingShim) {
  ASSERT_TRUE(manager_.EnsureShim(Config()).ok());
  const int ifindex = IfIndex("bdc-lan");
  // Drift: a stray address and a stray route on the shim.
  ASSERT_TRUE(AddAddress(sock_.get(), "bdc-lan", "10.0.50.99/32").ok());
  ASSERT_TRUE(AddRoute(sock_.get(), "bdc-lan", "10.0.60.0/24").ok());
  ASSERT_THAT(Dsts(RoutesVia(sock_.get(), ifindex)),
              UnorderedElementsAre("10.0.50.128/25", "10.0.50.7/32", "10.0.60.0/24"));

  // And a new desired state: another shim address, one /32 route per container (a bare address
  // is a /32, duplicates collapse).
  ShimConfig config = Config();
  config.address = "10.0.50.121/32";
  config.routes = {"10.0.50.10/32", "10.0.50.11", "10.0.50.10/32"};
  absl::Status status = manager_.EnsureShim(config);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(IfIndex("bdc-lan"), ifindex) << "the shim was recreated";
  EXPECT_THAT(Ipv4Addresses(sock_.get(), ifindex), ElementsAre("10.0.50.121/32"));
  EXPECT_THAT(Dsts(RoutesVia(sock_.get(), ifindex, /*with_kernel=*/true)),
              UnorderedElementsAre("10.0.50.10/32", "10.0.50.11/32"));

  // No routes at all is a valid desired state too.
  config.routes.clear();
  status = manager_.EnsureShim(config);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(RoutesVia(sock_.get(), ifindex, /*with_kernel=*/true), IsEmpty());
}

TEST_F(LinkManagerTest, BringsADownShimBackUpWithItsRoutes) {
  ASSERT_TRUE(manager_.EnsureShim(Config()).ok());
  const int ifindex = IfIndex("bdc-lan");
  {
    LinkPtr shim = GetLink(sock_.get(), "bdc-lan");
    LinkPtr change(rtnl_link_alloc());
    rtnl_link_unset_flags(change.get(), IFF_UP);
    ASSERT_GE(rtnl_link_change(sock_.get(), shim.get(), change.get(), 0), 0);
  }
  ASSERT_FALSE(rtnl_link_get_flags(GetLink(sock_.get(), "bdc-lan").get()) & IFF_UP);
  // The kernel drops IPv4 routes through a link that goes down.
  ASSERT_THAT(RoutesVia(sock_.get(), ifindex), IsEmpty());

  absl::Status status = manager_.EnsureShim(Config());
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(IfIndex("bdc-lan"), ifindex);
  EXPECT_TRUE(rtnl_link_get_flags(GetLink(sock_.get(), "bdc-lan").get()) & IFF_UP);
  EXPECT_THAT(Ipv4Addresses(sock_.get(), ifindex), ElementsAre("10.0.50.120/32"));
  EXPECT_THAT(Dsts(RoutesVia(sock_.get(), ifindex)),
              UnorderedElementsAre("10.0.50.128/25", "10.0.50.7/32"));
}

TEST_F(LinkManagerTest, OtherSettingsAreAnErrorNamingTheDifference) {
  ASSERT_TRUE(AddParent("lan1", "wire1").ok());
  ASSERT_TRUE(manager_.EnsureShim(Config()).ok());
  const int ifindex = IfIndex("bdc-lan");

  ShimConfig other_parent = Config();
  other_parent.parent = "lan1";
  absl::Status status = manager_.EnsureShim(other_parent);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr("\"bdc-lan\""));
  EXPECT_THAT(status.message(), HasSubstr("parent is \"lan0\", want \"lan1\""));

  status = manager_.EnsureShim(Config(ShimDriver::kIpvlan));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr("kind is \"macvlan\", want \"ipvlan\""));

  // Both at once: both named.
  other_parent.driver = ShimDriver::kIpvlan;
  status = manager_.EnsureShim(other_parent);
  EXPECT_THAT(status.message(), HasSubstr("kind is \"macvlan\", want \"ipvlan\""));
  EXPECT_THAT(status.message(), HasSubstr("parent is \"lan0\", want \"lan1\""));

  // The mismatching link was left alone.
  EXPECT_EQ(IfIndex("bdc-lan"), ifindex);
  EXPECT_THAT(Ipv4Addresses(sock_.get(), ifindex), ElementsAre("10.0.50.120/32"));

  // A macvlan in another mode.
  ASSERT_TRUE(
      AddSubLink(sock_.get(), ShimDriver::kMacvlan, "bdc-priv", "lan1", MACVLAN_MODE_PRIVATE).ok());
  ShimConfig private_mode = other_parent;
  private_mode.name = "bdc-priv";
  private_mode.driver = ShimDriver::kMacvlan;
  status = manager_.EnsureShim(private_mode);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr("macvlan mode is \"private\", want \"bridge\""));

  // A name that belongs to something else entirely: never touched.
  ShimConfig clash = Config();
  clash.name = "lan1";
  status = manager_.EnsureShim(clash);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr("kind is \"veth\", want \"macvlan\""));
  EXPECT_THAT(Ipv4Addresses(sock_.get(), IfIndex("lan1")), IsEmpty());
}

TEST_F(LinkManagerTest, MissingParentIsNotFoundNamingIt) {
  ShimConfig config = Config();
  config.parent = "nosuch0";
  absl::Status status = manager_.EnsureShim(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_THAT(status.message(), HasSubstr("\"nosuch0\""));
  EXPECT_FALSE(GetLink(sock_.get(), "bdc-lan"));
}

TEST_F(LinkManagerTest, InvalidConfigIsInvalidArgument) {
  ShimConfig config = Config();
  config.name = "bdc-sixteen-char";  // 16: one more than IFNAMSIZ - 1
  EXPECT_EQ(manager_.EnsureShim(config).code(), absl::StatusCode::kInvalidArgument);

  config = Config();
  config.address = "10.0.50.300/32";
  absl::Status status = manager_.EnsureShim(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("10.0.50.300/32"));

  config = Config();
  config.routes = {"10.0.50.5/24"};
  status = manager_.EnsureShim(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("10.0.50.0/24"));

  EXPECT_FALSE(GetLink(sock_.get(), "bdc-lan"));
}

TEST_F(LinkManagerTest, RouteThroughAnotherLinkIsAlreadyExistsNamingIt) {
  // The host's own address on the parent: the kernel routes the whole subnet through lan0.
  ASSERT_TRUE(AddAddress(sock_.get(), "lan0", "10.0.50.1/24").ok());
  ShimConfig config = Config();
  config.routes = {"10.0.50.0/24"};
  absl::Status status = manager_.EnsureShim(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_THAT(status.message(), HasSubstr("10.0.50.0/24"));
  EXPECT_EQ(CountRoutesTo(sock_.get(), "10.0.50.0/24"), 1);
}

TEST_F(LinkManagerTest, RemoveShimRemovesLinkAndRoutesAndIsANoOpWhenAbsent) {
  ASSERT_TRUE(manager_.EnsureShim(Config()).ok());
  ASSERT_EQ(CountRoutesTo(sock_.get(), "10.0.50.128/25"), 1);

  absl::Status status = manager_.RemoveShim("bdc-lan");
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_FALSE(GetLink(sock_.get(), "bdc-lan"));
  EXPECT_EQ(CountRoutesTo(sock_.get(), "10.0.50.128/25"), 0);
  EXPECT_EQ(CountRoutesTo(sock_.get(), "10.0.50.7/32"), 0);
  absl::StatusOr<bool> exists = manager_.ShimExists("bdc-lan");
  ASSERT_TRUE(exists.ok()) << exists.status();
  EXPECT_FALSE(*exists);

  status = manager_.RemoveShim("bdc-lan");
  EXPECT_TRUE(status.ok()) << status;

  // Never a real interface.
  status = manager_.RemoveShim("lan0");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr("veth"));
  EXPECT_TRUE(GetLink(sock_.get(), "lan0"));
}

TEST_F(LinkManagerTest, IpvlanShim) {
  if (!KernelHasIpvlan()) {
    absl::Status status = manager_.EnsureShim(Config(ShimDriver::kIpvlan));
    EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented) << status;
    EXPECT_THAT(status.message(), HasSubstr("CONFIG_IPVLAN"));
    EXPECT_FALSE(GetLink(sock_.get(), "bdc-lan"));
    GTEST_SKIP() << "this kernel has no ipvlan (CONFIG_IPVLAN): only its error was checked";
  }
  absl::Status status = manager_.EnsureShim(Config(ShimDriver::kIpvlan));
  ASSERT_TRUE(status.ok()) << status;

  LinkPtr shim = GetLink(sock_.get(), "bdc-lan");
  ASSERT_TRUE(shim);
  ASSERT_NE(rtnl_link_get_type(shim.get()), nullptr);
  EXPECT_STREQ(rtnl_link_get_type(shim.get()), "ipvlan");
  uint16_t mode = 0xffff;
  ASSERT_GE(rtnl_link_ipvlan_get_mode(shim.get(), &mode), 0);
  EXPECT_EQ(mode, IPVLAN_MODE_L2);
  EXPECT_EQ(rtnl_link_get_link(shim.get()), IfIndex("lan0"));
  EXPECT_TRUE(rtnl_link_get_flags(shim.get()) & IFF_UP);
  const int ifindex = rtnl_link_get_ifindex(shim.get());
  EXPECT_THAT(Ipv4Addresses(sock_.get(), ifindex), ElementsAre("10.0.50.120/32"));
  EXPECT_THAT(Dsts(RoutesVia(sock_.get(), ifindex, /*with_kernel=*/true)),
              UnorderedElementsAre("10.0.50.128/25", "10.0.50.7/32"));

  status = manager_.EnsureShim(Config(ShimDriver::kIpvlan));
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(IfIndex("bdc-lan"), ifindex);

  // A parent takes macvlan or ipvlan children, not both: the error says so.
  ShimConfig macvlan = Config();
  macvlan.name = "bdc-mac";
  status = manager_.EnsureShim(macvlan);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("\"bdc-mac\""));

  ASSERT_TRUE(manager_.RemoveShim("bdc-lan").ok());
  EXPECT_FALSE(GetLink(sock_.get(), "bdc-lan"));
  EXPECT_EQ(CountRoutesTo(sock_.get(), "10.0.50.128/25"), 0);
}

// The point of it all: the host reaches a container on the parent through the shim, and only
// through it (libnetwork#1915).
class ShimReachabilityTest : public LinkManagerTest,
                             public ::testing::WithParamInterface<ShimDriver> {};

TEST_P(ShimReachabilityTest, HostReachesContainerOnlyThroughTheShim) {
  const ShimDriver driver = GetParam();
  if (driver == ShimDriver::kIpvlan && !KernelHasIpvlan()) {
    GTEST_SKIP() << "this kernel has no ipvlan (CONFIG_IPVLAN)";
  }
  // The host's own address on the parent, in the containers' subnet, as on a real LAN. Failed
  // ARP resolution on it should fail fast: one probe, 100 ms.
  ASSERT_TRUE(AddAddress(sock_.get(), "lan0", "10.0.50.1/24").ok());
  ASSERT_TRUE(WriteFile("/proc/sys/net/ipv4/neigh/lan0/mcast_solicit", "1"));
  ASSERT_TRUE(WriteFile("/proc/sys/net/ipv4/neigh/lan0/retrans_time_ms", "100"));

  // The container: a sibling link on lan0 in its own namespace, 10.0.50.130/24, listening.
  absl::StatusOr<Fd> container = NewDetachedNetns();
  ASSERT_TRUE(container.ok()) << container.status();
  container_netns_ = std::move(*container);
  absl::Status status =
      AddSubLink(sock_.get(), driver, "ctr0", "lan0", MACVLAN_MODE_BRIDGE, container_netns_.get());
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_FALSE(GetLink(sock_.get(), "ctr0")) << "ctr0 should be in the container namespace";
  absl::StatusOr<SockPtr> container_sock = ConnectIn(container_netns_.get());
  ASSERT_TRUE(container_sock.ok()) << container_sock.status();
  ASSERT_TRUE(AddAddress(container_sock->get(), "ctr0", "10.0.50.130/24").ok());
  ASSERT_TRUE(SetUpLink(container_sock->get(), "ctr0").ok());
  ASSERT_TRUE(SetUpLink(container_sock->get(), "lo").ok());
  absl::StatusOr<std::pair<Fd, uint16_t>> listener =
      ListenIn(container_netns_.get(), "10.0.50.130");
  ASSERT_TRUE(listener.ok()) << listener.status();
  const int listen_fd = listener->first.get();
  const uint16_t port = listener->second;

  // Without the shim the host's packets leave through lan0 and never meet the container.
  absl::StatusOr<std::string> peer = ConnectAndAccept(listen_fd, "10.0.50.130", port);
  EXPECT_EQ(peer.status().code(), absl::StatusCode::kUnavailable) << peer.status();
  EXPECT_THAT(peer.status().message(), HasSubstr(std::strerror(EHOSTUNREACH)));

  // With it, through it: the container sees the shim's address.
  ShimConfig config = Config(driver);
  config.routes = {"10.0.50.128/25"};
  status = manager_.EnsureShim(config);
  ASSERT_TRUE(status.ok()) << status;
  peer = ConnectAndAccept(listen_fd, "10.0.50.130", port);
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(*peer, "10.0.50.120");

  // Gone again with the shim.
  status = manager_.RemoveShim("bdc-lan");
  ASSERT_TRUE(status.ok()) << status;
  peer = ConnectAndAccept(listen_fd, "10.0.50.130", port);
  EXPECT_EQ(peer.status().code(), absl::StatusCode::kUnavailable) << peer.status();
  EXPECT_THAT(peer.status().message(), HasSubstr(std::strerror(EHOSTUNREACH)));
}

INSTANTIATE_TEST_SUITE_P(Drivers, ShimReachabilityTest,
                         ::testing::Values(ShimDriver::kMacvlan, ShimDriver::kIpvlan),
                         [](const ::testing::TestParamInfo<ShimDriver>& info) {
                           return std::string(ShimDriverName(info.param));
                         });

}  // namespace
}  // namespace bdcoord::net
