// The desired state's dns: the spec's block with the defaults for what it leaves out.
#include "coordinator/render/desired_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "coordinator/plan/planner.h"
#include "coordinator/spec/instance_names.h"
#include "coordinator/spec/spec_loader.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

bdcoord::v1::ClusterSpec Spec(const std::string& extra) {
  const LoadedSpec loaded = LoadSpec(R"(cluster: demo
domain: demo.lan
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24}
services:
  zk: {image: zk, count: 2}
)" + extra);
  EXPECT_THAT(loaded.diagnostics, IsEmpty()) << FormatDiagnostics("x", loaded.diagnostics);
  return loaded.spec;
}

// zk1 and zk2 on h1, zk3 on h2.
Plan ThreeZkOnTwoHosts() {
  Plan plan;
  for (const char* name : {"zk1", "zk2", "zk3"}) {
    RenderedInstance& rendered = plan.instances.emplace_back();
    rendered.placed.set_name(name);
    rendered.placed.set_service("zk");
    rendered.placed.set_host(std::string(name) == "zk3" ? "h2" : "h1");
  }
  return plan;
}

TEST(ContainerDns, WithoutADnsBlockSearchesNothingAndFailsFast) {
  const bdcoord::v1::Dns dns = ContainerDns(Spec(""));
  EXPECT_THAT(dns.nameservers(), IsEmpty());
  EXPECT_TRUE(dns.has_search()) << "set and empty: no search domain, not the Docker host's";
  EXPECT_THAT(dns.search().values(), IsEmpty());
  EXPECT_THAT(dns.options().values(), ElementsAre("ndots:1", "timeout:1", "attempts:1"));
}

TEST(ContainerDns, WhatTheBlockSaysReplacesOnlyThatDefault) {
  const bdcoord::v1::Dns servers = ContainerDns(Spec("dns: {nameservers: [10.1.0.2]}\n"));
  EXPECT_THAT(servers.nameservers(), ElementsAre("10.1.0.2"));
  EXPECT_THAT(servers.search().values(), IsEmpty());
  EXPECT_THAT(servers.options().values(), ElementsAre("ndots:1", "timeout:1", "attempts:1"));

  const bdcoord::v1::Dns domain =
      ContainerDns(Spec("dns: {search: [demo.lan], options: [rotate]}\n"));
  EXPECT_THAT(domain.search().values(), ElementsAre("demo.lan"));
  EXPECT_THAT(domain.options().values(), ElementsAre("rotate"));
}

TEST(ContainerDns, AClusterWithoutADomainSearchesNothing) {
  bdcoord::v1::ClusterSpec spec = Spec("");
  spec.clear_domain();
  const bdcoord::v1::Dns dns = ContainerDns(spec);
  EXPECT_TRUE(dns.has_search());
  EXPECT_THAT(dns.search().values(), IsEmpty());
}

TEST(MakeDesiredState, EveryInstanceCarriesTheClustersDns) {
  const bdcoord::v1::ClusterSpec spec = Spec("dns: {nameservers: [10.1.0.2]}\n");
  Plan plan;
  for (int i = 1; i <= 2; ++i) {
    RenderedInstance& rendered = plan.instances.emplace_back();
    rendered.placed.set_name("zk" + std::to_string(i));
    rendered.placed.set_service("zk");
    rendered.placed.set_host("h1");
  }
  const bdcoord::v1::DesiredState state = MakeDesiredState(spec, plan, "h1", {});
  ASSERT_EQ(state.instances_size(), 2);
  for (const auto& instance : state.instances()) {
    EXPECT_EQ(instance.dns().SerializeAsString(), ContainerDns(spec).SerializeAsString());
  }
}

TEST(MakeDesiredState, ListsEveryInstanceOfTheHostWithTheHeldOnesHeld) {
  const bdcoord::v1::ClusterSpec spec = Spec("");
  const Plan plan = ThreeZkOnTwoHosts();
  InstanceOverrides overrides;
  overrides.held = {"zk2", "zk3"};
  const bdcoord::v1::DesiredState state = MakeDesiredState(spec, plan, "h1", overrides);
  ASSERT_EQ(state.instances_size(), 2);
  EXPECT_EQ(state.instances(0).name(), "zk1");
  EXPECT_FALSE(state.instances(0).hold());
  EXPECT_EQ(state.instances(1).name(), "zk2");
  EXPECT_TRUE(state.instances(1).hold());
}

