// ClusterOps against the fakes (agents, clock) and the real SQLite store on a temporary file.
#include "coordinator/ops/cluster_ops.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/testing/forwarding_store.h"
#include "tests/testing/metrics.h"
#include "tests/unit/coordinator/ops/ops_fixture.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

// The detail a rejected plan carries for tools, parsed.
template <typename Detail>
std::optional<Detail> DetailOf(const absl::Status& status) {
  const auto payload =
      status.GetPayload(absl::StrCat(kDetailTypeUrlPrefix, Detail::descriptor()->full_name()));
  if (!payload.has_value()) return std::nullopt;
  Detail detail;
  if (!detail.ParseFromString(std::string(*payload))) return std::nullopt;
  return detail;
}

TEST_F(OpsTest, ApplyStoresThePlanAndPublishesPlaced) {
  ConnectAll();
  auto events = events_.Subscribe("chain");
  absl::StatusOr<std::string> cluster = Apply();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EXPECT_EQ(*cluster, "chain");
  absl::StatusOr<AppliedCluster> stored = store_->GetCluster("chain");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->spec_file, "chain.yaml");
  EXPECT_EQ(stored->placement.instances_size(), 5);
  EXPECT_EQ(stored->applied_at, clock_.Now());
  const auto event = events->Next(absl::InfinitePast());
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->kind(), kEventPlaced);
  EXPECT_EQ(event->message(), "5 instances on 3 hosts");
}

TEST_F(OpsTest, InvalidSpecIsInvalidArgumentWithSpecErrorsAndStoresNothing) {
  ConnectAll();
  absl::StatusOr<std::string> cluster = Apply("cluster: chain\nservices:\n  zk: {count: 2}\n");
  ASSERT_EQ(cluster.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cluster.status().message(), HasSubstr("chain.yaml:3:"));
  const auto errors = DetailOf<bdcoord::v1::SpecErrors>(cluster.status());
  ASSERT_TRUE(errors.has_value());
  ASSERT_GT(errors->errors_size(), 0);
  EXPECT_EQ(errors->errors(0).file(), "chain.yaml");
  EXPECT_THAT(*store_->ListClusters(), IsEmpty());
}

// The chain spec with host_shim on its network, shim addresses from `shim_range`.
std::string ShimSpec(const std::string& shim_range = "10.60.0.248/29") {
  std::string yaml = kChainSpec;
  yaml.replace(yaml.find("ip_range:"), 0,
               absl::StrCat("host_shim: yes, shim_range: ", shim_range, ", "));
  return yaml;
}

// host -> its shim address on "lan", as stored.
std::map<std::string, std::string> StoredShims(Store& store) {
  std::map<std::string, std::string> shims;
  absl::StatusOr<AppliedCluster> applied = store.GetCluster("chain");
  if (!applied.ok()) {
    ADD_FAILURE() << applied.status();
    return shims;
  }
  for (const auto& shim : applied->placement.shims()) {
    EXPECT_EQ(shim.network(), "lan");
    shims[shim.host()] = shim.address();
  }
  return shims;
}

TEST_F(OpsTest, HostShimWithoutShimRangeIsRefusedAtItsPosition) {
  ConnectAll();
  std::string yaml = kChainSpec;
  yaml.replace(yaml.find("ip_range:"), 0, "host_shim: yes, ");
  absl::StatusOr<Plan> plan = ops_->PlanLive({"chain.yaml", yaml});
  ASSERT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(plan.status().message(),
            "chain.yaml:5:73: network 'lan' has host_shim but no shim_range\n  hint: add "
            "`shim_range: 10.60.0.248/29` (inside the subnet, outside ip_range): each host with "
            "containers on the network takes one address of it for its shim\n");
}

