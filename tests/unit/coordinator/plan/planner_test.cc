#include "coordinator/plan/planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kSpec[] = R"(cluster: demo
domain: demo.lan
hosts:
  - {name: h1, labels: {rack: r1}}
  - {name: h2, labels: {rack: r2}}
  - {name: h3, labels: {rack: r3}}
  - {name: h4, labels: {rack: r1}}
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24, gateway: 10.1.0.1,
        ip_range: 10.1.0.0/26, reserved: [10.1.0.2]}
services:
  zk:
    image: zk
    ips: [10.1.0.50, 10.1.0.51, 10.1.0.52]
    placement: {spread: rack, distinct_hosts: true}
    files:
      /conf/zoo.cfg: |
        {{#peers.zk}}
        server.{{index}}={{fqdn}}:2888:3888
        {{/peers.zk}}
  kafka:
    image: kafka
    count: KAFKA_COUNT
    placement: {distinct_hosts: true, constraints: ["rack != r3"]}
    env:
      ZK: "{{#peers.zk}}{{name}}:2181{{^last}},{{/last}}{{/peers.zk}}"
      ME: "{{name}} {{ip}} {{host}} {{service}} {{cluster}} {{domain}} {{fqdn}} {{index}}"
)";

LoadedSpec Load(int kafka_count = 2, const std::string& extra = "") {
  std::string text = absl::StrReplaceAll(kSpec, {{"KAFKA_COUNT", absl::StrCat(kafka_count)}});
  return LoadSpec(text + extra);
}

PreviousPlacement AsPrevious(const Plan& plan) {
  PreviousPlacement previous;
  for (const auto& instance : plan.placement.instances()) {
    previous.host_of[instance.name()] = instance.host();
    previous.ip_of[instance.name()] = instance.ip();
  }
  return previous;
}

const bdcoord::v1::PlacedInstance& Find(const Plan& plan, const std::string& name) {
  for (const auto& instance : plan.placement.instances()) {
    if (instance.name() == name) return instance;
  }
  static const bdcoord::v1::PlacedInstance kNone;
  ADD_FAILURE() << "no instance " << name;
  return kNone;
}

TEST(MakePlan, AllocatesPinnedThenLowestFreeSkippingGatewayAndReserved) {
  const Plan plan = MakePlan(Load(), {});
  ASSERT_THAT(plan.diagnostics, IsEmpty());
  ASSERT_THAT(plan.failures, IsEmpty());
  EXPECT_EQ(Find(plan, "zk1").ip(), "10.1.0.50");
  EXPECT_EQ(Find(plan, "zk3").ip(), "10.1.0.52");
  // .0 is the network, .1 the gateway, .2 reserved.
  EXPECT_EQ(Find(plan, "kafka1").ip(), "10.1.0.3");
  EXPECT_EQ(Find(plan, "kafka2").ip(), "10.1.0.4");
  EXPECT_EQ(Find(plan, "kafka1").fqdn(), "kafka1.demo.lan");
  EXPECT_EQ(Find(plan, "kafka1").network(), "lan");
}

TEST(MakePlan, WithoutAGatewayTheAddressDockerTakesForOneIsLeftFree) {
  const Plan plan = MakePlan(LoadSpec(R"(cluster: demo
hosts: [{name: h1}]
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24, ip_range: 10.1.0.96/28}
services:
  a: {image: x, count: 2}
)"),
                             {});
  ASSERT_THAT(plan.diagnostics, IsEmpty());
  // Docker makes 10.1.0.96, the range's first address, the gateway: the plan must not use it.
  EXPECT_EQ(Find(plan, "a1").ip(), "10.1.0.97");
  EXPECT_EQ(Find(plan, "a2").ip(), "10.1.0.98");
}

TEST(MakePlan, AddressesOfOtherClustersAreNeverAllocated) {
  const absl::flat_hash_map<std::string, std::string> taken = {
      {"10.1.0.3", "instance a1 of cluster 'other'"},
      {"10.1.0.5", "instance a2 of cluster 'other'"},
      {"10.9.9.9", "instance x1 of cluster 'far'"}};  // another subnet: no effect
  PlanOptions options;
  options.taken_ips = &taken;
  const Plan plan = MakePlan(Load(), options);
  ASSERT_THAT(plan.diagnostics, IsEmpty());
  EXPECT_EQ(Find(plan, "kafka1").ip(), "10.1.0.4");
  EXPECT_EQ(Find(plan, "kafka2").ip(), "10.1.0.6");
}