TEST(MakeDesiredState, APinnedInstanceKeepsItsPreviousSpecWithTodaysFlags) {
  const bdcoord::v1::ClusterSpec spec = Spec("");
  Plan plan;
  for (const char* name : {"zk1", "zk2"}) {
    RenderedInstance& rendered = plan.instances.emplace_back();
    rendered.placed.set_name(name);
    rendered.placed.set_service("zk");
    rendered.placed.set_host("h1");
    rendered.command = {"new"};
  }
  InstanceOverrides overrides;
  overrides.pinned["zk2"].set_name("zk2");
  overrides.pinned["zk2"].add_command("old");
  overrides.held = {"zk2"};
  const bdcoord::v1::DesiredState state = MakeDesiredState(spec, plan, "h1", overrides);
  ASSERT_EQ(state.instances_size(), 2);
  EXPECT_THAT(state.instances(0).command(), ElementsAre("new"));
  EXPECT_THAT(state.instances(1).command(), ElementsAre("old"));
  EXPECT_TRUE(state.instances(1).hold());
  // What DesiredInstances gives is what the unpinned instance gets.
  EXPECT_EQ(DesiredInstances(spec, plan).at("zk1").SerializeAsString(),
            state.instances(0).SerializeAsString());
}

TEST(MakeDesiredState, CarriesThisHostsShimAddressesAsSlash32s) {
  const bdcoord::v1::ClusterSpec spec = Spec("");
  Plan plan;
  for (const char* host : {"h1", "h2"}) {
    bdcoord::v1::ShimAddress* shim = plan.placement.add_shims();
    shim->set_network("lan");
    shim->set_host(host);
    shim->set_address(std::string(host) == "h1" ? "10.1.0.250" : "10.1.0.251");
  }
  EXPECT_THAT(MakeDesiredState(spec, plan, "h2", {}).shim_addresses(),
              ElementsAre(Pair("lan", "10.1.0.251/32")));
  EXPECT_THAT(MakeDesiredState(spec, plan, "h3", {}).shim_addresses(), IsEmpty());
}

// MakeDesiredState as it was before SharesByHost: every instance and shim of the plan scanned for
// the one host. The reference the indexed path must match byte for byte.
bdcoord::v1::DesiredState ScanningDesiredState(const bdcoord::v1::ClusterSpec& spec,
                                               const Plan& plan, const std::string& host,
                                               const InstanceOverrides& overrides) {
  bdcoord::v1::DesiredState state;
  state.set_cluster(spec.cluster());
  const bdcoord::v1::Host* spec_host = nullptr;
  for (const auto& candidate : spec.hosts()) {
    if (candidate.name() == host) spec_host = &candidate;
  }
  for (const auto& network : spec.networks()) {
    bdcoord::v1::Network* out = state.add_networks();
    *out = network;
    if (spec_host != nullptr) {
      if (auto it = spec_host->parents().find(network.name()); it != spec_host->parents().end()) {
        out->set_parent(it->second);
      }
    }
  }
  for (const auto& shim : plan.placement.shims()) {
    if (shim.host() == host) {
      (*state.mutable_shim_addresses())[shim.network()] = absl::StrCat(shim.address(), "/32");
    }
  }
  const std::map<std::string, bdcoord::v1::DesiredInstance> desired = DesiredInstances(spec, plan);
  for (const RenderedInstance& rendered : plan.instances) {
    if (rendered.placed.host() != host) continue;
    if (FindService(spec, rendered.placed.service()) == nullptr) continue;
    const std::string& name = rendered.placed.name();
    bdcoord::v1::DesiredInstance* instance = state.add_instances();
    auto pinned = overrides.pinned.find(name);
    *instance = pinned != overrides.pinned.end() ? pinned->second : desired.at(name);
    instance->set_completed(overrides.completed.contains(name));
    instance->set_hold(overrides.held.contains(name));
  }
  return state;
}

TEST(MakeDesiredState, EachHostsShareGivesWhatScanningThePlanGave) {
  // 6 hosts (h1 and h2 with their own parents), two networks (one with host shims), templated
  // services spread over the hosts; h7 is in the spec's hosts and runs nothing.
  std::string yaml = R"(cluster: gen
domain: gen.lan
hosts:
  - {name: h1, parents: {lan: enp3s0}}
  - {name: h2, parents: {lan: enp4s0, back: bond0}}
  - {name: h3}
  - {name: h4}
  - {name: h5}
  - {name: h6}
  - {name: h7}
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24, ip_range: 10.1.0.0/25,
        host_shim: yes, shim_range: 10.1.0.240/28}
  back: {driver: macvlan, parent: eth1, subnet: 10.2.0.0/24}