TEST_F(OpsTest, EachHostKeepsItsShimAddressAcrossScaleReapplyDrainAndRestart) {
  ConnectAll();
  ASSERT_TRUE(Apply(ShimSpec()).ok());
  EXPECT_THAT(
      StoredShims(*store_),
      ElementsAre(Pair("h1", "10.60.0.248"), Pair("h2", "10.60.0.249"), Pair("h3", "10.60.0.250")));
  RunUntilSettled();
  for (const auto& [host, address] : StoredShims(*store_)) {
    const auto desired = agents_.LatestDesired(host, "chain");
    ASSERT_TRUE(desired.has_value()) << host;
    EXPECT_THAT(desired->shim_addresses(), ElementsAre(Pair("lan", address + "/32"))) << host;
  }

  ASSERT_TRUE(ops_->Scale("chain", "kafka", 4).ok());
  ASSERT_TRUE(Apply(ShimSpec()).ok());
  EXPECT_THAT(
      StoredShims(*store_),
      ElementsAre(Pair("h1", "10.60.0.248"), Pair("h2", "10.60.0.249"), Pair("h3", "10.60.0.250")));

  // A host without instances there has no address; the others keep theirs.
  ASSERT_TRUE(ops_->DrainHost("h1", false).ok());
  EXPECT_THAT(StoredShims(*store_),
              ElementsAre(Pair("h2", "10.60.0.249"), Pair("h3", "10.60.0.250")));

  // Also across a coordinator restart (a fresh allocation would give h2 .248 and h3 .249).
  ops_.reset();
  controller_.reset();
  store_.reset();
  SetUp();
  ASSERT_TRUE(Apply(ShimSpec()).ok());
  EXPECT_THAT(StoredShims(*store_),
              ElementsAre(Pair("h2", "10.60.0.249"), Pair("h3", "10.60.0.250")));
}

TEST_F(OpsTest, TooFewShimAddressesIsAnErrorAtTheShimRange) {
  ConnectAll();
  absl::StatusOr<std::string> applied = Apply(ShimSpec("10.60.0.252/31"));
  ASSERT_EQ(applied.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(applied.status().message(),
            "chain.yaml:5:90: shim_range 10.60.0.252/31 of network 'lan' has 2 usable addresses "
            "for 3 hosts with instances on it (h1, h2, h3)\n  hint: widen shim_range: each host "
            "with instances on the network takes one address\n");
  EXPECT_THAT(*store_->ListClusters(), IsEmpty());
}

TEST_F(OpsTest, UnplaceableIsFailedPreconditionWithPlacementFailures) {
  Connect("h1");  // zk wants two distinct hosts
  absl::StatusOr<std::string> cluster = Apply();
  ASSERT_EQ(cluster.status().code(), absl::StatusCode::kFailedPrecondition);
  const auto failures = DetailOf<bdcoord::v1::PlacementFailures>(cluster.status());
  ASSERT_TRUE(failures.has_value());
  ASSERT_EQ(failures->failures_size(), 1);
  EXPECT_EQ(failures->failures(0).instance(), "zk2");
  EXPECT_EQ(failures->failures(0).filters(0).rule(), "distinct_hosts");
  EXPECT_THAT(*store_->ListClusters(), IsEmpty());
}

TEST_F(OpsTest, DrainedAndDisconnectedHostsGetNothing) {
  ConnectAll();
  inventory_.Disconnected("h3");
  ASSERT_TRUE(store_->DrainHost("h2", {}, clock_.Now(), true, {}).ok());
  Connect("h4");
  std::string yaml = kChainSpec;
  yaml.replace(yaml.find("{name: h3}"), 0, "{name: h4}, ");
  ASSERT_TRUE(Apply(yaml).ok());
  EXPECT_EQ(InstancesOn("chain", "h2"), 0);
  EXPECT_EQ(InstancesOn("chain", "h3"), 0);
  EXPECT_EQ(InstancesOn("chain", "h1") + InstancesOn("chain", "h4"), 5);
}

TEST_F(OpsTest, HostsGoneForLongAreForgottenUnlessInstancesReferToThem) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  Connect("h9");  // not in the spec: nothing is placed on it
  ASSERT_GT(InstancesOn("chain", "h1"), 0);
  inventory_.Disconnected("h1");
  inventory_.Disconnected("h9");
  const absl::Duration day = absl::Hours(24);
  clock_.Advance(day - absl::Seconds(1));
  EXPECT_THAT(ops_->ForgetGoneHosts(day), IsEmpty());
  clock_.Advance(absl::Seconds(1));
  // h1 still has placed instances: it stays (shown as disconnected) until they move.
  EXPECT_THAT(ops_->ForgetGoneHosts(day), ElementsAre("h9"));
  EXPECT_FALSE(inventory_.Find("h9").has_value());
  ASSERT_TRUE(inventory_.Find("h1").has_value());
  std::vector<std::string> listed;
  for (const auto& view : ops_->Hosts()) listed.push_back(view.name());
  EXPECT_THAT(listed, Not(Contains("h9")));
  // Taken down: nothing refers to h1 any more.
  ASSERT_TRUE(store_->DeleteCluster("chain").ok());
  EXPECT_THAT(ops_->ForgetGoneHosts(day), ElementsAre("h1"));
}

