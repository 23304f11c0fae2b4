#include "net/ipam.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/net_literals.h"

namespace bdcoord::net {
namespace {

using ::testing::ElementsAre;

using ::bdcoord::testing::Ip;
using ::bdcoord::testing::Net;

AddressPool Pool(const char* subnet, std::optional<const char*> gateway = std::nullopt,
                 std::optional<const char*> range = std::nullopt,
                 std::vector<const char*> reserved = {}) {
  AddressPool pool;
  pool.subnet = Net(subnet);
  if (gateway.has_value()) pool.gateway = Ip(*gateway);
  pool.range = range.has_value() ? Net(*range) : pool.subnet;
  for (const char* ip : reserved) pool.reserved.push_back(Ip(ip));
  return pool;
}

AddressRequest Dynamic() { return {}; }
AddressRequest Pinned(const char* ip) { return {.pinned = Ip(ip), .previous = std::nullopt}; }
AddressRequest Previous(const char* ip) { return {.pinned = std::nullopt, .previous = Ip(ip)}; }

std::vector<std::string> Strings(const std::vector<Ipv4>& ips) {
  std::vector<std::string> out;
  for (Ipv4 ip : ips) out.push_back(ip.ToString());
  return out;
}

// Allocates and returns the addresses as strings, or the error message.
std::vector<std::string> Allocate(const AddressPool& pool,
                                  const std::vector<AddressRequest>& requests) {
  absl::StatusOr<std::vector<Ipv4>> ips = AllocateAddresses(pool, requests);
  if (!ips.ok()) return {std::string(ips.status().message())};
  EXPECT_EQ(ips->size(), requests.size());
  return Strings(*ips);
}

TEST(AllocateAddressesTest, NoRequestsGiveNoAddresses) {
  absl::StatusOr<std::vector<Ipv4>> ips = AllocateAddresses(Pool("10.0.0.0/24"), {});
  ASSERT_TRUE(ips.ok()) << ips.status();
  EXPECT_TRUE(ips->empty());
}

TEST(AllocateAddressesTest, HandsOutLowestAddressesInRequestOrderSkippingNetwork) {
  EXPECT_THAT(Allocate(Pool("10.0.0.0/24"), {Dynamic(), Dynamic(), Dynamic()}),
              ElementsAre("10.0.0.1", "10.0.0.2", "10.0.0.3"));
}

TEST(AllocateAddressesTest, SkipsGatewayAndReserved) {
  AddressPool pool = Pool("10.0.0.0/24", "10.0.0.1", std::nullopt, {"10.0.0.3", "10.0.0.4"});
  EXPECT_THAT(Allocate(pool, {Dynamic(), Dynamic(), Dynamic()}),
              ElementsAre("10.0.0.2", "10.0.0.5", "10.0.0.6"));
}

TEST(AllocateAddressesTest, SkipsBroadcastAtTheEndOfTheSubnet) {
  // Range is the top quarter of the subnet: .192-.255, of which .255 is the broadcast.
  AddressPool pool = Pool("10.0.0.0/24", std::nullopt, "10.0.0.192/26");
  std::vector<AddressRequest> requests(63, Dynamic());
  std::vector<std::string> ips = Allocate(pool, requests);
  ASSERT_EQ(ips.size(), 63u);
  EXPECT_EQ(ips.front(), "10.0.0.192");  // the range's own first address is a host
  EXPECT_EQ(ips.back(), "10.0.0.254");

  requests.push_back(Dynamic());
  EXPECT_THAT(Allocate(pool, requests),
              ElementsAre("needs 64 more addresses but only 63 are free in 10.0.0.192/26"));
}

TEST(AllocateAddressesTest, StaysInsideTheRange) {
  AddressPool pool = Pool("10.0.0.0/24", "10.0.0.1", "10.0.0.128/25");
  EXPECT_THAT(Allocate(pool, {Dynamic(), Dynamic()}), ElementsAre("10.0.0.128", "10.0.0.129"));
}

TEST(AllocateAddressesTest, PinnedHonouredAndSkippedByOthers) {
  AddressPool pool = Pool("10.0.0.0/24", "10.0.0.1");
  EXPECT_THAT(Allocate(pool, {Dynamic(), Pinned("10.0.0.2"), Dynamic(), Pinned("10.0.0.200")}),
              ElementsAre("10.0.0.3", "10.0.0.2", "10.0.0.4", "10.0.0.200"));
}

TEST(AllocateAddressesTest, PinnedOutsideRangeButInsideSubnetAllowed) {
  AddressPool pool = Pool("10.0.0.0/24", "10.0.0.1", "10.0.0.128/25");
  EXPECT_THAT(Allocate(pool, {Pinned("10.0.0.10"), Dynamic()}),
              ElementsAre("10.0.0.10", "10.0.0.128"));
}

TEST(AllocateAddressesTest, PinnedWinsOverPrevious) {
  AddressPool pool = Pool("10.0.0.0/24");
  EXPECT_THAT(Allocate(pool, {{.pinned = Ip("10.0.0.9"), .previous = Ip("10.0.0.5")}, Dynamic()}),
              ElementsAre("10.0.0.9", "10.0.0.1"));
}

TEST(AllocateAddressesTest, RejectsPinnedTwice) {
  absl::StatusOr<std::vector<Ipv4>> ips =
      AllocateAddresses(Pool("10.0.0.0/24"), {Pinned("10.0.0.7"), Dynamic(), Pinned("10.0.0.7")});
  ASSERT_FALSE(ips.ok());
  EXPECT_EQ(ips.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ips.status().message(), "address 10.0.0.7 is pinned by more than one request");
}

TEST(AllocateAddressesTest, RejectsPinnedUnusableAddresses) {
  AddressPool pool = Pool("10.0.0.0/24", "10.0.0.1", std::nullopt, {"10.0.0.9"});
  struct Case {
    const char* pinned;
    const char* message;
  };
  for (const Case& c : {
           Case{"10.0.0.0", "pinned address 10.0.0.0 is the network address of 10.0.0.0/24"},
           Case{"10.0.0.255", "pinned address 10.0.0.255 is the broadcast address of 10.0.0.0/24"},
           Case{"10.0.0.1", "pinned address 10.0.0.1 is the gateway of 10.0.0.0/24"},
           Case{"10.0.0.9", "pinned address 10.0.0.9 is reserved"},
       }) {
    absl::StatusOr<std::vector<Ipv4>> ips = AllocateAddresses(pool, {Dynamic(), Pinned(c.pinned)});
    ASSERT_FALSE(ips.ok()) << c.pinned;
    EXPECT_EQ(ips.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ips.status().message(), c.message);
  }
}

TEST(AllocateAddressesTest, KeepsPreviousAddresses) {
  AddressPool pool = Pool("10.0.0.0/24", "10.0.0.1");
  EXPECT_THAT(Allocate(pool, {Dynamic(), Previous("10.0.0.2"), Previous("10.0.0.50"), Dynamic()}),
              ElementsAre("10.0.0.3", "10.0.0.2", "10.0.0.50", "10.0.0.4"));
}

TEST(AllocateAddressesTest, KeepsPreviousOutsideRangeButInsideSubnet) {
  AddressPool pool = Pool("10.0.0.0/24", std::nullopt, "10.0.0.128/25");
  EXPECT_THAT(Allocate(pool, {Previous("10.0.0.10"), Dynamic()}),
              ElementsAre("10.0.0.10", "10.0.0.128"));
}

TEST(AllocateAddressesTest, DropsPreviousPinnedBySomeoneElse) {
  AddressPool pool = Pool("10.0.0.0/24", "10.0.0.1");
  // The first request's old address is now pinned by a later request: it must move.
  EXPECT_THAT(Allocate(pool, {Previous("10.0.0.2"), Pinned("10.0.0.2")}),
              ElementsAre("10.0.0.3", "10.0.0.2"));
}

TEST(AllocateAddressesTest, DropsPreviousThatIsNowReservedOrGatewayOrOutside) {
  AddressPool pool = Pool("10.0.0.0/24", "10.0.0.1", std::nullopt, {"10.0.0.2"});
  EXPECT_THAT(Allocate(pool, {Previous("10.0.0.2"), Previous("10.0.0.1"), Previous("10.0.1.5"),
                              Previous("10.0.0.0"), Previous("10.0.0.255")}),
              ElementsAre("10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7"));
}

TEST(AllocateAddressesTest, SharedPreviousGoesToTheEarlierRequest) {
  AddressPool pool = Pool("10.0.0.0/24");
  EXPECT_THAT(Allocate(pool, {Dynamic(), Previous("10.0.0.5"), Previous("10.0.0.5")}),
              ElementsAre("10.0.0.1", "10.0.0.5", "10.0.0.2"));
}

TEST(AllocateAddressesTest, DynamicSkipsKeptAddresses) {
  AddressPool pool = Pool("10.0.0.0/24");
  EXPECT_THAT(Allocate(pool, {Dynamic(), Dynamic(), Previous("10.0.0.2"), Previous("10.0.0.1")}),
              ElementsAre("10.0.0.3", "10.0.0.4", "10.0.0.2", "10.0.0.1"));
}

TEST(AllocateAddressesTest, Slash31HasNoNetworkOrBroadcast) {
  EXPECT_THAT(Allocate(Pool("10.0.0.6/31"), {Dynamic(), Dynamic()}),
              ElementsAre("10.0.0.6", "10.0.0.7"));
  EXPECT_THAT(Allocate(Pool("10.0.0.6/31"), {Dynamic(), Dynamic(), Dynamic()}),
              ElementsAre("needs 3 more addresses but only 2 are free in 10.0.0.6/31"));
  EXPECT_THAT(Allocate(Pool("10.0.0.6/31"), {Pinned("10.0.0.6")}), ElementsAre("10.0.0.6"));
}

TEST(AllocateAddressesTest, Slash32IsOneAddress) {
  EXPECT_THAT(Allocate(Pool("10.0.0.7/32"), {Dynamic()}), ElementsAre("10.0.0.7"));
  EXPECT_THAT(Allocate(Pool("10.0.0.7/32"), {Dynamic(), Dynamic()}),
              ElementsAre("needs 2 more addresses but only 1 are free in 10.0.0.7/32"));
}

TEST(AllocateAddressesTest, Slash30HasTwoHosts) {
  AddressPool pool = Pool("10.0.0.4/30");
  EXPECT_THAT(Allocate(pool, {Dynamic(), Dynamic()}), ElementsAre("10.0.0.5", "10.0.0.6"));
  EXPECT_THAT(Allocate(pool, {Dynamic(), Dynamic(), Dynamic()}),
              ElementsAre("needs 3 more addresses but only 2 are free in 10.0.0.4/30"));
}

TEST(AllocateAddressesTest, TopOfAddressSpaceDoesNotWrap) {
  AddressPool pool = Pool("255.255.255.252/30");
  EXPECT_THAT(Allocate(pool, {Dynamic(), Dynamic()}),
              ElementsAre("255.255.255.253", "255.255.255.254"));
  EXPECT_THAT(Allocate(Pool("255.255.255.254/31"), {Dynamic(), Dynamic()}),
              ElementsAre("255.255.255.254", "255.255.255.255"));
}

TEST(AllocateAddressesTest, ExhaustionCountsOnlyDynamicRequestsAndFreeAddresses) {
  // /28 range: 16 addresses, minus network, broadcast, gateway, two reserved, one pinned and one
  // kept = 9.
  AddressPool pool = Pool("10.0.0.0/28", "10.0.0.1", std::nullopt, {"10.0.0.2", "10.0.0.3"});
  std::vector<AddressRequest> requests = {Pinned("10.0.0.4"), Previous("10.0.0.5")};
  for (int i = 0; i < 9; ++i) requests.push_back(Dynamic());
  std::vector<std::string> ips = Allocate(pool, requests);
  ASSERT_EQ(ips.size(), 11u);
  EXPECT_EQ(ips.back(), "10.0.0.14");

  requests.push_back(Dynamic());
  requests.push_back(Previous("10.0.0.1"));  // dropped (gateway), so it needs a new address too
  absl::StatusOr<std::vector<Ipv4>> result = AllocateAddresses(pool, requests);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(result.status().message(),
            "needs 11 more addresses but only 9 are free in 10.0.0.0/28");
}

TEST(AllocateAddressesTest, ExhaustionWithNothingFree) {
  AddressPool pool = Pool("10.0.0.0/24", std::nullopt, "10.0.0.8/31", {"10.0.0.8", "10.0.0.9"});
  EXPECT_THAT(Allocate(pool, {Dynamic()}),
              ElementsAre("needs 1 more addresses but only 0 are free in 10.0.0.8/31"));
}

TEST(AllocateAddressesTest, Deterministic) {
  AddressPool pool = Pool("10.0.0.0/22", "10.0.0.1", std::nullopt, {"10.0.0.7", "10.0.1.0"});
  std::vector<AddressRequest> requests;
  for (int i = 0; i < 500; ++i) {
    if (i % 7 == 0) {
      requests.push_back(Previous(Ipv4(Ip("10.0.0.0").value() + 3 * i).ToString().c_str()));
    } else if (i % 11 == 0) {
      requests.push_back({.pinned = Ipv4(Ip("10.0.2.0").value() + i), .previous = std::nullopt});
    } else {
      requests.push_back(Dynamic());
    }
  }
  absl::StatusOr<std::vector<Ipv4>> first = AllocateAddresses(pool, requests);
  absl::StatusOr<std::vector<Ipv4>> second = AllocateAddresses(pool, requests);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*first, *second);
  std::vector<Ipv4> sorted = *first;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
}

TEST(AllocateAddressesTest, MillionRequestsOverSlash8AreUniqueAndInRange) {
  AddressPool pool = Pool("10.0.0.0/8", "10.0.0.1", std::nullopt, {"10.0.0.10", "10.5.0.0"});
  std::vector<AddressRequest> requests(1'000'000, Dynamic());
  // Some pinned and previous addresses scattered through, so the cursor has to skip them.
  for (size_t i = 0; i < requests.size(); i += 1000) {
    requests[i] = {.pinned = Ipv4(pool.subnet.network().value() + 2'000'000 + i),
                   .previous = std::nullopt};
  }
  for (size_t i = 500; i < requests.size(); i += 1000) {
    requests[i] = {.pinned = std::nullopt, .previous = Ipv4(pool.subnet.network().value() + i)};
  }
  absl::StatusOr<std::vector<Ipv4>> ips = AllocateAddresses(pool, requests);
  ASSERT_TRUE(ips.ok()) << ips.status();
  ASSERT_EQ(ips->size(), requests.size());
  for (size_t i = 0; i < requests.size(); i += 1000) {
    EXPECT_EQ((*ips)[i].value(), pool.subnet.network().value() + 2'000'000 + i);
  }
  for (size_t i = 500; i < requests.size(); i += 1000) {
    EXPECT_EQ((*ips)[i].value(), pool.subnet.network().value() + i);
  }
  std::vector<Ipv4> sorted = *ips;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
  for (Ipv4 ip : sorted) {
    ASSERT_TRUE(pool.range.Contains(ip)) << ip.ToString();
    ASSERT_NE(ip, pool.subnet.network());
    ASSERT_NE(ip, pool.subnet.broadcast());
    ASSERT_NE(ip, *pool.gateway);
    ASSERT_NE(ip, pool.reserved[0]);
    ASSERT_NE(ip, pool.reserved[1]);
  }
  // The 998,000 dynamic requests fill the bottom of the range densely: offsets 2..999,002 minus
  // the two reserved addresses and the 999 kept addresses below 999,002.
  uint32_t highest_dynamic = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (i % 500 != 0) highest_dynamic = std::max(highest_dynamic, (*ips)[i].value());
  }
  EXPECT_EQ(highest_dynamic, pool.subnet.network().value() + 999'002);
}

TEST(UsableAddressCountTest, SubtractsExclusionsInsideTheRange) {
  EXPECT_EQ(UsableAddressCount(Pool("10.0.0.0/24")), 254u);
  EXPECT_EQ(UsableAddressCount(Pool("10.0.0.0/24", "10.0.0.1")), 253u);
  EXPECT_EQ(UsableAddressCount(Pool("10.0.0.0/24", "10.0.0.1", std::nullopt, {"10.0.0.2"})), 252u);
  // Gateway and reserved outside the range do not count; the gateway reserved twice counts once.
  EXPECT_EQ(UsableAddressCount(
                Pool("10.0.0.0/24", "10.0.0.1", "10.0.0.128/25", {"10.0.0.1", "10.0.0.130"})),
            126u);  // 128 minus broadcast and .130
  EXPECT_EQ(UsableAddressCount(Pool("10.0.0.0/24", std::nullopt, "10.0.0.0/25")), 127u);
}

TEST(UsableAddressCountTest, SmallAndHugePrefixes) {
  EXPECT_EQ(UsableAddressCount(Pool("10.0.0.4/30")), 2u);
  EXPECT_EQ(UsableAddressCount(Pool("10.0.0.6/31")), 2u);
  EXPECT_EQ(UsableAddressCount(Pool("10.0.0.7/32")), 1u);
  EXPECT_EQ(UsableAddressCount(Pool("10.0.0.7/32", "10.0.0.7")), 0u);
  EXPECT_EQ(UsableAddressCount(Pool("0.0.0.0/0")), (uint64_t{1} << 32) - 2);
  EXPECT_EQ(UsableAddressCount(Pool("10.0.0.0/8")), (uint64_t{1} << 24) - 2);
}

}  // namespace
}  // namespace bdcoord::net
