#include "coordinator/state/inventory.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

bdcoord::v1::HostFacts Facts(uint32_t cpus, const std::string& rack) {
  bdcoord::v1::HostFacts facts;
  facts.set_cpus(cpus);
  (*facts.mutable_labels())["rack"] = rack;
  return facts;
}

std::vector<std::string> Names(const std::vector<InventoryHost>& hosts) {
  std::vector<std::string> names;
  for (const auto& host : hosts) names.push_back(host.name);
  return names;
}

TEST(InventoryTest, HelloRegistersHostsSortedWithFactsAndLabels) {
  Inventory inventory;
  inventory.Hello("bd2", Facts(8, "r2"), kT0);
  inventory.Hello("bd1", Facts(4, "r1"), kT0 + absl::Seconds(1));
  const auto hosts = inventory.Hosts();
  EXPECT_THAT(Names(hosts), ElementsAre("bd1", "bd2"));
  EXPECT_EQ(hosts[0].facts.cpus(), 4u);
  EXPECT_EQ(hosts[0].labels.at("rack"), "r1");
  EXPECT_TRUE(hosts[0].connected);
  EXPECT_FALSE(hosts[0].down);
  EXPECT_EQ(hosts[0].last_heartbeat, kT0 + absl::Seconds(1));
}

TEST(InventoryTest, HelloAgainReplacesFacts) {
  Inventory inventory;
  inventory.Hello("bd1", Facts(4, "r1"), kT0);
  inventory.Hello("bd1", Facts(16, "r3"), kT0 + absl::Seconds(5));
  const auto host = inventory.Find("bd1");
  ASSERT_TRUE(host.has_value());
  EXPECT_EQ(host->facts.cpus(), 16u);
  EXPECT_EQ(host->labels.at("rack"), "r3");
  EXPECT_EQ(inventory.Hosts().size(), 1u);
}

TEST(InventoryTest, ARememberedHostIsDownSinceThenUntilItsHello) {
  Inventory inventory;
  inventory.Hello("bd1", Facts(4, "r1"), kT0);
  EXPECT_FALSE(inventory.Remember("bd1", Facts(16, "r9"), kT0)) << "known: unchanged";
  EXPECT_EQ(inventory.Find("bd1")->facts.cpus(), 4u);
  EXPECT_TRUE(inventory.Remember("bd2", Facts(8, "r2"), kT0 + absl::Seconds(3)));
  auto host = inventory.Find("bd2");
  ASSERT_TRUE(host.has_value());
  EXPECT_FALSE(host->connected);
  EXPECT_TRUE(host->down);
  EXPECT_EQ(host->labels.at("rack"), "r2");
  EXPECT_THAT(inventory.GoneFor(kT0 + absl::Seconds(23), absl::Seconds(20)), ElementsAre("bd2"));
  inventory.Hello("bd2", Facts(8, "r2"), kT0 + absl::Seconds(5));
  EXPECT_TRUE(inventory.Find("bd2")->connected);
  EXPECT_FALSE(inventory.Find("bd2")->down);
}

TEST(InventoryTest, HeartbeatOfUnknownHostIsRefused) {
  Inventory inventory;
  EXPECT_FALSE(inventory.Heartbeat("nope", kT0));
  EXPECT_THAT(inventory.Hosts(), IsEmpty());
  EXPECT_FALSE(inventory.Find("nope").has_value());
}

TEST(InventoryTest, DisconnectedKeepsTheHostButNotConnected) {
  Inventory inventory;
  inventory.Hello("bd1", Facts(4, "r1"), kT0);
  inventory.Disconnected("bd1");
  const auto host = inventory.Find("bd1");
  ASSERT_TRUE(host.has_value());
  EXPECT_FALSE(host->connected);
  EXPECT_EQ(host->facts.cpus(), 4u);
  inventory.Disconnected("unknown");  // harmless
}

