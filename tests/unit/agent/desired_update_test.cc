// How the agent keeps a cluster's desired state from the coordinator's messages: the whole hosts
// map, deltas on it, hosts_only, a delta it cannot take. Pure.
#include "agent/desired_update.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace bdcoord::agent {
namespace {

net::HostsEntry Entry(const char* ip, const std::string& name) {
  return {*net::Ipv4::Parse(ip), name + ".lab", name};
}

bdcoord::v1::DesiredState WithInstance(uint64_t generation, const net::HostsMap& hosts) {
  bdcoord::v1::DesiredState desired;
  desired.set_cluster("c");
  desired.set_generation(generation);
  desired.add_instances()->set_name("zk1");
  *desired.mutable_hosts_map() = net::ToProto(hosts);
  return desired;
}

TEST(UpdateDesiredTest, TheWholeMapIsRenderedAndOnlyItsVersionKept) {
  const net::HostsMap hosts(5, {Entry("10.0.0.1", "zk1"), Entry("10.0.0.2", "zk2")});
  const DesiredUpdate update = UpdateDesired(nullptr, WithInstance(1, hosts));
  ASSERT_TRUE(update.hosts.ok()) << update.hosts;
  EXPECT_EQ(update.kept.desired.hosts_file(), hosts.Render());
  EXPECT_EQ(update.kept.desired.hosts_map().version(), 5u);
  EXPECT_EQ(update.kept.desired.hosts_map().entries(), "");
  EXPECT_TRUE(update.kept.hosts.SameEntries(hosts));
}

TEST(UpdateDesiredTest, HostsOnlyKeepsTheInstancesAndTakesTheGenerationAndDelta) {
  const net::HostsMap v5(5, {Entry("10.0.0.1", "zk1")});
  const net::HostsMap v6(6, {Entry("10.0.0.1", "zk1"), Entry("10.0.0.3", "zk3")});
  const KeptDesired kept = UpdateDesired(nullptr, WithInstance(1, v5)).kept;
  bdcoord::v1::DesiredState delta;
  delta.set_cluster("c");
  delta.set_generation(2);
  delta.set_hosts_only(true);
  *delta.mutable_hosts_delta() = net::ToProto(net::Diff(v5, v6));
  const DesiredUpdate update = UpdateDesired(&kept, delta);
  ASSERT_TRUE(update.hosts.ok()) << update.hosts;
  EXPECT_EQ(update.kept.desired.generation(), 2u);
  ASSERT_EQ(update.kept.desired.instances_size(), 1);
  EXPECT_FALSE(update.kept.desired.hosts_only());
  EXPECT_EQ(update.kept.desired.hosts_file(), v6.Render());
  EXPECT_EQ(update.kept.desired.hosts_map().version(), 6u);

  // Instances changed, hosts not: the map stays.
  bdcoord::v1::DesiredState more = WithInstance(3, v6);
  more.clear_hosts_map();
  more.add_instances()->set_name("zk3");
  const DesiredUpdate next = UpdateDesired(&update.kept, more);
  EXPECT_EQ(next.kept.desired.instances_size(), 2);
  EXPECT_EQ(next.kept.desired.hosts_file(), v6.Render());
  EXPECT_EQ(next.kept.desired.hosts_map().version(), 6u);
}

TEST(UpdateDesiredTest, ADeltaFromAnotherVersionKeepsTheMapAndSaysWhy) {
  const net::HostsMap v5(5, {Entry("10.0.0.1", "zk1")});
  const KeptDesired kept = UpdateDesired(nullptr, WithInstance(1, v5)).kept;
  bdcoord::v1::DesiredState delta = WithInstance(2, v5);
  delta.add_instances()->set_name("zk2");
  delta.mutable_hosts_delta()->set_from_version(7);
  delta.mutable_hosts_delta()->set_to_version(8);
  const DesiredUpdate update = UpdateDesired(&kept, delta);
  EXPECT_EQ(update.hosts.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(update.hosts.message(),
            "hosts delta from version 7, the map is at 5: the whole map is needed");
  EXPECT_FALSE(update.unusable);
  EXPECT_EQ(update.kept.desired.generation(), 2u);           // reported against this generation
  EXPECT_EQ(update.kept.desired.instances_size(), 2);        // the rest is taken
  EXPECT_EQ(update.kept.desired.hosts_map().version(), 5u);  // with the old version
  EXPECT_EQ(update.kept.desired.hosts_file(), v5.Render());
}

TEST(UpdateDesiredTest, HostsOnlyWithNothingKeptIsUnusable) {
  bdcoord::v1::DesiredState delta;
  delta.set_cluster("c");
  delta.set_hosts_only(true);
  const DesiredUpdate update = UpdateDesired(nullptr, delta);
  EXPECT_TRUE(update.unusable);
  EXPECT_EQ(update.hosts.message(), "only the hosts changed, but nothing is kept for the cluster");
}

TEST(UpdateDesiredTest, AHostsFileAsTextIsTakenAsItIsWithNoVersion) {
  bdcoord::v1::DesiredState desired;
  desired.set_cluster("c");
  desired.set_hosts_file("127.0.0.1\tlocalhost\n");
  const DesiredUpdate update = UpdateDesired(nullptr, desired);
  EXPECT_EQ(update.kept.desired.hosts_file(), "127.0.0.1\tlocalhost\n");
  EXPECT_EQ(update.kept.desired.hosts_map().version(), 0u);
}

}  // namespace
}  // namespace bdcoord::agent