TEST_F(OpsTest, ScaleReplansWithTheNewCountAndKeepsTheOthersWhereTheyAre) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  const AppliedCluster before = *store_->GetCluster("chain");
  absl::StatusOr<std::string> cluster = ops_->Scale("", "kafka", 3);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const AppliedCluster after = *store_->GetCluster("chain");
  EXPECT_EQ(after.placement.instances_size(), 6);
  for (const auto& old : before.placement.instances()) {
    bool kept = false;
    for (const auto& now : after.placement.instances()) {
      kept = kept || (now.name() == old.name() && now.host() == old.host() && now.ip() == old.ip());
    }
    EXPECT_TRUE(kept) << old.name();
  }
  EXPECT_EQ(after.spec_yaml, before.spec_yaml);  // the text as applied; the count is in the spec
}

TEST_F(OpsTest, EachPlacementIsTimed) {
  ConnectAll();
  const std::string kPlacement = "bdcoord_placement_duration_seconds";
  EXPECT_EQ(test_util::MetricValue(registry_, kPlacement), 0);
  ASSERT_TRUE(ops_->PlanLive({"chain.yaml", kChainSpec}).ok());  // `bdcoord place`
  EXPECT_EQ(test_util::MetricValue(registry_, kPlacement), 1);
  ASSERT_TRUE(Apply().ok());
  EXPECT_EQ(test_util::MetricValue(registry_, kPlacement), 2);
  ASSERT_TRUE(ops_->Scale("chain", "kafka", 3).ok());
  EXPECT_EQ(test_util::MetricValue(registry_, kPlacement), 3);
  // Unknown service: refused before any placement.
  EXPECT_FALSE(ops_->Scale("chain", "kafak", 3).ok());
  EXPECT_EQ(test_util::MetricValue(registry_, kPlacement), 3);
}

