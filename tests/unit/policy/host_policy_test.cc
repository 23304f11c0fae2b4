// The host policy as the agent applies it to a rendered instance (the coordinator's use, with
// positions, is in tests/unit/coordinator/spec/host_policy_test.cc).
#include "policy/host_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace bdcoord::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const Enforcer kAgent{.policy = "the agent's policy", .program = "bdagent"};

bdcoord::v1::DesiredInstance Instance(const std::string& user) {
  bdcoord::v1::DesiredInstance instance;
  instance.set_service("zk");
  instance.set_name("zk1");
  instance.set_user(user);
  instance.set_network("lan");
  return instance;
}

std::vector<std::string> Messages(const std::vector<Breach>& breaches) {
  std::vector<std::string> out;
  for (const Breach& breach : breaches) out.push_back(breach.message);
  return out;
}

TEST(HostPolicy, RootByNameOrNumber) {
  EXPECT_TRUE(IsRootUser("0"));
  EXPECT_TRUE(IsRootUser("0:0"));
  EXPECT_TRUE(IsRootUser("root"));
  EXPECT_TRUE(IsRootUser("root:wheel"));
  EXPECT_FALSE(IsRootUser("1000:0"));
  EXPECT_FALSE(IsRootUser("rooted"));
  EXPECT_FALSE(IsRootUser("00x"));
}

TEST(HostPolicy, InstanceRunningAsRootIsRefusedUnlessAllowed) {
  EXPECT_THAT(Messages(CheckInstance(Instance("0:0"), {}, kAgent)),
              ElementsAre("service 'zk' runs as root (user \"0:0\"): the agent's policy refuses "
                          "root"));
  EXPECT_EQ(CheckInstance(Instance("0:0"), {}, kAgent)[0].hint,
            "run it as the image's own user (e.g. `user: \"1000:1000\"`), or start bdagent with "
            "--allow-root");
  EXPECT_THAT(
      CheckInstance(Instance("0:0"), {.allow_root = true, .allowed_host_paths = {}}, kAgent),
      IsEmpty());
  EXPECT_THAT(CheckInstance(Instance("65534:65534"), {}, kAgent), IsEmpty());
  // No user: the image's, checked once the image is known.
  EXPECT_THAT(CheckInstance(Instance(""), {}, kAgent), IsEmpty());
}

TEST(HostPolicy, TheImagesDefaultUser) {
  // An image without USER runs as root.
  std::optional<Breach> breach = CheckUser("zk", "", /*image_default=*/true, {}, kAgent);
  ASSERT_TRUE(breach.has_value());
  EXPECT_EQ(breach->rule, Rule::kRoot);
  EXPECT_EQ(breach->message,
            "service 'zk' runs as root (user \"root\", the image's default): the agent's policy "
            "refuses root");
  EXPECT_TRUE(CheckUser("zk", "0", true, {}, kAgent).has_value());
  EXPECT_FALSE(CheckUser("zk", "zookeeper", true, {}, kAgent).has_value());
  EXPECT_FALSE(CheckUser("zk", "", true, {.allow_root = true, .allowed_host_paths = {}}, kAgent)
                   .has_value());
}

TEST(HostPolicy, BindMountsOnlyUnderAllowedPrefixesAndNeverTheSocket) {
  bdcoord::v1::DesiredInstance instance = Instance("1000");
  for (const char* source : {"data1", "/srv/data/zk1", "/etc", "/var/run", "/srv/../etc"}) {
    auto* volume = instance.add_volumes();
    volume->set_source(source);
    volume->set_target("/data");
  }
  const HostPolicy srv{.allow_root = false, .allowed_host_paths = {"/srv/data"}};
  EXPECT_THAT(Messages(CheckInstance(instance, srv, kAgent)),
              ElementsAre("service 'zk' mounts the host path '/etc': the agent's policy allows "
                          "host paths under '/srv/data'",
                          "service 'zk' mounts '/var/run', which holds the Docker socket: never "
                          "allowed",
                          "service 'zk' mounts the host path '/srv/../etc' with '..'"));
  const HostPolicy everything{.allow_root = true, .allowed_host_paths = {"/"}};
  const std::vector<Breach> breaches = CheckInstance(instance, everything, kAgent);
  ASSERT_EQ(breaches.size(), 2u);
  EXPECT_EQ(breaches[0].rule, Rule::kDockerSocket);
  EXPECT_EQ(breaches[1].rule, Rule::kHostPath);
  EXPECT_EQ(CheckHostPath("zk", "/", everything, kAgent)->rule, Rule::kDockerSocket);
  EXPECT_EQ(CheckHostPath("zk", "/etc", {}, kAgent)->message,
            "service 'zk' mounts the host path '/etc': the agent's policy allows host paths "
            "under none");
}

TEST(HostPolicy, DockersOwnNetworksButNone) {
  for (const char* network : {"host", "bridge", "default", "container:abc"}) {
    bdcoord::v1::DesiredInstance instance = Instance("1000");
    instance.set_network(network);
    EXPECT_THAT(Messages(CheckInstance(instance, {}, kAgent)),
                ElementsAre(std::string("service 'zk' is on Docker's network '") + network +
                            "', not on a network of its cluster"));
  }
  bdcoord::v1::DesiredInstance isolated = Instance("1000");
  isolated.set_network("none");
  EXPECT_THAT(CheckInstance(isolated, {}, kAgent), IsEmpty());
  EXPECT_TRUE(CheckNetworkName("none").has_value());  // but no cluster network is called so
  EXPECT_FALSE(CheckNetworkName("lan").has_value());
}

}  // namespace
}  // namespace bdcoord::policy