TEST(MakePlan, PinningAnAddressAnotherClusterHoldsNamesTheHolderAtThePin) {
  const absl::flat_hash_map<std::string, std::string> taken = {
      {"10.1.0.51", "instance zk2 of cluster 'other'"}};
  PlanOptions options;
  options.taken_ips = &taken;
  const Plan plan = MakePlan(Load(), options);
  ASSERT_EQ(plan.diagnostics.size(), 1u);
  EXPECT_EQ(plan.diagnostics[0].message,
            "pinned IP 10.1.0.51 of service 'zk' is held by instance zk2 of cluster 'other'");
  EXPECT_EQ(plan.diagnostics[0].pos.line, 14);
  EXPECT_EQ(plan.diagnostics[0].pos.column, 22);
  EXPECT_EQ(plan.diagnostics[0].hint, "pin another address, or take the other cluster down first");
}

TEST(MakePlan, ANetworkSharedWithAnotherClusterMustBeDefinedTheSameWay) {
  const LoadedSpec loaded = Load();
  std::map<std::string, std::vector<bdcoord::v1::Network>> others;
  others["other"].push_back(loaded.spec.networks(0));  // the same: fine
  PlanOptions options;
  options.other_networks = &others;
  EXPECT_THAT(MakePlan(loaded, options).diagnostics, IsEmpty());

  others["other"][0].set_ip_range("10.1.0.64/26");
  Plan plan = MakePlan(loaded, options);
  ASSERT_EQ(plan.diagnostics.size(), 1u);
  EXPECT_EQ(plan.diagnostics[0].message,
            "network 'lan' differs from the one cluster 'other' uses (driver "
            "NETWORK_DRIVER_MACVLAN, parent eth0, subnet 10.1.0.0/24, gateway 10.1.0.1, ip_range "
            "10.1.0.64/26; here driver NETWORK_DRIVER_MACVLAN, parent eth0, subnet 10.1.0.0/24, "
            "gateway 10.1.0.1, ip_range 10.1.0.0/26)");
  EXPECT_EQ(plan.diagnostics[0].pos.line, 9);

  others["other"][0] = loaded.spec.networks(0);
  others["other"][0].set_name("lan2");
  others["other"][0].set_subnet("10.1.0.128/25");
  plan = MakePlan(loaded, options);
  ASSERT_EQ(plan.diagnostics.size(), 1u);
  EXPECT_EQ(plan.diagnostics[0].message,
            "network 'lan' overlaps network 'lan2' (10.1.0.128/25) of cluster 'other'");
  EXPECT_EQ(plan.diagnostics[0].hint,
            "name it 'lan2' and define it the same way to share it, or use another subnet");
}

TEST(MakePlan, AHostShimNetworkIsNotSharedWithAnotherCluster) {
  const LoadedSpec loaded = Load();
  std::map<std::string, std::vector<bdcoord::v1::Network>> others;
  others["other"].push_back(loaded.spec.networks(0));
  others["other"][0].set_host_shim(true);
  others["other"][0].set_shim_range("10.1.0.248/29");
  PlanOptions options;
  options.other_networks = &others;
  const Plan plan = MakePlan(loaded, options);
  ASSERT_EQ(plan.diagnostics.size(), 1u);
  EXPECT_EQ(plan.diagnostics[0].message,
            "network 'lan' is also used by cluster 'other', and that cluster has host_shim on it: "
            "a host shim serves one cluster");
  EXPECT_EQ(plan.diagnostics[0].hint,
            "give each cluster a network of its own (another name and subnet), or drop host_shim");
  EXPECT_EQ(plan.diagnostics[0].pos.line, 9);
}

TEST(MakePlan, WithoutAnIpRangeContainersNeverGetShimAddresses) {
  const LoadedSpec loaded = LoadSpec(R"(cluster: demo
hosts: [{name: h1}, {name: h2}]
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/29, gateway: 10.1.0.1, host_shim: yes,
        shim_range: 10.1.0.2/31}
services:
  a: {image: x, count: 3, placement: {hosts: [h2]}}
)");
  const Plan plan = MakePlan(loaded, {});
  ASSERT_THAT(plan.diagnostics, IsEmpty()) << FormatDiagnostics("x", plan.diagnostics);
  EXPECT_EQ(Find(plan, "a1").ip(), "10.1.0.4");
  EXPECT_EQ(Find(plan, "a3").ip(), "10.1.0.6");
  ASSERT_EQ(plan.placement.shims_size(), 1);
  EXPECT_EQ(plan.placement.shims(0).host(), "h2");
  EXPECT_EQ(plan.placement.shims(0).address(), "10.1.0.2");
}