services:
)";
  for (int s = 0; s < 6; ++s) {
    absl::StrAppend(&yaml, "  s", s, ":\n    image: img", s, "\n    count: ", 3 + s * 2,
                    "\n    network: ", s % 2 == 0 ? "lan" : "back",
                    "\n    command: [run, \"{{index}}\"]\n    env: {ID: \"{{name}}\"}\n",
                    "    files: {/etc/id: \"{{index}} {{fqdn}}\\n\"}\n",
                    s == 3 ? "    run_once: true\n" : "",
                    s == 4 ? "    placement: {hosts: [h1, h2]}\n" : "");
  }
  const LoadedSpec loaded = LoadSpec(yaml);
  ASSERT_THAT(loaded.diagnostics, IsEmpty()) << FormatDiagnostics("gen", loaded.diagnostics);
  const Plan plan = MakePlan(loaded, {});
  ASSERT_THAT(plan.diagnostics, IsEmpty()) << FormatDiagnostics("gen", plan.diagnostics);
  ASSERT_THAT(plan.failures, IsEmpty());
  ASSERT_EQ(plan.instances.size(), 48u);
  ASSERT_GT(plan.placement.shims_size(), 1);

  InstanceOverrides overrides;
  for (size_t i = 0; i < plan.instances.size(); ++i) {
    const std::string& name = plan.instances[i].placed.name();
    if (i % 3 == 0) overrides.held.insert(name);
    if (i % 5 == 0) overrides.completed.insert(name);
    if (i % 7 == 0) overrides.pinned[name].add_command(absl::StrCat("old-", name));
  }
  const std::map<std::string, HostShare> shares = SharesByHost(loaded.spec, plan);
  EXPECT_TRUE(shares.contains("h7")) << "listed in the spec: its parents";
  EXPECT_FALSE(shares.contains("h8"));
  size_t instances = 0;
  for (const std::string host : {"h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8"}) {
    const auto share = shares.find(host);
    const bdcoord::v1::DesiredState indexed = MakeDesiredState(
        loaded.spec, plan, share == shares.end() ? HostShare{} : share->second, overrides);
    const bdcoord::v1::DesiredState scanned =
        ScanningDesiredState(loaded.spec, plan, host, overrides);
    EXPECT_EQ(indexed.SerializeAsString(), scanned.SerializeAsString()) << host;
    EXPECT_EQ(MakeDesiredState(loaded.spec, plan, host, overrides).SerializeAsString(),
              scanned.SerializeAsString())
        << host;
    instances += indexed.instances_size();
  }
  EXPECT_EQ(instances, plan.instances.size()) << "every instance on exactly one host";
}

TEST(OverridesHash, ChangesWithWhatOfTheOverridesTheHostsInstancesTakeOnly) {
  const Plan plan = ThreeZkOnTwoHosts();
  const HostShare h1 = SharesByHost({}, plan).at("h1");
  InstanceOverrides overrides;
  const size_t none = OverridesHash(plan, h1, overrides);
  overrides.held = {"zk3"};
  overrides.completed = {"zk3"};
  overrides.pinned["zk3"].add_command("old");
  EXPECT_EQ(OverridesHash(plan, h1, overrides), none) << "zk3 is on h2";

  std::set<size_t> seen = {none};
  overrides.held.insert("zk1");
  EXPECT_TRUE(seen.insert(OverridesHash(plan, h1, overrides)).second) << "zk1 held";
  overrides.held = {"zk2"};
  EXPECT_TRUE(seen.insert(OverridesHash(plan, h1, overrides)).second) << "zk2 held instead";
  overrides.completed.insert("zk2");
  EXPECT_TRUE(seen.insert(OverridesHash(plan, h1, overrides)).second) << "zk2 completed";
  overrides.pinned["zk1"].add_command("old");
  EXPECT_TRUE(seen.insert(OverridesHash(plan, h1, overrides)).second) << "zk1 pinned";
  overrides.pinned["zk1"].add_command("older");
  EXPECT_TRUE(seen.insert(OverridesHash(plan, h1, overrides)).second) << "pinned to another";
  EXPECT_EQ(OverridesHash(plan, h1, overrides), OverridesHash(plan, h1, overrides));
}

}  // namespace
}  // namespace bdcoord::coordinator