TEST_F(OpsTest, ScaleErrorsNameTheProblem) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  absl::StatusOr<std::string> scaled = ops_->Scale("chain", "kafak", 3);
  EXPECT_EQ(scaled.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(scaled.status().message(),
            "cluster 'chain' has no service 'kafak'; did you mean 'kafka'?");
  scaled = ops_->Scale("chian", "kafka", 3);
  EXPECT_EQ(scaled.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(scaled.status().message(), "no cluster named 'chian'; did you mean 'chain'?");

  std::string pinned = kChainSpec;
  pinned.replace(pinned.find("ready: {tcp: 2181}"), 0, "ips: [10.60.0.80, 10.60.0.81], ");
  ASSERT_TRUE(Apply(pinned).ok());
  scaled = ops_->Scale("chain", "zk", 3);
  EXPECT_EQ(scaled.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scaled.status().message(),
            "service 'zk' pins 2 IPs, so it cannot run 3 instances; change `ips` in the spec and "
            "apply it instead");
}

TEST_F(OpsTest, DrainMovesEveryInstanceOffTheHostAtOnce) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  const int on_h1 = InstancesOn("chain", "h1");
  ASSERT_GT(on_h1, 0);
  auto events = events_.Subscribe("chain");
  absl::StatusOr<ClusterOps::DrainResult> drained = ops_->DrainHost("h1", false);
  ASSERT_TRUE(drained.ok()) << drained.status();
  EXPECT_EQ(drained->moved, static_cast<uint32_t>(on_h1));
  EXPECT_THAT(drained->clusters, ElementsAre("chain"));
  EXPECT_EQ(InstancesOn("chain", "h1"), 0);
  // Each moved instance with its new host, as stored.
  ASSERT_EQ(drained->instances.size(), static_cast<size_t>(on_h1));
  absl::StatusOr<AppliedCluster> after = store_->GetCluster("chain");
  ASSERT_TRUE(after.ok()) << after.status();
  for (const auto& moved : drained->instances) {
    EXPECT_EQ(moved.cluster(), "chain");
    bool found = false;
    for (const auto& instance : after->placement.instances()) {
      if (instance.name() != moved.instance()) continue;
      found = true;
      EXPECT_EQ(instance.host(), moved.host()) << moved.instance();
    }
    EXPECT_TRUE(found) << moved.instance();
  }
  EXPECT_TRUE(store_->ListHosts()->at(0).drained);
  const auto event = events->Next(absl::InfinitePast());
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->kind(), kEventPlaced);

  // Undo takes the drain back; nothing moves back.
  drained = ops_->DrainHost("h1", true);
  ASSERT_TRUE(drained.ok()) << drained.status();
  EXPECT_EQ(drained->moved, 0u);
  EXPECT_FALSE(store_->ListHosts()->at(0).drained);
  EXPECT_EQ(InstancesOn("chain", "h1"), 0);
}

// Issue 14: after a drain, `status` paired the moved instances' new hosts with what their old
// host had reported (`running yes`). A moved instance has no status until its new host reports.
TEST_F(OpsTest, AMovedInstanceShowsNothingItsNewHostDidNotReport) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  RunUntilSettled();
  absl::StatusOr<AppliedCluster> before = store_->GetCluster("chain");
  ASSERT_TRUE(before.ok()) << before.status();
  std::set<std::string> moved;
  for (const auto& instance : before->placement.instances()) {
    if (instance.host() == "h1") moved.insert(instance.name());
  }
  ASSERT_FALSE(moved.empty());
  ASSERT_TRUE(ops_->DrainHost("h1", false).ok());

  auto states = [&] {
    std::map<std::string, std::string> out;  // instance -> "HOST STATE READY"
    absl::StatusOr<std::vector<bdcoord::v1::ClusterStatus>> status = ops_->Status("chain", false);
    EXPECT_TRUE(status.ok()) << status.status();
    if (!status.ok()) return out;
    for (const auto& view : status->at(0).instances()) {
      out[view.placed().name()] = absl::StrCat(view.placed().host(), " ", view.status().state(),
                                               " ", view.status().ready());
    }
    return out;
  };
  for (const auto& [name, state] : states()) {
    EXPECT_THAT(state, Not(HasSubstr("h1"))) << name;
    if (moved.contains(name)) {
      EXPECT_THAT(state, HasSubstr(absl::StrCat(" ", bdcoord::v1::INSTANCE_STATE_PENDING, " 0")))
          << name;
    } else {
      EXPECT_THAT(state, HasSubstr(absl::StrCat(" ", bdcoord::v1::INSTANCE_STATE_RUNNING, " 1")))
          << name;
    }
  }
  // Also once the old host's report of them comes in again: it is not where they are.
  controller_->RunPass();
  for (const std::string& name : moved) {
    EXPECT_THAT(states()[name], HasSubstr(absl::StrCat(" ", bdcoord::v1::INSTANCE_STATE_PENDING)))
        << name;
  }
  // Their new hosts' reports count.
  RunUntilSettled();
  for (const auto& [name, state] : states()) {
    EXPECT_THAT(state, HasSubstr(absl::StrCat(" ", bdcoord::v1::INSTANCE_STATE_RUNNING, " 1")))
        << name;
  }
}

