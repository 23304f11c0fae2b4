// host_shim and shim_range: where the hosts' shim addresses come from, checked with positions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_replace.h"
#include "coordinator/spec/spec_loader.h"
#include "coordinator/spec/validation.h"

namespace bdcoord::coordinator {
namespace {

constexpr char kSpec[] = R"(cluster: demo
networks:
  lan:
    driver: macvlan
    parent: eth0
    subnet: 10.1.0.0/24
    gateway: GATEWAY
    ip_range: IP_RANGE
    host_shim: HOST_SHIM
    shim_range: SHIM_RANGE
services: {zk: {image: zk, network: lan, count: 2, ips: IPS}}
)";

struct Fields {
  std::string gateway = "10.1.0.1";
  std::string ip_range = "10.1.0.0/26";
  std::string host_shim = "yes";
  std::string shim_range = "10.1.0.248/29";
  std::string ips = "[10.1.0.10, 10.1.0.11]";
};

// Every diagnostic of the spec, formatted as bdcoord prints them; a field set to "-" is left
// out (its line stays, as a comment, so positions do not move).
std::string Errors(const Fields& fields) {
  std::string text = absl::StrReplaceAll(kSpec, {{"GATEWAY", fields.gateway},
                                                 {"IP_RANGE", fields.ip_range},
                                                 {"HOST_SHIM", fields.host_shim},
                                                 {"SHIM_RANGE", fields.shim_range},
                                                 {"IPS", fields.ips}});
  for (const char* key : {"gateway", "ip_range", "host_shim", "shim_range"}) {
    text = absl::StrReplaceAll(text, {{std::string(key) + ": -", std::string("# ") + key}});
  }
  const LoadedSpec loaded = LoadSpec(text);
  if (!loaded.diagnostics.empty()) return "load: " + FormatDiagnostics("x", loaded.diagnostics);
  return FormatDiagnostics("cluster.yaml", ValidateSpec(loaded.spec, loaded.positions));
}

TEST(ShimRange, AValidShimRangeIsAccepted) {
  EXPECT_EQ(Errors({}), "");
  Fields no_ip_range;
  no_ip_range.ip_range = "-";  // the planner keeps containers out of shim_range
  EXPECT_EQ(Errors(no_ip_range), "");
}

TEST(ShimRange, HostShimNeedsAShimRangeAndOneIsSuggested) {
  Fields fields;
  fields.shim_range = "-";
  EXPECT_EQ(Errors(fields),
            "cluster.yaml:9:16: network 'lan' has host_shim but no shim_range\n"
            "  hint: add `shim_range: 10.1.0.248/29` (inside the subnet, outside ip_range): each "
            "host with containers on the network takes one address of it for its shim\n");
  // When the subnet's last /29 is in ip_range, none.
  fields.ip_range = "10.1.0.128/25";
  EXPECT_EQ(Errors(fields),
            "cluster.yaml:9:16: network 'lan' has host_shim but no shim_range\n"
            "  hint: add a shim_range, a CIDR (inside the subnet, outside ip_range): each host "
            "with containers on the network takes one address of it for its shim\n");
}

TEST(ShimRange, ShimRangeWithoutHostShimIsAMistake) {
  Fields fields;
  fields.host_shim = "no";
  EXPECT_EQ(Errors(fields),
            "cluster.yaml:10:17: shim_range of network 'lan' is set but host_shim is not\n"
            "  hint: set `host_shim: true`, or drop shim_range\n");
}

TEST(ShimRange, MustBeACidrInsideTheSubnet) {
  Fields fields;
  fields.shim_range = "10.1.0.250/29";
  EXPECT_THAT(Errors(fields),
              ::testing::StartsWith("cluster.yaml:10:17: shim_range of network 'lan': "));
  fields.shim_range = "10.2.0.248/29";
  EXPECT_EQ(Errors(fields),
            "cluster.yaml:10:17: shim_range 10.2.0.248/29 of network 'lan' is not inside its "
            "subnet 10.1.0.0/24\n");
}

TEST(ShimRange, EveryOverlapIsReportedAtOnce) {
  Fields fields;
  fields.shim_range = "10.1.0.0/25";  // over ip_range and the gateway
  fields.ips = "[10.1.0.100, 10.1.0.101]";
  EXPECT_EQ(Errors(fields),
            "cluster.yaml:10:17: shim_range 10.1.0.0/25 of network 'lan' overlaps its ip_range "
            "10.1.0.0/26\n"
            "  hint: the hosts' shim addresses must not be containers' addresses: take shim_range "
            "from outside ip_range\n"
            "cluster.yaml:10:17: shim_range 10.1.0.0/25 of network 'lan' contains its gateway "
            "10.1.0.1\n"
            "  hint: take shim_range from another part of the subnet\n");
}

TEST(ShimRange, IsBounded) {
  const LoadedSpec loaded = LoadSpec(R"(cluster: demo
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.0.0.0/16, host_shim: yes,
        shim_range: 10.0.32.0/19}
services: {zk: {image: zk}}
)");
  ASSERT_TRUE(loaded.diagnostics.empty());
  EXPECT_EQ(FormatDiagnostics("cluster.yaml", ValidateSpec(loaded.spec, loaded.positions)),
            "cluster.yaml:4:21: shim_range 10.0.32.0/19 of network 'lan' has 8192 addresses; at "
            "most 4096 (a /20)\n"
            "  hint: each host takes one address: a /26 serves 64 hosts\n");
}

TEST(ShimRange, APinnedIpMayNotBeInIt) {
  Fields fields;
  fields.ips = "[10.1.0.10, 10.1.0.250]";
  EXPECT_EQ(Errors(fields),
            "cluster.yaml:11:69: pinned IP 10.1.0.250 of service 'zk' is in shim_range "
            "10.1.0.248/29 of network 'lan'\n"
            "  hint: the hosts' shim addresses come from shim_range: pin an address outside it\n");
}

}  // namespace
}  // namespace bdcoord::coordinator
