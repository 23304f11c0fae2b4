// The hosts' shim addresses: one per host with instances on a host_shim network, kept across
// re-plans, the lowest free one for a new host, and a clear error when the range is too small.
#include "coordinator/plan/shim_addresses.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

// "lan" has host_shim (shim_range 10.1.0.248/30, .249 reserved); "other" has none.
LoadedSpec Spec(const std::string& lan_extra = "") {
  LoadedSpec loaded = LoadSpec(absl::StrCat(R"(cluster: demo
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24, gateway: 10.1.0.1,
        ip_range: 10.1.0.0/26, reserved: [10.1.0.249], host_shim: yes,
        shim_range: 10.1.0.248/30)",
                                            lan_extra, R"(}
  other: {driver: macvlan, parent: eth1, subnet: 10.2.0.0/24}
services: {zk: {image: zk, network: lan}}
)"));
  EXPECT_THAT(loaded.diagnostics, IsEmpty()) << FormatDiagnostics("x", loaded.diagnostics);
  return loaded;
}

// Instances on `hosts` (network "lan" unless the host is written "other:HOST").
bdcoord::v1::Placement PlacementOn(const std::vector<std::string>& hosts) {
  bdcoord::v1::Placement placement;
  for (size_t i = 0; i < hosts.size(); ++i) {
    auto* instance = placement.add_instances();
    instance->set_name(absl::StrCat("zk", i + 1));
    const bool other = hosts[i].rfind("other:", 0) == 0;
    instance->set_network(other ? "other" : "lan");
    instance->set_host(other ? hosts[i].substr(6) : hosts[i]);
  }
  return placement;
}

std::vector<std::pair<std::string, std::string>> Shims(const bdcoord::v1::Placement& placement) {
  std::vector<std::pair<std::string, std::string>> shims;
  for (const auto& shim : placement.shims()) {
    EXPECT_EQ(shim.network(), "lan");
    shims.emplace_back(shim.host(), shim.address());
  }
  return shims;
}

ShimAddressMap AsPrevious(const bdcoord::v1::Placement& placement) {
  ShimAddressMap previous;
  for (const auto& shim : placement.shims()) {
    previous[shim.network()][shim.host()] = shim.address();
  }
  return previous;
}

TEST(AllocateShimAddresses, OneLowestFreeAddressPerHostWithInstancesThere) {
  bdcoord::v1::Placement placement = PlacementOn({"h2", "h1", "h2", "other:h3"});
  EXPECT_THAT(AllocateShimAddresses(Spec(), nullptr, &placement), IsEmpty());
  // By host name; .249 is reserved; h3 has nothing on "lan".
  EXPECT_THAT(Shims(placement), ElementsAre(Pair("h1", "10.1.0.248"), Pair("h2", "10.1.0.250")));
}

TEST(AllocateShimAddresses, AHostKeepsItsAddressAndANewHostTakesTheLowestFree) {
  bdcoord::v1::Placement first = PlacementOn({"h1", "h2", "h3"});
  ASSERT_THAT(AllocateShimAddresses(Spec(), nullptr, &first), IsEmpty());
  ASSERT_THAT(Shims(first), ElementsAre(Pair("h1", "10.1.0.248"), Pair("h2", "10.1.0.250"),
                                        Pair("h3", "10.1.0.251")));
  // h1 leaves, h0 (first by name) arrives: the others keep theirs, h0 takes h1's freed one.
  const ShimAddressMap previous = AsPrevious(first);
  bdcoord::v1::Placement second = PlacementOn({"h2", "h3", "h0"});
  ASSERT_THAT(AllocateShimAddresses(Spec(), &previous, &second), IsEmpty());
  EXPECT_THAT(Shims(second), ElementsAre(Pair("h0", "10.1.0.248"), Pair("h2", "10.1.0.250"),
                                         Pair("h3", "10.1.0.251")));
  // The same plan again changes nothing.
  const ShimAddressMap again = AsPrevious(second);
  bdcoord::v1::Placement third = PlacementOn({"h0", "h2", "h3"});
  ASSERT_THAT(AllocateShimAddresses(Spec(), &again, &third), IsEmpty());
  EXPECT_EQ(third.SerializeAsString(), [&] {
    bdcoord::v1::Placement expected = PlacementOn({"h0", "h2", "h3"});
    *expected.mutable_shims() = second.shims();
    return expected.SerializeAsString();
  }());
}