TEST_F(OpsTest, ImpossibleDrainChangesNothingAndSaysWhy) {
  Connect("h1");
  Connect("h2");
  ASSERT_TRUE(Apply().ok());
  const std::string before = store_->GetCluster("chain")->placement.SerializeAsString();
  absl::StatusOr<ClusterOps::DrainResult> drained = ops_->DrainHost("h1", false);
  ASSERT_EQ(drained.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(drained.status().message(),
              HasSubstr("cannot drain 'h1': cluster 'chain' does not fit on the other hosts; "
                        "nothing moved\n"));
  EXPECT_EQ(store_->GetCluster("chain")->placement.SerializeAsString(), before);
  EXPECT_THAT(*store_->ListHosts(), IsEmpty());  // not even admitted
}

TEST_F(OpsTest, DrainOfAnUnknownHostSuggestsOne) {
  ConnectAll();
  absl::StatusOr<ClusterOps::DrainResult> drained = ops_->DrainHost("h11", false);
  EXPECT_EQ(drained.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(drained.status().message(), "no host named 'h11'; did you mean 'h1'?");
}

TEST_F(OpsTest, DownDeletesAndReportsHostsThatAreGone) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  RunUntilSettled();
  inventory_.Disconnected("h3");
  for (const char* host : {"h1", "h2", "h3"}) agents_.ClearReports(host);
  absl::StatusOr<ClusterOps::DownResult> down = ops_->Down("", [] { return false; });
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(down->removed, 5u);
  EXPECT_THAT(down->disconnected_hosts, ElementsAre("h3"));
  EXPECT_THAT(*store_->ListClusters(), IsEmpty());
}

TEST_F(OpsTest, DownWaitsForTheHostsAndStopsWhenTheClientGoes) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  RunUntilSettled();  // every host reports running instances
  int asked = 0;
  absl::StatusOr<ClusterOps::DownResult> down = ops_->Down("chain", [&asked] {
    return ++asked == 2;  // gone at the second look
  });
  EXPECT_EQ(down.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(asked, 2);
  EXPECT_THAT(*store_->ListClusters(), IsEmpty());  // deleted first, whatever the client does
}

TEST_F(OpsTest, ProgressIsDoneOnlyOnceTheControllerSettledThisVersion) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  absl::StatusOr<bdcoord::v1::ApplyProgress> progress = ops_->Progress("chain");
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_FALSE(progress->done());
  RunUntilSettled();
  progress = ops_->Progress("chain");
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_TRUE(progress->done());
  ASSERT_EQ(progress->services_size(), 3);
  for (const auto& service : progress->services()) {
    EXPECT_EQ(service.ready(), service.desired()) << service.service();
  }
  // A scale is a new version: not done until the controller brought it out.
  ASSERT_TRUE(ops_->Scale("chain", "kafka", 1).ok());
  EXPECT_FALSE(ops_->Progress("chain")->done());
}

// The store as ClusterOps sees it, with `after_status_read` run once right after the first read
// of a cluster's statuses: what a controller pass that comes in between does.
class StoreWithStepAfterStatusRead : public test_util::ForwardingStore {
 public:
  StoreWithStepAfterStatusRead(Store& store, std::function<void()> after_status_read)
      : ForwardingStore(store), after_status_read_(std::move(after_status_read)) {}

  absl::StatusOr<std::map<std::string, ReportedStatus>> InstanceStatuses(
      const std::string& cluster) override {
    auto statuses = ForwardingStore::InstanceStatuses(cluster);
    if (after_status_read_) std::exchange(after_status_read_, nullptr)();
    return statuses;
  }

 private:
  std::function<void()> after_status_read_;
};

