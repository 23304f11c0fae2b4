// The leader election: its pure logic alone, then LeaderElection and the fenced etcd store on
// tests/testing's fake etcd (store_etcd_test does it on a real one, with a takeover's time).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "coordinator/state/election_logic.h"
#include "coordinator/state/leader_election.h"
#include "coordinator/state/store_etcd.h"
#include "tests/integration/wait_for.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_etcd_kv.h"
#include "tests/unit/coordinator/state/store_contract.h"

namespace bdcoord::coordinator {
namespace {

const absl::Time t0 = absl::FromUnixSeconds(1700000000);

TEST(ElectionLogicTest, LeadsUntilTheLeaseMayEndCountedFromTheRequestSent) {
  ElectionLogic logic(absl::Seconds(5), absl::Seconds(1));
  EXPECT_FALSE(logic.LeadsAt(t0));
  EXPECT_EQ(logic.RevisionAt(t0), 0);
  logic.Won(42, t0);
  EXPECT_TRUE(logic.LeadsAt(t0 + absl::Seconds(3)));
  EXPECT_EQ(logic.RevisionAt(t0 + absl::Seconds(3)), 42);
  // Steps down the margin before etcd may let the key go.
  EXPECT_FALSE(logic.LeadsAt(t0 + absl::Seconds(4)));
  EXPECT_TRUE(logic.ExpiredAt(t0 + absl::Seconds(4)));
  EXPECT_EQ(logic.RevisionAt(t0 + absl::Seconds(4)), 0);
  // A renewal sent later moves the end; an older answer arriving late does not move it back.
  logic.KeptAlive(t0 + absl::Seconds(2));
  logic.KeptAlive(t0 + absl::Seconds(1));
  EXPECT_TRUE(logic.LeadsAt(t0 + absl::Seconds(5)));
  EXPECT_FALSE(logic.LeadsAt(t0 + absl::Seconds(6)));
}

TEST(ElectionLogicTest, ALeaderRenewsAThirdOfTheLeaseApartAFollowerCampaignsAsOften) {
  ElectionLogic logic(absl::Seconds(6));
  EXPECT_EQ(logic.NextActionAt(t0), t0 + absl::Seconds(2));
  logic.Lost("10.0.0.2:7443");
  EXPECT_EQ(logic.leader(), "10.0.0.2:7443");
  EXPECT_EQ(logic.NextActionAt(t0), t0 + absl::Seconds(2));
  logic.Won(7, t0 + absl::Seconds(10));
  EXPECT_EQ(logic.leader(), "");
  EXPECT_EQ(logic.NextActionAt(t0), t0 + absl::Seconds(12));
  logic.KeptAlive(t0 + absl::Seconds(12));
  EXPECT_EQ(logic.NextActionAt(t0), t0 + absl::Seconds(14));
  logic.LeaseGone();
  EXPECT_FALSE(logic.won());
  EXPECT_FALSE(logic.LeadsAt(t0 + absl::Seconds(12)));
  // A renewal answered after the lease was gone changes nothing.
  logic.KeptAlive(t0 + absl::Seconds(13));
  EXPECT_FALSE(logic.LeadsAt(t0 + absl::Seconds(13)));
}

LeaderElectionOptions Options(const std::string& advertise, absl::Duration ttl) {
  return {.key = "/bdcoord-test/leader",
          .advertise = advertise,
          .ttl = ttl,
          .now = test_util::RealClock()};
}

TEST(LeaderElectionTest, OneLeadsTheOtherFollowsAndTakesOverWhenItsLeaseEnds) {
  test_util::FakeEtcdKv etcd;
  LeaderElection a(&etcd, Options("a:7443", absl::Milliseconds(300)));
  a.Start();
  ASSERT_TRUE(a.AwaitLeadership(absl::Seconds(5)));
  LeaderElection b(&etcd, Options("b:7443", absl::Milliseconds(300)));
  b.Start();
  ASSERT_TRUE(test_util::WaitFor([&] { return b.Leader() == "a:7443"; }, absl::Seconds(5)));
  EXPECT_FALSE(b.IsLeader());
  EXPECT_EQ(b.revision(), 0);
  EXPECT_EQ(etcd.Dump()["/bdcoord-test/leader"], "a:7443");

  // a dies (no resign): its lease ends in etcd, b's next campaign wins.
  a.Abandon();
  const int64_t old_revision = a.revision();
  EXPECT_NE(old_revision, 0);  // a does not know yet
  etcd.ExpireAllLeasesOf("/bdcoord-test/leader");
  ASSERT_TRUE(b.AwaitLeadership(absl::Seconds(5)));
  EXPECT_EQ(b.Leader(), "b:7443");
  EXPECT_NE(b.revision(), old_revision);
  // Resigning gives the key up at once.
  b.Resign();
  EXPECT_FALSE(b.IsLeader());
  EXPECT_EQ(etcd.Dump().count("/bdcoord-test/leader"), 0u);
}

// A fence that says what the test wants: a leader that does not know it lost.
class FixedFence : public LeaderFence {
 public:
  std::string key() const override { return "/bdcoord-test/leader"; }
  int64_t revision() const override { return revision_; }
  int64_t revision_ = 0;
};

TEST(FencedEtcdStoreTest, OnlyTheLeaderWritesAndALeaderThatLostCannot) {
  QuietStoreLogger();
  test_util::FakeEtcdKv etcd;
  FixedFence fence;
  absl::StatusOr<std::unique_ptr<Store>> store =
      OpenEtcdStore(std::make_unique<test_util::SharedEtcdKv>(&etcd), "/bdcoord-test/", &fence);
  ASSERT_TRUE(store.ok()) << store.status();  // opening writes the schema key unfenced

  absl::Status status = (*store)->ApplyCluster(MakeCluster("demo", 1, {{"zk", 1}}));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            "store fake etcd prefix '/bdcoord-test/': ApplyCluster 'demo': this coordinator is "
            "not the leader (there is none right now)");

  LeaderElection other(&etcd, Options("b:7443", absl::Seconds(30)));
  other.Start();
  ASSERT_TRUE(other.AwaitLeadership(absl::Seconds(5)));
  fence.revision_ = other.revision();  // as if this coordinator held it
  ASSERT_TRUE((*store)->ApplyCluster(MakeCluster("demo", 1, {{"zk", 1}})).ok());
  EXPECT_TRUE((*store)->AdmitHost("h1", bdcoord::v1::HostFacts(), t0).ok());

  // The key was made again (another term): the old revision writes nothing, reads still work.
  other.Resign();
  LeaderElection next(&etcd, Options("c:7443", absl::Seconds(30)));
  next.Start();
  ASSERT_TRUE(next.AwaitLeadership(absl::Seconds(5)));
  status = (*store)->ApplyCluster(MakeCluster("demo", 1, {{"zk", 2}}));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            "store fake etcd prefix '/bdcoord-test/': ApplyCluster 'demo': this coordinator is "
            "not the leader; the leader is 'c:7443'");
  EXPECT_EQ((*store)->GetCluster("demo")->placement.instances_size(), 1);
  EXPECT_EQ((*store)->MarkHostSeen("h1", t0).code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace bdcoord::coordinator