TEST(AllocateShimAddresses, APreviousAddressOutsideTheRangeIsNotKept) {
  ShimAddressMap previous;
  previous["lan"]["h1"] = "10.1.0.200";  // shim_range has moved since
  previous["lan"]["h2"] = "10.1.0.251";
  bdcoord::v1::Placement placement = PlacementOn({"h1", "h2"});
  ASSERT_THAT(AllocateShimAddresses(Spec(), &previous, &placement), IsEmpty());
  EXPECT_THAT(Shims(placement), ElementsAre(Pair("h1", "10.1.0.248"), Pair("h2", "10.1.0.251")));
}

TEST(AllocateShimAddresses, WithoutAGatewayTheSubnetsFirstAddressIsSkipped) {
  LoadedSpec loaded = LoadSpec(R"(cluster: demo
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24, host_shim: yes,
        shim_range: 10.1.0.0/30}
services: {zk: {image: zk}}
)");
  bdcoord::v1::Placement placement = PlacementOn({"h1"});
  ASSERT_THAT(AllocateShimAddresses(loaded, nullptr, &placement), IsEmpty());
  // .0 is the network address, .1 the gateway Docker takes.
  EXPECT_THAT(Shims(placement), ElementsAre(Pair("h1", "10.1.0.2")));
}

TEST(AllocateShimAddresses, WithAnIpRangeTooTheSubnetsFirstAddressIsSkipped) {
  // The containers' pool reserves the first of ip_range for Docker's gateway instead; the
  // shims' pool keeps .1 out whatever the ip_range.
  LoadedSpec loaded = LoadSpec(R"(cluster: demo
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24, ip_range: 10.1.0.128/25,
        host_shim: yes, shim_range: 10.1.0.0/30}
services: {zk: {image: zk}}
)");
  bdcoord::v1::Placement placement = PlacementOn({"h1"});
  ASSERT_THAT(AllocateShimAddresses(loaded, nullptr, &placement), IsEmpty());
  EXPECT_THAT(Shims(placement), ElementsAre(Pair("h1", "10.1.0.2")));
}

TEST(AllocateShimAddresses, TooFewAddressesIsAnErrorAtTheShimRangeNamingTheHosts) {
  bdcoord::v1::Placement placement = PlacementOn({"h1", "h2", "h3", "h4"});
  const std::vector<Diagnostic> diagnostics = AllocateShimAddresses(Spec(), nullptr, &placement);
  EXPECT_EQ(FormatDiagnostics("cluster.yaml", diagnostics),
            "cluster.yaml:5:21: shim_range 10.1.0.248/30 of network 'lan' has 3 usable addresses "
            "for 4 hosts with instances on it (h1, h2, h3, h4)\n"
            "  hint: widen shim_range: each host with instances on the network takes one "
            "address\n");
  EXPECT_THAT(placement.shims(), IsEmpty());
}

TEST(AllocateShimAddresses, TooFewAddressesIsTheSameErrorWhenSomeHostsKeepTheirs) {
  bdcoord::v1::Placement first = PlacementOn({"h1", "h2"});
  ASSERT_THAT(AllocateShimAddresses(Spec(), nullptr, &first), IsEmpty());
  const ShimAddressMap previous = AsPrevious(first);
  bdcoord::v1::Placement placement = PlacementOn({"h1", "h2", "h3", "h4"});
  EXPECT_EQ(FormatDiagnostics("cluster.yaml", AllocateShimAddresses(Spec(), &previous, &placement)),
            "cluster.yaml:5:21: shim_range 10.1.0.248/30 of network 'lan' has 3 usable addresses "
            "for 4 hosts with instances on it (h1, h2, h3, h4)\n"
            "  hint: widen shim_range: each host with instances on the network takes one "
            "address\n");
}

}  // namespace
}  // namespace bdcoord::coordinator