// Seen once in the rollout e2e test: `rollout undo` ended "failed" with the exit of the container
// it was replacing, as the statuses Progress had read were older than the agents' reports that
// settled the new version a moment later.
TEST_F(OpsTest, ProgressDoesNotEndOnAFailureOlderThanTheReportsThatSettledTheVersion) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  agents_.SetAnswerHook(
      [](const bdcoord::v1::DesiredInstance& instance, bdcoord::v1::InstanceStatus* status) {
        if (instance.service() != "drill") return;
        status->set_state(bdcoord::v1::INSTANCE_STATE_FAILED);
        status->set_ready(false);
        status->set_message("exited with code 3");
      });
  RunUntilSettled();
  absl::StatusOr<bdcoord::v1::ApplyProgress> failed = ops_->Progress("chain");
  ASSERT_TRUE(failed.ok()) << failed.status();
  ASSERT_TRUE(failed->done());
  ASSERT_EQ(failed->failures_size(), 1);
  agents_.SetAnswerHook(nullptr);

  // A mended drill. Its first pass, the agents' answers (drill1 running) and the pass that records
  // them come between Progress's read of the statuses and its question to the controller.
  std::string mended = kChainSpec;
  mended.replace(mended.find("drill: {image: busybox"), 22, "drill: {image: alpine:3");
  ASSERT_TRUE(Apply(mended).ok());
  StoreWithStepAfterStatusRead store(*store_, [this] {
    controller_->RunPass();
    agents_.AnswerEveryDesiredState(bdcoord::v1::INSTANCE_STATE_RUNNING);
    controller_->RunPass();
  });
  ClusterOps ops(inventory_, store, agents_, events_, *controller_, clock_.AsFunction(),
                 HostPolicy{}, &metrics_);
  absl::StatusOr<bdcoord::v1::ApplyProgress> progress = ops.Progress("chain");
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_THAT(progress->failures(), IsEmpty());
  for (const auto& service : progress->services()) {
    EXPECT_EQ(service.failed(), 0u) << service.service();
  }
}

// A scale down: every instance left has its status, so only the version tells it is not settled.
TEST_F(OpsTest, AVersionAppliedBetweenProgresssReadsIsNotTheOneSettled) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  RunUntilSettled();
  StoreWithStepAfterStatusRead store(
      *store_, [this] { ASSERT_TRUE(ops_->Scale("chain", "kafka", 1).ok()); });
  ClusterOps ops(inventory_, store, agents_, events_, *controller_, clock_.AsFunction(),
                 HostPolicy{}, &metrics_);
  const absl::StatusOr<bdcoord::v1::ApplyProgress> progress = ops.Progress("chain");
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_FALSE(progress->done());
}

TEST_F(OpsTest, ProgressOfAClusterTakenDownBetweenItsReadsIsAborted) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  RunUntilSettled();
  // What `bdcoord down` does first, between Progress's two reads (the first settled).
  StoreWithStepAfterStatusRead store(*store_,
                                     [this] { ASSERT_TRUE(store_->DeleteCluster("chain").ok()); });
  ClusterOps ops(inventory_, store, agents_, events_, *controller_, clock_.AsFunction(),
                 HostPolicy{}, &metrics_);
  const absl::StatusOr<bdcoord::v1::ApplyProgress> progress = ops.Progress("chain");
  EXPECT_EQ(progress.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(progress.status().message(), HasSubstr("cluster 'chain' was taken down meanwhile"));
}

TEST_F(OpsTest, FollowProgressWritesEachChangeAndEndsWhenDone) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  RunUntilSettled();
  std::vector<bdcoord::v1::ApplyProgress> written;
  const absl::Status followed = ops_->FollowProgress(
      "chain",
      [&written](const bdcoord::v1::ApplyProgress& progress) {
        written.push_back(progress);
        return true;
      },
      [] { return false; });
  ASSERT_TRUE(followed.ok()) << followed;
  ASSERT_EQ(written.size(), 1u);
  EXPECT_TRUE(written[0].done());

  ASSERT_TRUE(ops_->Scale("chain", "kafka", 1).ok());
  EXPECT_EQ(ops_->FollowProgress(
                    "chain", [](const bdcoord::v1::ApplyProgress&) { return false; },
                    [] { return false; })
                .code(),
            absl::StatusCode::kCancelled);
  ASSERT_TRUE(store_->DeleteCluster("chain").ok());
  const absl::Status gone = ops_->FollowProgress(
      "chain", [](const bdcoord::v1::ApplyProgress&) { return true; }, [] { return false; });
  EXPECT_EQ(gone.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(gone.message(), "cluster 'chain' was taken down meanwhile");
}

