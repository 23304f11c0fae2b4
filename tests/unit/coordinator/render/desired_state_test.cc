// The desired state's dns: the spec's block with the defaults for what it leaves out.
#include "coordinator/render/desired_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
  Plan plan;
  for (const char* name : {"zk1", "zk2", "zk3"}) {
    RenderedInstance& rendered = plan.instances.emplace_back();
    rendered.placed.set_name(name);
    rendered.placed.set_service("zk");
    rendered.placed.set_host(std::string(name) == "zk3" ? "h2" : "h1");
  }
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

}  // namespace
}  // namespace bdcoord::coordinator