TEST(InventoryTest, DisconnectOfAReplacedSessionIsIgnored) {
  Inventory inventory;
  const uint64_t old_session = inventory.Hello("bd1", Facts(4, "r1"), kT0);
  const uint64_t new_session = inventory.Hello("bd1", Facts(4, "r1"), kT0 + absl::Seconds(1));
  EXPECT_NE(old_session, new_session);
  inventory.Disconnected("bd1", old_session);
  EXPECT_TRUE(inventory.Find("bd1")->connected);
  inventory.Disconnected("bd1", new_session);
  EXPECT_FALSE(inventory.Find("bd1")->connected);
}

TEST(InventoryTest, MarkDownReportsEachHostOnceAfterTheTimeout) {
  Inventory inventory;
  inventory.Hello("bd1", Facts(4, "r1"), kT0);
  inventory.Hello("bd2", Facts(4, "r2"), kT0);
  inventory.Hello("bd3", Facts(4, "r3"), kT0);
  inventory.Disconnected("bd3");  // not connected: not "newly down"
  const absl::Duration timeout = absl::Seconds(15);
  EXPECT_TRUE(inventory.Heartbeat("bd2", kT0 + absl::Seconds(10)));
  EXPECT_THAT(inventory.MarkDown(kT0 + absl::Seconds(15), timeout), IsEmpty());  // not longer
  EXPECT_THAT(inventory.MarkDown(kT0 + absl::Seconds(16), timeout), ElementsAre("bd1"));
  EXPECT_THAT(inventory.MarkDown(kT0 + absl::Seconds(17), timeout), IsEmpty());  // once
  EXPECT_THAT(inventory.MarkDown(kT0 + absl::Seconds(26), timeout), ElementsAre("bd2"));
  const auto bd1 = inventory.Find("bd1");
  EXPECT_TRUE(bd1->down);
  EXPECT_FALSE(bd1->connected);
  // A heartbeat brings it back.
  EXPECT_TRUE(inventory.Heartbeat("bd1", kT0 + absl::Seconds(30)));
  EXPECT_TRUE(inventory.Find("bd1")->connected);
  EXPECT_FALSE(inventory.Find("bd1")->down);
}

TEST(InventoryTest, MarkDownReturnsNamesSorted) {
  Inventory inventory;
  for (const char* name : {"c", "a", "b"}) inventory.Hello(name, Facts(1, "r1"), kT0);
  EXPECT_THAT(inventory.MarkDown(kT0 + absl::Minutes(1), absl::Seconds(15)),
              ElementsAre("a", "b", "c"));
}

TEST(InventoryTest, HostsGoneLongEnoughAreForgotten) {
  Inventory inventory;
  inventory.Hello("bd1", Facts(4, "r1"), kT0);
  inventory.Hello("bd2", Facts(4, "r1"), kT0);
  inventory.Hello("bd3", Facts(4, "r1"), kT0);
  inventory.Heartbeat("bd2", kT0 + absl::Hours(1));
  inventory.Disconnected("bd1");
  inventory.Disconnected("bd2");  // connected bd3 is never a candidate
  const absl::Duration day = absl::Hours(24);
  EXPECT_THAT(inventory.GoneFor(kT0 + day - absl::Seconds(1), day), IsEmpty());
  EXPECT_THAT(inventory.GoneFor(kT0 + day, day), ElementsAre("bd1"));
  EXPECT_THAT(inventory.GoneFor(kT0 + day + absl::Hours(1), day), ElementsAre("bd1", "bd2"));
  // bd2 came back before Forget: it stays; unknown names are ignored.
  inventory.Hello("bd2", Facts(4, "r1"), kT0 + day + absl::Hours(1));
  EXPECT_THAT(inventory.Forget({"bd1", "bd2", "bd9"}, kT0 + day + absl::Hours(1), day),
              ElementsAre("bd1"));
  EXPECT_THAT(Names(inventory.Hosts()), ElementsAre("bd2", "bd3"));
  EXPECT_FALSE(inventory.Find("bd1").has_value());
}

}  // namespace
}  // namespace bdcoord::coordinator