TEST_F(OpsTest, ResolveClusterNamesTheChoices) {
  ConnectAll();
  EXPECT_EQ(ops_->ResolveCluster("").status().message(), "no cluster is applied");
  ASSERT_TRUE(Apply().ok());
  EXPECT_EQ(*ops_->ResolveCluster(""), "chain");
  std::string other = kChainSpec;
  other.replace(0, std::string("cluster: chain").size(), "cluster: other");
  ASSERT_TRUE(Apply(other).ok()) << Apply(other).status();
  absl::StatusOr<std::string> resolved = ops_->ResolveCluster("");
  EXPECT_EQ(resolved.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(resolved.status().message(),
            "2 clusters are applied (chain, other): name one with -c/--cluster");
}

TEST_F(OpsTest, StatusShowsEveryInstanceAndProbesRunningOnesOnTheirHost) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  auto pending = ops_->Status("chain", false);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 1u);
  for (const auto& view : (*pending)[0].instances()) {
    EXPECT_EQ(view.status().state(), bdcoord::v1::INSTANCE_STATE_PENDING) << view.placed().name();
  }
  RunUntilSettled();
  bdcoord::v1::CommandResult ok;
  ok.set_ok(true);
  agents_.SetProbeResult("c-zk1", ok);
  auto probed = ops_->Status("", true);
  ASSERT_TRUE(probed.ok()) << probed.status();
  std::map<std::string, std::string> probe_of;
  for (const auto& view : (*probed)[0].instances()) probe_of[view.placed().name()] = view.probe();
  EXPECT_EQ(probe_of["zk1"], "ok");
  EXPECT_THAT(probe_of["zk2"], HasSubstr("no answer"));
  EXPECT_EQ(probe_of["kafka1"], "");  // no readiness probe
  EXPECT_EQ(agents_.probes().size(), 2u);
}

TEST_F(OpsTest, HostsShowDrainAndInstanceCounts) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  ASSERT_TRUE(ops_->DrainHost("h3", false).ok());
  const std::vector<bdcoord::v1::HostView> hosts = ops_->Hosts();
  ASSERT_EQ(hosts.size(), 3u);
  EXPECT_EQ(hosts[2].name(), "h3");
  EXPECT_TRUE(hosts[2].drained());
  EXPECT_EQ(hosts[2].instances(), 0u);
  EXPECT_EQ(hosts[0].instances() + hosts[1].instances(), 5u);
  EXPECT_EQ(hosts[0].last_heartbeat().seconds(), absl::ToUnixSeconds(clock_.Now()));
}

TEST_F(OpsTest, LogTargetsAreOneInstanceOrAWholeServiceOnConnectedHosts) {
  ConnectAll();
  ASSERT_TRUE(Apply().ok());
  RunUntilSettled();
  auto targets = ops_->LogTargets("", "zk");
  ASSERT_TRUE(targets.ok()) << targets.status();
  ASSERT_EQ(targets->size(), 2u);
  EXPECT_EQ((*targets)[0].container, "c-zk1");  // the container's ID, as reported
  EXPECT_EQ(ops_->LogTargets("", "").status().message(),
            "name an instance or a service whose logs to stream");
  EXPECT_EQ(ops_->LogTargets("", "zk9").status().message(),
            "no instance or service named 'zk9' in cluster 'chain'; did you mean 'zk1'?");
  const std::string host = (*targets)[0].host;
  inventory_.Disconnected(host);
  auto unavailable = ops_->LogTargets("chain", "zk1");
  EXPECT_EQ(unavailable.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(unavailable.status().message(),
            absl::StrCat("instance 'zk1' is on host '", host, "', which is not connected"));
}

}  // namespace
}  // namespace bdcoord::coordinator
