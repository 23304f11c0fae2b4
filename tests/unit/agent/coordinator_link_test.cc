// The coordinator link's decisions: when to dial again, what to tell the operator, the hello.
// The stream itself is covered by tests/integration/coordinator_agents_test.cc.
#include "agent/coordinator_link.h"

#include <gtest/gtest.h>

#include "tests/testing/fake_clock.h"

namespace bdcoord::agent {
namespace {

CoordinatorLinkOptions Options() {
  CoordinatorLinkOptions options;
  options.now = test_util::RealClock();
  options.heartbeat_interval = absl::Seconds(5);
  options.min_backoff = absl::Seconds(1);
  options.max_backoff = absl::Seconds(30);
  return options;
}

TEST(ReconnectDelay, RetriesSoonWhileAFailoverIsUnderWay) {
  // Served 2 s or 29 s ago: the next leader is coming, whatever backoff the failed rounds grew.
  EXPECT_EQ(ReconnectDelay(Options(), absl::Seconds(16), absl::Seconds(2)), absl::Seconds(1));
  EXPECT_EQ(ReconnectDelay(Options(), absl::Seconds(16), absl::Seconds(29)), absl::Seconds(1));
}

TEST(ReconnectDelay, BacksOffWhenNotServedForLong) {
  EXPECT_EQ(ReconnectDelay(Options(), absl::Seconds(8), absl::Seconds(31)), absl::Seconds(8));
  EXPECT_EQ(ReconnectDelay(Options(), absl::Seconds(8), absl::InfiniteDuration()),
            absl::Seconds(8));  // never served: an agent started before its coordinator
}

TEST(StreamWasServed, WhenItOutlivedTwoHeartbeats) {
  EXPECT_FALSE(StreamWasServed(Options(), absl::Milliseconds(20)));  // a standby's refusal
  EXPECT_FALSE(StreamWasServed(Options(), absl::Seconds(10)));       // heartbeat every 5 s
  EXPECT_TRUE(StreamWasServed(Options(), absl::Seconds(11)));
}

TEST(NextLinkBackoff, DoublesUpToTheMaximum) {
  EXPECT_EQ(NextLinkBackoff(Options(), absl::Seconds(1)), absl::Seconds(2));
  EXPECT_EQ(NextLinkBackoff(Options(), absl::Seconds(16)), absl::Seconds(30));
}

TEST(StreamErrorHint, NamesTheTokenOrTheTlsFlags) {
  EXPECT_EQ(StreamErrorHint(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no token")),
            " (hint: give the coordinator's token with --token-file, or connect over mutual TLS)");
  EXPECT_EQ(StreamErrorHint(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                         "Ssl handshake failed: CERTIFICATE_VERIFY_FAILED")),
            " (hint: check --tls-ca, --tls-cert, --tls-key and the name in the coordinator's "
            "certificate, or --tls-server-name)");
  EXPECT_EQ(StreamErrorHint(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused")), "");
}

TEST(HelloMessage, CarriesTheHostNameAndFreshFacts) {
  CoordinatorLinkOptions options = Options();
  options.host_name = "w1";
  int collected = 0;
  options.facts = [&] {
    bdcoord::v1::HostFacts facts;
    facts.set_cpus(++collected);
    return facts;
  };
  EXPECT_EQ(HelloMessage(options).hello().host(), "w1");
  EXPECT_EQ(HelloMessage(options).hello().facts().cpus(), 2u) << "facts are collected per hello";
}

}  // namespace
}  // namespace bdcoord::agent