// A container keeps its address across re-plans, but not one inside shim_range (the ranges
// changed since): a host's shim and a container never share an address.
TEST(MakePlan, AContainerAddressInsideTheShimRangeMoves) {
  const LoadedSpec loaded = LoadSpec(R"(cluster: demo
hosts: [{name: h1}]
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24, gateway: 10.1.0.1,
        ip_range: 10.1.0.0/26, host_shim: yes, shim_range: 10.1.0.192/29}
services:
  a: {image: x, count: 2}
)");
  PreviousPlacement previous;
  previous.host_of = {{"a1", "h1"}, {"a2", "h1"}};
  previous.ip_of = {{"a1", "10.1.0.193"}, {"a2", "10.1.0.5"}};  // a1 from when ip_range was .192/26
  PlanOptions options;
  options.previous = &previous;
  const Plan plan = MakePlan(loaded, options);
  ASSERT_THAT(plan.diagnostics, IsEmpty()) << FormatDiagnostics("x", plan.diagnostics);
  EXPECT_EQ(Find(plan, "a2").ip(), "10.1.0.5") << "kept";
  EXPECT_NE(Find(plan, "a1").ip(), "10.1.0.193");
  ASSERT_EQ(plan.placement.shims_size(), 1);
  EXPECT_EQ(plan.placement.shims(0).address(), "10.1.0.192");
  EXPECT_NE(Find(plan, "a1").ip(), plan.placement.shims(0).address());
}

TEST(MakePlan, AReplanKeepsEachHostsShimAddress) {
  const std::string network =
      "  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24, gateway: 10.1.0.1,\n"
      "        ip_range: 10.1.0.0/26, reserved: [10.1.0.2]}\n";
  std::string text = absl::StrReplaceAll(kSpec, {{"KAFKA_COUNT", "2"}});
  text.replace(text.find(network), network.size(),
               "  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24, gateway: 10.1.0.1,\n"
               "        ip_range: 10.1.0.0/26, reserved: [10.1.0.2], host_shim: yes,\n"
               "        shim_range: 10.1.0.240/28}\n");
  const Plan first = MakePlan(LoadSpec(text), {});
  ASSERT_THAT(first.diagnostics, IsEmpty()) << FormatDiagnostics("x", first.diagnostics);
  ASSERT_GT(first.placement.shims_size(), 0);
  PreviousPlacement previous = AsPrevious(first);
  // As if the first plan had given the hosts other addresses of the range: they are kept.
  std::map<std::string, std::string> had;
  int next = 250;
  for (const auto& shim : first.placement.shims()) {
    had[shim.host()] = absl::StrCat("10.1.0.", next--);
    previous.shim_of["lan"][shim.host()] = had[shim.host()];
  }
  PlanOptions options;
  options.previous = &previous;
  const Plan again = MakePlan(LoadSpec(text), options);
  ASSERT_THAT(again.diagnostics, IsEmpty());
  ASSERT_EQ(again.placement.shims_size(), first.placement.shims_size());
  for (const auto& shim : again.placement.shims()) EXPECT_EQ(shim.address(), had[shim.host()]);
}

TEST(RenderPlan, RendersAStoredPlacementLikeMakePlan) {
  const LoadedSpec loaded = Load(3);
  const Plan made = MakePlan(loaded, {});
  ASSERT_THAT(made.diagnostics, IsEmpty());
  LoadedSpec without_positions;  // as read back from the store
  without_positions.spec = loaded.spec;
  const Plan rendered = RenderPlan(without_positions, made.placement);
  EXPECT_THAT(rendered.diagnostics, IsEmpty());
  EXPECT_EQ(rendered.hosts_file, made.hosts_file);
  ASSERT_EQ(rendered.instances.size(), made.instances.size());
  for (size_t i = 0; i < made.instances.size(); ++i) {
    EXPECT_EQ(rendered.instances[i].placed.SerializeAsString(),
              made.instances[i].placed.SerializeAsString());
    EXPECT_EQ(rendered.instances[i].command, made.instances[i].command);
    ASSERT_EQ(rendered.instances[i].env.size(), made.instances[i].env.size());
    for (size_t e = 0; e < made.instances[i].env.size(); ++e) {
      EXPECT_EQ(rendered.instances[i].env[e].value(), made.instances[i].env[e].value());
    }
  }
}

TEST(MakePlan, SameInputSameOutputByteForByte) {
  const Plan a = MakePlan(Load(3), {});
  const Plan b = MakePlan(Load(3), {});
  EXPECT_EQ(a.placement.SerializeAsString(), b.placement.SerializeAsString());
  EXPECT_EQ(a.hosts_file, b.hosts_file);
}

TEST(MakePlan, HostsFileListsEveryInstanceFqdnFirst) {
  const Plan plan = MakePlan(Load(), {});
  EXPECT_EQ(plan.hosts_file,
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
            "10.1.0.3\tkafka1.demo.lan kafka1\n10.1.0.4\tkafka2.demo.lan kafka2\n"
            "10.1.0.50\tzk1.demo.lan zk1\n10.1.0.51\tzk2.demo.lan zk2\n"
            "10.1.0.52\tzk3.demo.lan zk3\n");
}

