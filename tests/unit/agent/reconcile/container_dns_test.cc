// The instance's dns as Docker's Dns, DnsSearch and DnsOptions, alone and through the reconciler.
#include "agent/reconcile/container_dns.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/reconcile/reconciler.h"
#include "google/protobuf/text_format.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_docker_client.h"
#include "tests/testing/fake_host_files.h"

namespace bdcoord::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

bdcoord::v1::Dns Dns(std::vector<std::string> nameservers, std::vector<std::string> search,
                     std::vector<std::string> options) {
  bdcoord::v1::Dns dns;
  for (auto& server : nameservers) dns.add_nameservers(server);
  for (auto& domain : search) dns.mutable_search()->add_values(domain);
  for (auto& option : options) dns.mutable_options()->add_values(option);
  return dns;
}

TEST(SetContainerDns, CopiesEachList) {
  ContainerConfig config;
  SetContainerDns(Dns({"10.0.50.2", "fd00::53"}, {"bigdata.lan", "lan"}, {"ndots:1", "rotate"}),
                  &config);
  EXPECT_THAT(config.dns, ElementsAre("10.0.50.2", "fd00::53"));
  EXPECT_THAT(config.dns_search, ElementsAre("bigdata.lan", "lan"));
  EXPECT_THAT(config.dns_options, ElementsAre("ndots:1", "rotate"));
}

TEST(SetContainerDns, AnEmptySearchListIsDockersDotForNone) {
  bdcoord::v1::Dns dns;
  dns.mutable_search();  // set, empty
  ContainerConfig config;
  SetContainerDns(dns, &config);
  EXPECT_THAT(config.dns_search, ElementsAre("."));
  EXPECT_THAT(config.dns, IsEmpty());
  EXPECT_THAT(config.dns_options, IsEmpty());
}

TEST(SetContainerDns, UnsetKeepsDockersDefaults) {
  ContainerConfig config;
  SetContainerDns(bdcoord::v1::Dns(), &config);
  EXPECT_THAT(config.dns, IsEmpty());
  EXPECT_THAT(config.dns_search, IsEmpty());
  EXPECT_THAT(config.dns_options, IsEmpty());
}

TEST(SetContainerDns, TheReconcilerCreatesContainersWithTheInstancesDns) {
  testing::FakeDockerClient docker;
  docker.AddImage("standin");
  testing::FakeHostFiles hosts;
  Reconciler reconciler(&docker, &hosts, nullptr, ReconcilerOptions{.now = test_util::RealClock()});
  bdcoord::v1::DesiredState desired;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        cluster: "demo"
        networks { name: "lan" driver: NETWORK_DRIVER_MACVLAN parent: "eth0" subnet: "10.1.0.0/24" }
        instances {
          cluster: "demo"
          service: "zk"
          name: "zk1"
          image: "standin"
          user: "1000:1000"
          network: "lan"
          ip: "10.1.0.11"
          dns {
            search { values: "demo.lan" }
            options { values: [ "ndots:1", "timeout:1", "attempts:1" ] }
          }
        }
      )pb",
      &desired));
  const ReconcileResult result = reconciler.Reconcile(desired);
  EXPECT_THAT(result.errors, IsEmpty());
  const auto zk1 = docker.FindByName("zk1");
  ASSERT_TRUE(zk1);
  EXPECT_THAT(zk1->config.dns, IsEmpty());
  EXPECT_THAT(zk1->config.dns_search, ElementsAre("demo.lan"));
  EXPECT_THAT(zk1->config.dns_options, ElementsAre("ndots:1", "timeout:1", "attempts:1"));
}

}  // namespace
}  // namespace bdcoord::agent
