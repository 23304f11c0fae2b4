// The real ARP prober (RFC 5227 probes on AF_PACKET) on the testbed's LAN, from inside testbed
// host1's network namespace: host2's address answers with host2's MAC, a free address does not.
#include "net/arp_prober.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace bdcoord::net {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Pair;

constexpr char kHost2[] = "10.251.0.12";  // testbed host K is .(10+K) on eth0
constexpr char kFree[] = "10.251.0.9";    // below the hosts, outside the containers' range

// Runs `body` on a thread inside testbed host1's network namespace, where its agent runs.
void InHost1(const std::function<void()>& body) {
  std::thread thread([&] {
    const int fd = open("/var/run/netns/bdcoord-host1", O_RDONLY);
    ASSERT_GE(fd, 0) << "testbed host1 is not up (deploy/testbed.sh up 4)";
    ASSERT_EQ(setns(fd, CLONE_NEWNET), 0);
    close(fd);
    body();
  });
  thread.join();
}

TEST(ArpProberTest, AnAddressOnTheLanAnswersAFreeOneDoesNot) {
  InHost1([] {
    const std::unique_ptr<AddressProber> prober = NewArpProber();
    absl::Time start = absl::Now();
    auto answering = prober->Answering("eth0", {kHost2}, start + absl::Seconds(10));
    const absl::Duration answered_in = absl::Now() - start;
    ASSERT_TRUE(answering.ok()) << answering.status();
    EXPECT_THAT(*answering,
                ElementsAre(Pair(kHost2, MatchesRegex("([0-9a-f]{2}:){5}[0-9a-f]{2}"))));
    EXPECT_LT(answered_in, absl::Seconds(5)) << "returns once every address answered";

    start = absl::Now();
    answering = prober->Answering("eth0", {kFree, kHost2}, start + absl::Seconds(1));
    const absl::Duration waited = absl::Now() - start;
    ASSERT_TRUE(answering.ok()) << answering.status();
    EXPECT_EQ(answering->size(), 1u);
    EXPECT_TRUE(answering->contains(kHost2));
    EXPECT_FALSE(answering->contains(kFree));
    EXPECT_GE(waited, absl::Milliseconds(990)) << "a silent address costs the whole wait";
    std::printf("answered in %s; a free address waited %s\n",
                absl::FormatDuration(answered_in).c_str(), absl::FormatDuration(waited).c_str());
  });
}

TEST(ArpProberTest, AMissingParentOrABadAddressIsRefused) {
  InHost1([] {
    const std::unique_ptr<AddressProber> prober = NewArpProber();
    auto answering = prober->Answering("nope0", {kFree}, absl::Now() + absl::Seconds(1));
    EXPECT_EQ(answering.status(), absl::NotFoundError("no interface 'nope0' to probe on"));
    answering = prober->Answering("eth0", {"10.251.0"}, absl::Now() + absl::Seconds(1));
    EXPECT_EQ(answering.status(), absl::InvalidArgumentError("'10.251.0' is not an IPv4 address"));
    answering = prober->Answering("eth0", {}, absl::Now() + absl::Seconds(1));
    ASSERT_TRUE(answering.ok());
    EXPECT_THAT(*answering, IsEmpty());
  });
}

}  // namespace
}  // namespace bdcoord::net