TEST(MakePlan, RendersEveryVariable) {
  const Plan plan = MakePlan(Load(), {});
  ASSERT_EQ(plan.instances.size(), 5u);
  const RenderedInstance& kafka2 = plan.instances[4];
  ASSERT_EQ(kafka2.placed.name(), "kafka2");
  EXPECT_EQ(kafka2.env[0].value(), "zk1:2181,zk2:2181,zk3:2181");
  EXPECT_EQ(kafka2.env[1].value(), absl::StrCat("kafka2 10.1.0.4 ", kafka2.placed.host(),
                                                " kafka demo demo.lan kafka2.demo.lan 2"));
  EXPECT_EQ(plan.instances[0].files[0].content(),
            "server.1=zk1.demo.lan:2888:3888\nserver.2=zk2.demo.lan:2888:3888\n"
            "server.3=zk3.demo.lan:2888:3888\n");
}

TEST(MakePlan, RenderOnlyRendersOneInstance) {
  PlanOptions options;
  options.render_only = "zk2";
  const Plan plan = MakePlan(Load(), options);
  ASSERT_EQ(plan.instances.size(), 1u);
  EXPECT_EQ(plan.instances[0].placed.name(), "zk2");
}

TEST(MakePlan, ScalingUpKeepsEveryExistingInstanceAndAddress) {
  const Plan before = MakePlan(Load(2), {});
  const PreviousPlacement previous = AsPrevious(before);
  PlanOptions options;
  options.previous = &previous;
  const Plan after = MakePlan(Load(3), options);
  ASSERT_THAT(after.failures, IsEmpty());
  for (const auto& old : before.placement.instances()) {
    EXPECT_EQ(Find(after, old.name()).host(), old.host()) << old.name();
    EXPECT_EQ(Find(after, old.name()).ip(), old.ip()) << old.name();
  }
  EXPECT_EQ(Find(after, "kafka3").ip(), "10.1.0.5");
}

TEST(MakePlan, PreviousAddressesSurviveAScaleDownAndUp) {
  // kafka1 was on .9 in an earlier plan: it keeps it even though lower addresses are free.
  PreviousPlacement previous;
  previous.ip_of["kafka1"] = "10.1.0.9";
  previous.ip_of["kafka2"] = "10.1.0.2";  // now reserved: must move
  PlanOptions options;
  options.previous = &previous;
  const Plan plan = MakePlan(Load(2), options);
  EXPECT_EQ(Find(plan, "kafka1").ip(), "10.1.0.9");
  EXPECT_EQ(Find(plan, "kafka2").ip(), "10.1.0.3");
}

TEST(MakePlan, ReplanMovesOnlyInstancesWhoseHostNoLongerFits) {
  const Plan before = MakePlan(Load(2), {});
  PreviousPlacement previous = AsPrevious(before);
  // Move one ZooKeeper by hand onto h4 (rack r1): still valid, so it stays there.
  const std::string moved = "zk2";
  previous.host_of[moved] = "h4";
  // And put kafka1 on h3, which its constraint now forbids: it must move, and only it.
  previous.host_of["kafka1"] = "h3";
  PlanOptions options;
  options.previous = &previous;
  const Plan after = MakePlan(Load(2), options);
  ASSERT_THAT(after.failures, IsEmpty());
  int moves = 0;
  for (const auto& instance : after.placement.instances()) {
    if (instance.host() != previous.host_of.at(instance.name())) {
      ++moves;
      EXPECT_EQ(instance.name(), "kafka1");
    }
    EXPECT_EQ(instance.ip(), previous.ip_of.at(instance.name()));
  }
  EXPECT_EQ(moves, 1);
  EXPECT_NE(Find(after, "kafka1").host(), "h3");
}

TEST(MakePlan, InvalidSpecStopsBeforePlacement) {
  const Plan plan = MakePlan(LoadSpec("cluster: demo\nservices: {a: {image: x, count: 1}}\n"), {});
  ASSERT_EQ(plan.diagnostics.size(), 1u);
  EXPECT_THAT(plan.diagnostics[0].message, HasSubstr("needs a network"));
  EXPECT_EQ(plan.placement.instances_size(), 0);
}

TEST(MakePlan, TemplateErrorsAreReportedEvenWhenPlacementWouldFail) {
  const Plan plan = MakePlan(Load(9, R"(  broken:
    image: x
    placement: {constraints: ["rack == nowhere"]}
    env: {X: "{{nope}}"}
)"),
                             {});
  ASSERT_EQ(plan.diagnostics.size(), 1u);
  EXPECT_EQ(plan.diagnostics[0].message,
            "template error in env 'X' of service 'broken': unknown variable 'nope'");
  EXPECT_EQ(plan.diagnostics[0].pos.line, 31);
  EXPECT_EQ(plan.diagnostics[0].pos.column, 15);
}

}  // namespace
}  // namespace bdcoord::coordinator
