// A standby's refusal (leader_gate.h) on the wrapped services, and bdcoordd --advertise's default.
// No server: the calls are made on the services directly.
#include "coordinator/grpc/leader_gate.h"

#include <gmock/gmock.h>
#include <grpcpp/test/server_context_test_spouse.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "coordinator/grpc/token_auth.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

class FakeLeadership final : public Leadership {
 public:
  bool IsLeader() const override { return leads; }
  std::string Leader() const override { return leader; }
  bool leads = false;
  std::string leader;
};

class CountingClusterService final : public ClusterServiceBase {
 public:
  grpc::Status ListHosts(grpc::ServerContext*, const bdcoord::v1::ListHostsRequest*,
                         bdcoord::v1::ListHostsResponse*) override {
    ++calls;
    return grpc::Status::OK;
  }
  int calls = 0;
};

class CountingAgentService final : public bdcoord::v1::AgentService::Service {
 public:
  grpc::Status Connect(grpc::ServerContext*,
                       grpc::ServerReaderWriter<bdcoord::v1::CoordinatorMessage,
                                                bdcoord::v1::AgentMessage>*) override {
    ++calls;
    return grpc::Status::OK;
  }
  int calls = 0;
};

TEST(LeaderGate, AStandbyRefusesClientsNamingTheLeaderInTheMessageAndTheTrailer) {
  FakeLeadership leadership;
  leadership.leader = "10.0.0.1:7443";
  CountingClusterService inner;
  TokenClusterService service(&inner, "", &leadership);
  grpc::ServerContext context;
  grpc::testing::ServerContextTestSpouse spouse(&context);
  bdcoord::v1::ListHostsResponse hosts;
  const grpc::Status status = service.ListHosts(&context, nullptr, &hosts);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(),
            "this coordinator is a standby; the leader is at 10.0.0.1:7443");
  EXPECT_THAT(spouse.GetTrailingMetadata(), ElementsAre(Pair("bdcoord-leader", "10.0.0.1:7443")));
  EXPECT_EQ(inner.calls, 0);

  leadership.leads = true;  // leading now: served
  grpc::ServerContext later;
  EXPECT_TRUE(service.ListHosts(&later, nullptr, &hosts).ok());
  EXPECT_EQ(inner.calls, 1);
}

TEST(LeaderGate, AStandbyRefusesAgentsAndSaysWhenItKnowsNoLeader) {
  FakeLeadership leadership;  // no leader seen yet
  CountingAgentService inner;
  TokenAgentService service(&inner, "", &leadership);
  grpc::ServerContext context;
  grpc::testing::ServerContextTestSpouse spouse(&context);
  const grpc::Status status = service.Connect(&context, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "this coordinator is a standby; no leader is known yet");
  EXPECT_THAT(spouse.GetTrailingMetadata(), IsEmpty());
  EXPECT_EQ(inner.calls, 0);
}

TEST(LeaderGate, WithoutAnElectionEveryCallIsServed) {
  grpc::ServerContext context;
  EXPECT_TRUE(CheckLeadership(nullptr, &context).ok());
}

TEST(AdvertisedAddress, DefaultsToAListenAddressOthersCanDial) {
  EXPECT_EQ(*AdvertisedAddress("10.0.0.1:7443", "0.0.0.0:7443"), "10.0.0.1:7443");
  EXPECT_EQ(*AdvertisedAddress("", "unix:///run/bdcoord/a.sock"), "unix:///run/bdcoord/a.sock");
  EXPECT_EQ(*AdvertisedAddress("", "10.0.0.1:7443"), "10.0.0.1:7443");
  for (const std::string wildcard : {"0.0.0.0:7443", "[::]:7443", ":7443"}) {
    const absl::StatusOr<std::string> advertised = AdvertisedAddress("", wildcard);
    EXPECT_TRUE(absl::IsInvalidArgument(advertised.status())) << wildcard;
    EXPECT_EQ(advertised.status().message(),
              "--listen '" + wildcard +
                  "' is no address other machines can dial: with --store etcd://, pass "
                  "--advertise HOST:PORT, the address clients and agents should use for this "
                  "coordinator");
  }
}

}  // namespace
}  // namespace bdcoord::coordinator
