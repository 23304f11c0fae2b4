#include "tests/unit/coordinator/state/store_contract.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "spdlog/spdlog.h"

namespace bdcoord::coordinator {

void QuietStoreLogger() {
  if (spdlog::get("store") == nullptr) {
    auto logger = spdlog::default_logger()->clone("store");
    logger->set_level(spdlog::level::warn);
    spdlog::register_logger(logger);
  }
}

void StoreContractTest::SetUp() {
  QuietStoreLogger();
  backend_ = GetParam().make();
  ASSERT_NE(backend_, nullptr);
}

Store& StoreContractTest::Open() {
  store_.reset();
  absl::StatusOr<std::unique_ptr<Store>> store = backend_->Open();
  if (!store.ok()) {
    ADD_FAILURE() << store.status();
    std::abort();  // every test needs it
  }
  store_ = *std::move(store);
  return *store_;
}

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

TEST_P(StoreContractTest, KeepsTheRolloutAndThePreviousSpecWithTheCluster) {
  Store& store = Open();
  AppliedCluster cluster = MakeCluster("demo", 1, {{"zk", 2}});
  cluster.rollout.set_state(bdcoord::v1::Rollout::STATE_ROLLING);
  cluster.rollout.set_revision(4);
  bdcoord::v1::RolloutStep* step = cluster.rollout.add_steps();
  step->set_instance("zk1");
  step->set_phase(bdcoord::v1::RolloutStep::PHASE_WAITING);
  step->mutable_previous()->add_command("old");
  cluster.previous_spec_file = "old.yaml";
  cluster.previous_spec_yaml = "cluster: demo\n";
  cluster.previous_spec.set_cluster("demo");
  ASSERT_TRUE(store.ApplyCluster(cluster).ok());
  store_.reset();
  absl::StatusOr<AppliedCluster> got = Open().GetCluster("demo");  // after a restart
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->rollout.SerializeAsString(), cluster.rollout.SerializeAsString());
  EXPECT_EQ(got->previous_spec_file, "old.yaml");
  EXPECT_EQ(got->previous_spec_yaml, "cluster: demo\n");
  EXPECT_EQ(got->previous_spec.cluster(), "demo");
}

TEST_P(StoreContractTest, ARolloutChangeMadeAgainstAnOlderRevisionIsRefused) {
  Store& store = Open();
  AppliedCluster cluster = MakeCluster("demo", 1, {{"zk", 1}});
  cluster.rollout.set_state(bdcoord::v1::Rollout::STATE_ROLLING);
  cluster.rollout.set_revision(1);
  ASSERT_TRUE(store.ApplyCluster(cluster).ok());

  bdcoord::v1::Rollout paused = cluster.rollout;
  paused.set_state(bdcoord::v1::Rollout::STATE_PAUSED);
  ASSERT_TRUE(store.UpdateRollout("demo", paused).ok());
  EXPECT_EQ(store.GetCluster("demo")->rollout.revision(), 2u);
  EXPECT_EQ(store.GetCluster("demo")->rollout.state(), bdcoord::v1::Rollout::STATE_PAUSED);

  // A second change made from revision 1 (a controller pass that read before the pause).
  bdcoord::v1::Rollout stale = cluster.rollout;
  stale.set_state(bdcoord::v1::Rollout::STATE_DONE);
  const absl::Status refused = store.UpdateRollout("demo", stale);
  EXPECT_TRUE(absl::IsAborted(refused)) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("changed meanwhile (revision 2"));
  EXPECT_EQ(store.GetCluster("demo")->rollout.state(), bdcoord::v1::Rollout::STATE_PAUSED);
  EXPECT_TRUE(absl::IsNotFound(store.UpdateRollout("nope", paused)));
  // Down forgets it with the cluster.
  ASSERT_TRUE(store.DeleteCluster("demo").ok());
  EXPECT_TRUE(backend_->Leftovers("demo").empty());
}

TEST_P(StoreContractTest, ReadsBackShimAddressesInTheirOrder) {
  Store& store = Open();
  AppliedCluster applied = MakeCluster("demo", 1, {{"zk", 2}});
  applied.placement.mutable_shims()->SwapElements(0, 1);  // any order is kept as it is
  ASSERT_TRUE(store.ApplyCluster(applied).ok());
  absl::StatusOr<AppliedCluster> got = store.GetCluster("demo");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->placement.shims_size(), 2);
  EXPECT_EQ(got->placement.shims(0).host(), "h2");
  EXPECT_EQ(got->placement.shims(0).address(), "10.1.0.252");
  EXPECT_EQ(got->placement.shims(1).host(), "h1");
  // A re-apply replaces them.
  applied.placement.mutable_shims()->RemoveLast();
  ASSERT_TRUE(store.ApplyCluster(applied).ok());
  EXPECT_EQ(store.GetCluster("demo")->placement.shims_size(), 1);
}

TEST_P(StoreContractTest, AdmitsListsAndDrainsHosts) {
  Store& store = Open();
  bdcoord::v1::HostFacts facts;
  facts.set_hostname("h2.lan");
  facts.set_cpus(8);
  facts.set_docker_version("20.10.24");
  (*facts.mutable_labels())["rack"] = "r1";
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  ASSERT_TRUE(store.AdmitHost("h2", facts, t0).ok());
  ASSERT_TRUE(store.AdmitHost("h1", bdcoord::v1::HostFacts(), t0).ok());

  absl::StatusOr<std::vector<HostRecord>> hosts = store.ListHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  ASSERT_EQ(hosts->size(), 2u);
  EXPECT_EQ((*hosts)[0].name, "h1");
  EXPECT_EQ((*hosts)[1].name, "h2");
  EXPECT_EQ((*hosts)[1].facts.cpus(), 8u);
  EXPECT_EQ((*hosts)[1].facts.labels().at("rack"), "r1");
  EXPECT_EQ((*hosts)[1].last_seen, t0);
  EXPECT_FALSE((*hosts)[1].drained);

  ASSERT_TRUE(store.SetHostDrained("h2", true).ok());
  ASSERT_TRUE(store.MarkHostSeen("h2", t0 + absl::Seconds(5)).ok());
  // Re-admission updates the facts and keeps the drain.
  facts.set_cpus(16);
  ASSERT_TRUE(store.AdmitHost("h2", facts, t0 + absl::Seconds(9)).ok());
  hosts = store.ListHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  EXPECT_EQ((*hosts)[1].facts.cpus(), 16u);
  EXPECT_EQ((*hosts)[1].last_seen, t0 + absl::Seconds(9));
  EXPECT_TRUE((*hosts)[1].drained);

  ASSERT_TRUE(store.MarkHostSeen("h1", t0 + absl::Seconds(3)).ok());
  ASSERT_TRUE(store.SetHostDrained("h2", false).ok());
  hosts = store.ListHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  EXPECT_EQ((*hosts)[0].last_seen, t0 + absl::Seconds(3));
  EXPECT_FALSE((*hosts)[1].drained);
}

TEST_P(StoreContractTest, DrainHostStoresTheFlagAndEveryReplanAtOnce) {
  Store& store = Open();
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("a", 1, {{"zk", 3}})).ok());
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("b", 2, {{"kafka", 2}})).ok());
  AppliedCluster a = MakeCluster("a", 1, {{"zk", 3}});
  AppliedCluster b = MakeCluster("b", 2, {{"kafka", 2}});
  for (AppliedCluster* cluster : {&a, &b}) {
    for (auto& instance : *cluster->placement.mutable_instances()) instance.set_host("h2");
  }
  ASSERT_TRUE(store.DrainHost("h1", bdcoord::v1::HostFacts(), t0, true, {a, b}).ok());
  absl::StatusOr<std::vector<HostRecord>> hosts = store.ListHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_TRUE((*hosts)[0].drained);
  EXPECT_EQ((*hosts)[0].last_seen, t0);
  for (const char* name : {"a", "b"}) {
    absl::StatusOr<AppliedCluster> stored = store.GetCluster(name);
    ASSERT_TRUE(stored.ok()) << stored.status();
    for (const auto& instance : stored->placement.instances()) EXPECT_EQ(instance.host(), "h2");
  }
  ASSERT_TRUE(store.DrainHost("h1", bdcoord::v1::HostFacts(), t0, false, {}).ok());
  hosts = store.ListHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  EXPECT_FALSE((*hosts)[0].drained);
}

TEST_P(StoreContractTest, DrainHostFailingHalfWayChangesNothing) {
  Store& store = Open();
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("a", 1, {{"zk", 3}})).ok());
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("b", 2, {{"kafka", 2}})).ok());
  AppliedCluster a = MakeCluster("a", 1, {{"zk", 3}});
  for (auto& instance : *a.placement.mutable_instances()) instance.set_host("h2");
  // The second re-plan takes an IP of cluster a: the store refuses it after a is written.
  AppliedCluster b = MakeCluster("b", 2, {{"kafka", 2}});
  b.placement.mutable_instances(0)->set_ip("10.1.0.1");
  const absl::Status status = store.DrainHost("h1", bdcoord::v1::HostFacts(), t0, true, {a, b});
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(status.message(), HasSubstr("10.1.0.1"));
  absl::StatusOr<std::vector<HostRecord>> hosts = store.ListHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  EXPECT_THAT(*hosts, IsEmpty());  // not even admitted
  absl::StatusOr<AppliedCluster> stored = store.GetCluster("a");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->placement.SerializeAsString(),
            MakeCluster("a", 1, {{"zk", 3}}).placement.SerializeAsString());
}

TEST_P(StoreContractTest, UnknownHostIsNotFound) {
  Store& store = Open();
  absl::Status status = store.MarkHostSeen("ghost", absl::Now());
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("'ghost'"));
  status = store.SetHostDrained("ghost", true);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("'ghost'"));
  EXPECT_EQ(store.AdmitHost("", bdcoord::v1::HostFacts(), absl::Now()).code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::vector<HostRecord>> hosts = store.ListHosts();
  ASSERT_TRUE(hosts.ok());
  EXPECT_THAT(*hosts, IsEmpty());
}

TEST_P(StoreContractTest, AppliesAndReadsBackACluster) {
  Store& store = Open();
  AppliedCluster applied = MakeCluster("demo", 1, {{"zk", 3}, {"format", 1, true}});
  applied.spec_yaml = "cluster: demo\nservices: {}\n";
  ASSERT_TRUE(store.ApplyCluster(applied).ok());
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("alpha", 2, {{"web", 1}})).ok());

  absl::StatusOr<AppliedCluster> got = store.GetCluster("demo");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name, "demo");
  EXPECT_EQ(got->spec_file, "demo.yaml");
  EXPECT_EQ(got->spec_yaml, applied.spec_yaml);
  EXPECT_EQ(got->applied_at, applied.applied_at);
  EXPECT_EQ(got->spec.SerializeAsString(), applied.spec.SerializeAsString());
  EXPECT_EQ(got->placement.SerializeAsString(), applied.placement.SerializeAsString());
  EXPECT_THAT(Names(*got), ElementsAre("zk1", "zk2", "zk3", "format1"));
  EXPECT_EQ(got->placement.instances(1).fqdn(), "zk2.demo.lan");
  EXPECT_EQ(got->placement.instances(1).host(), "h2");
  EXPECT_EQ(got->placement.instances(1).index(), 2u);

  absl::StatusOr<std::vector<std::string>> names = store.ListClusters();
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_THAT(*names, ElementsAre("alpha", "demo"));

  got = store.GetCluster("nope");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(got.status().message(), HasSubstr("'nope'"));
}

TEST_P(StoreContractTest, AnInstanceWithoutIpIsStored) {
  Store& store = Open();
  AppliedCluster applied = MakeCluster("demo", 1, {{"a", 2}});
  applied.placement.mutable_instances(0)->clear_ip();
  applied.placement.mutable_instances(1)->clear_ip();
  ASSERT_TRUE(store.ApplyCluster(applied).ok());
  absl::StatusOr<AppliedCluster> got = store.GetCluster("demo");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->placement.instances(1).ip(), "");
  absl::StatusOr<std::map<std::string, IpOwner>> ips = store.AllocatedIps();
  ASSERT_TRUE(ips.ok());
  EXPECT_THAT(*ips, IsEmpty());
}

TEST_P(StoreContractTest, RejectsAnIpThatAnotherClusterHolds) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("kafka", 1, {{"broker", 3}})).ok());
  // zk2 would get 10.1.0.2, held by broker2 of cluster kafka.
  AppliedCluster clash = MakeCluster("zk", 1, {{"zk", 2}});
  clash.placement.mutable_instances(0)->set_ip("10.9.0.1");
  absl::Status status = store.ApplyCluster(clash);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(),
            "IP 10.1.0.2 of instance 'zk2' of cluster 'zk' is already allocated to instance "
            "'broker2' of cluster 'kafka'");
  // Nothing of it was stored.
  absl::StatusOr<std::vector<std::string>> names = store.ListClusters();
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ElementsAre("kafka"));

  // A re-apply that clashes leaves the previous version in place.
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("zk", 2, {{"zk", 2}})).ok());
  AppliedCluster grown = MakeCluster("zk", 2, {{"zk", 3}});
  grown.placement.mutable_instances(2)->set_ip("10.1.0.3");
  status = store.ApplyCluster(grown);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(status.message(), HasSubstr("'broker3' of cluster 'kafka'"));
  absl::StatusOr<AppliedCluster> got = store.GetCluster("zk");
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(Names(*got), ElementsAre("zk1", "zk2"));
}

TEST_P(StoreContractTest, ReapplyMaySwapIpsWithinACluster) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"a", 3}})).ok());
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"a", 3}}, /*ip_shift=*/1)).ok());
  absl::StatusOr<AppliedCluster> got = store.GetCluster("demo");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->placement.instances(0).ip(), "10.1.0.2");
  EXPECT_EQ(got->placement.instances(2).ip(), "10.1.0.1");
}

TEST_P(StoreContractTest, RejectsAClusterThatContradictsItself) {
  Store& store = Open();
  AppliedCluster twice = MakeCluster("demo", 1, {{"a", 2}});
  twice.placement.mutable_instances(1)->set_name("a1");
  absl::Status status = store.ApplyCluster(twice);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("instance 'a1' is placed twice"));

  AppliedCluster same_ip = MakeCluster("demo", 1, {{"a", 2}});
  same_ip.placement.mutable_instances(1)->set_ip("10.1.0.1");
  status = store.ApplyCluster(same_ip);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("IP 10.1.0.1 is given to both 'a1' and 'a2'"));

  AppliedCluster same_shim = MakeCluster("demo", 1, {{"a", 2}});
  same_shim.placement.mutable_shims(1)->set_address("10.1.0.251");
  status = store.ApplyCluster(same_shim);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("shim address 10.1.0.251 of network 'lan' is given to "
                                          "both 'h1' and 'h2'"));
  same_shim.placement.mutable_shims(1)->clear_host();
  EXPECT_THAT(store.ApplyCluster(same_shim).message(),
              HasSubstr("a shim address lacks its network, host or address"));
  AppliedCluster two_shims = MakeCluster("demo", 1, {{"a", 2}});
  two_shims.placement.mutable_shims(1)->set_host("h1");
  status = store.ApplyCluster(two_shims);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("host 'h1' has two shim addresses on network 'lan'"));

  AppliedCluster renamed = MakeCluster("demo", 1, {{"a", 1}});
  renamed.spec.set_cluster("other");
  EXPECT_EQ(store.ApplyCluster(renamed).code(), absl::StatusCode::kInvalidArgument);
  renamed = MakeCluster("demo", 1, {{"a", 1}});
  renamed.placement.set_cluster("other");
  EXPECT_EQ(store.ApplyCluster(renamed).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.ApplyCluster(AppliedCluster()).code(), absl::StatusCode::kInvalidArgument);

  absl::StatusOr<std::vector<std::string>> names = store.ListClusters();
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, IsEmpty());
}

TEST_P(StoreContractTest, AllocatedIpsAcrossClusters) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("kafka", 1, {{"broker", 2}})).ok());
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("zk", 2, {{"zk", 1}})).ok());
  absl::StatusOr<std::map<std::string, IpOwner>> ips = store.AllocatedIps();
  ASSERT_TRUE(ips.ok()) << ips.status();
  EXPECT_THAT(Keys(*ips), ElementsAre("10.1.0.1", "10.1.0.2", "10.2.0.1"));
  EXPECT_EQ(ips->at("10.1.0.2").cluster, "kafka");
  EXPECT_EQ(ips->at("10.1.0.2").instance, "broker2");
  EXPECT_EQ(ips->at("10.2.0.1").cluster, "zk");

  ASSERT_TRUE(store.DeleteCluster("kafka").ok());
  ips = store.AllocatedIps();
  ASSERT_TRUE(ips.ok());
  EXPECT_THAT(Keys(*ips), ElementsAre("10.2.0.1"));
  // The freed IPs can go to another cluster.
  EXPECT_TRUE(store.ApplyCluster(MakeCluster("other", 1, {{"x", 2}})).ok());
}

TEST_P(StoreContractTest, MarksInstancesAndReadsTheLatestStatus) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"zk", 2}})).ok());
  bdcoord::v1::InstanceStatus failed = MakeStatus("zk1", bdcoord::v1::INSTANCE_STATE_FAILED, "abc");
  failed.set_exit_code(137);
  failed.set_message("OOM killed");
  failed.add_last_log_lines("line 1");
  failed.add_last_log_lines("line 2");
  failed.mutable_started_at()->set_seconds(1700000001);
  failed.mutable_finished_at()->set_seconds(1700000002);
  ASSERT_TRUE(
      store.MarkInstance("demo", "h1", MakeStatus("zk1", bdcoord::v1::INSTANCE_STATE_CREATED))
          .ok());
  ASSERT_TRUE(store.MarkInstance("demo", "h1", failed).ok());
  bdcoord::v1::InstanceStatus running = MakeStatus("zk2", bdcoord::v1::INSTANCE_STATE_RUNNING);
  running.set_ready(true);
  bdcoord::v1::InstanceStatus elsewhere = running;  // zk2 as another host reported it
  elsewhere.set_ready(false);
  ASSERT_TRUE(store.MarkInstance("demo", "h3", elsewhere).ok());
  ASSERT_TRUE(store.MarkInstance("demo", "h2", running).ok());

  absl::StatusOr<std::map<std::string, ReportedStatus>> statuses = store.InstanceStatuses("demo");
  ASSERT_TRUE(statuses.ok()) << statuses.status();
  EXPECT_THAT(Keys(*statuses), ElementsAre("zk1", "zk2"));
  EXPECT_EQ(statuses->at("zk1").status.SerializeAsString(), failed.SerializeAsString());
  EXPECT_EQ(statuses->at("zk1").host, "h1");
  // The latest report wins, with the host that made it.
  EXPECT_TRUE(statuses->at("zk2").status.ready());
  EXPECT_EQ(statuses->at("zk2").status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(statuses->at("zk2").host, "h2");
}

TEST_P(StoreContractTest, MarkInstancesRecordsAReportWhole) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"zk", 3}})).ok());
  ASSERT_TRUE(store
                  .MarkInstances("demo", "h1",
                                 {MakeStatus("zk1", bdcoord::v1::INSTANCE_STATE_RUNNING),
                                  MakeStatus("zk2", bdcoord::v1::INSTANCE_STATE_CREATED)})
                  .ok());
  auto statuses = store.InstanceStatuses("demo");
  ASSERT_TRUE(statuses.ok());
  EXPECT_THAT(Keys(*statuses), ElementsAre("zk1", "zk2"));
  // zk9 is not placed: the whole report is refused, zk3 not recorded either.
  const absl::Status refused =
      store.MarkInstances("demo", "h1",
                          {MakeStatus("zk3", bdcoord::v1::INSTANCE_STATE_RUNNING),
                           MakeStatus("zk9", bdcoord::v1::INSTANCE_STATE_RUNNING)});
  EXPECT_EQ(refused.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(refused.message(), HasSubstr("instance 'zk9' is not placed in cluster 'demo'"));
  statuses = store.InstanceStatuses("demo");
  ASSERT_TRUE(statuses.ok());
  EXPECT_THAT(Keys(*statuses), ElementsAre("zk1", "zk2"));
  EXPECT_TRUE(store.MarkInstances("demo", "h1", {}).ok());
}

TEST_P(StoreContractTest, MarkInstanceNeedsAPlacedInstance) {
  Store& store = Open();
  absl::Status status =
      store.MarkInstance("demo", "h1", MakeStatus("zk1", bdcoord::v1::INSTANCE_STATE_RUNNING));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("cluster 'demo' not found"));
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"zk", 1}})).ok());
  status = store.MarkInstance("demo", "h1", MakeStatus("zk9", bdcoord::v1::INSTANCE_STATE_RUNNING));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("instance 'zk9' is not placed in cluster 'demo'"));
  EXPECT_EQ(store.MarkInstance("demo", "h1", bdcoord::v1::InstanceStatus()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.InstanceStatuses("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.RunOnceCompleted("nope", "x").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreContractTest, ReapplyKeepsTheStatesOfSurvivorsAndDropsTheRemoved) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"zk", 3}, {"kafka", 2}})).ok());
  for (const char* name : {"zk1", "zk2", "zk3", "kafka1", "kafka2"}) {
    ASSERT_TRUE(
        store.MarkInstance("demo", "h1", MakeStatus(name, bdcoord::v1::INSTANCE_STATE_RUNNING))
            .ok());
  }
  // zk3 and kafka go; zk1 and zk2 move to other IPs and hosts; web is new.
  ASSERT_TRUE(
      store.ApplyCluster(MakeCluster("demo", 1, {{"web", 1}, {"zk", 2}}, /*ip_shift=*/1)).ok());
  // Kept as reported (by h1): StatusesOnPlacement drops those of the hosts they left.
  absl::StatusOr<std::map<std::string, ReportedStatus>> statuses = store.InstanceStatuses("demo");
  ASSERT_TRUE(statuses.ok()) << statuses.status();
  EXPECT_THAT(Keys(*statuses), ElementsAre("zk1", "zk2"));
  EXPECT_EQ(statuses->at("zk1").status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(statuses->at("zk1").host, "h1");
  absl::StatusOr<AppliedCluster> got = store.GetCluster("demo");
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(Names(*got), ElementsAre("web1", "zk1", "zk2"));
  // A removed instance takes no status any more.
  EXPECT_EQ(
      store.MarkInstance("demo", "h1", MakeStatus("kafka1", bdcoord::v1::INSTANCE_STATE_REMOVED))
          .code(),
      absl::StatusCode::kNotFound);
}

TEST_P(StoreContractTest, RunOnceCompletionIsSticky) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("hdfs", 1, {{"format", 1, true}, {"nn", 1}})).ok());
  absl::StatusOr<bool> done = store.RunOnceCompleted("hdfs", "format1");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(*done);
  ASSERT_TRUE(
      store.MarkInstance("hdfs", "h1", MakeStatus("format1", bdcoord::v1::INSTANCE_STATE_RUNNING))
          .ok());
  EXPECT_FALSE(*store.RunOnceCompleted("hdfs", "format1"));
  ASSERT_TRUE(
      store.MarkInstance("hdfs", "h1", MakeStatus("format1", bdcoord::v1::INSTANCE_STATE_COMPLETED))
          .ok());
  EXPECT_TRUE(*store.RunOnceCompleted("hdfs", "format1"));
  EXPECT_FALSE(*store.RunOnceCompleted("hdfs", "nn1"));

  // Later statuses replace the status, never the completion.
  for (auto state : {bdcoord::v1::INSTANCE_STATE_REMOVED, bdcoord::v1::INSTANCE_STATE_FAILED,
                     bdcoord::v1::INSTANCE_STATE_PENDING}) {
    ASSERT_TRUE(store.MarkInstance("hdfs", "h1", MakeStatus("format1", state, "second")).ok());
    EXPECT_TRUE(*store.RunOnceCompleted("hdfs", "format1"));
  }
  EXPECT_EQ(store.InstanceStatuses("hdfs")->at("format1").status.state(),
            bdcoord::v1::INSTANCE_STATE_PENDING);
  // A second completion keeps the first record.
  ASSERT_TRUE(store
                  .MarkInstance("hdfs", "h1",
                                MakeStatus("format1", bdcoord::v1::INSTANCE_STATE_COMPLETED, "x"))
                  .ok());
  // Re-applies keep it, even one that drops the instance for a while.
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("hdfs", 1, {{"format", 1, true}, {"nn", 2}})).ok());
  EXPECT_TRUE(*store.RunOnceCompleted("hdfs", "format1"));
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("hdfs", 1, {{"nn", 2}})).ok());
  EXPECT_TRUE(*store.RunOnceCompleted("hdfs", "format1"));
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("hdfs", 1, {{"format", 1, true}, {"nn", 1}})).ok());
  EXPECT_TRUE(*store.RunOnceCompleted("hdfs", "format1"));

  // And a restarted coordinator sees it.
  Store& reopened = Open();
  EXPECT_TRUE(*reopened.RunOnceCompleted("hdfs", "format1"));

  // Deleting the cluster forgets it.
  ASSERT_TRUE(reopened.DeleteCluster("hdfs").ok());
  ASSERT_TRUE(reopened.ApplyCluster(MakeCluster("hdfs", 1, {{"format", 1, true}, {"nn", 1}})).ok());
  EXPECT_FALSE(*reopened.RunOnceCompleted("hdfs", "format1"));
}

TEST_P(StoreContractTest, DeleteClusterRemovesAllItsRows) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("a", 1, {{"job", 2, true}})).ok());
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("b", 2, {{"job", 1, true}})).ok());
  for (const char* cluster : {"a", "b"}) {
    ASSERT_TRUE(
        store.MarkInstance(cluster, "h1", MakeStatus("job1", bdcoord::v1::INSTANCE_STATE_COMPLETED))
            .ok());
  }
  ASSERT_TRUE(store.DeleteCluster("a").ok());
  EXPECT_THAT(backend_->Leftovers("a"), IsEmpty());
  EXPECT_THAT(backend_->Leftovers("b"), Not(IsEmpty()));
  absl::Status status = store.DeleteCluster("a");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("'a'"));
  absl::StatusOr<std::vector<std::string>> names = store.ListClusters();
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ElementsAre("b"));
}

TEST_P(StoreContractTest, EverythingSurvivesAReopen) {
  {
    Store& store = Open();
    bdcoord::v1::HostFacts facts;
    facts.set_cpus(4);
    ASSERT_TRUE(store.AdmitHost("h1", facts, absl::FromUnixSeconds(100)).ok());
    ASSERT_TRUE(store.SetHostDrained("h1", true).ok());
    ASSERT_TRUE(store.ApplyCluster(MakeCluster("kafka", 1, {{"broker", 3}})).ok());
    ASSERT_TRUE(store.ApplyCluster(MakeCluster("hdfs", 2, {{"format", 1, true}})).ok());
    ASSERT_TRUE(store
                    .MarkInstance("hdfs", "h1",
                                  MakeStatus("format1", bdcoord::v1::INSTANCE_STATE_COMPLETED))
                    .ok());
    ASSERT_TRUE(
        store
            .MarkInstance("kafka", "h1", MakeStatus("broker2", bdcoord::v1::INSTANCE_STATE_RUNNING))
            .ok());
  }
  Store& store = Open();
  absl::StatusOr<std::vector<HostRecord>> hosts = store.ListHosts();
  ASSERT_TRUE(hosts.ok());
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_EQ((*hosts)[0].facts.cpus(), 4u);
  EXPECT_TRUE((*hosts)[0].drained);
  EXPECT_EQ((*hosts)[0].last_seen, absl::FromUnixSeconds(100));
  EXPECT_THAT(*store.ListClusters(), ElementsAre("hdfs", "kafka"));
  absl::StatusOr<AppliedCluster> kafka = store.GetCluster("kafka");
  ASSERT_TRUE(kafka.ok());
  EXPECT_EQ(kafka->placement.SerializeAsString(),
            MakeCluster("kafka", 1, {{"broker", 3}}).placement.SerializeAsString());
  EXPECT_EQ(store.AllocatedIps()->size(), 4u);
  EXPECT_THAT(Keys(*store.InstanceStatuses("kafka")), ElementsAre("broker2"));
  EXPECT_TRUE(*store.RunOnceCompleted("hdfs", "format1"));
}

TEST_P(StoreContractTest, SharesOneConnectionBetweenThreads) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"a", 8}})).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string name = absl::StrCat("a", 1 + (t * 2 + i % 2));
        EXPECT_TRUE(
            store.MarkInstance("demo", "h1", MakeStatus(name, bdcoord::v1::INSTANCE_STATE_RUNNING))
                .ok());
        EXPECT_TRUE(store.InstanceStatuses("demo").ok());
        EXPECT_TRUE(store.AllocatedIps().ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(store.InstanceStatuses("demo")->size(), 8u);
}

// Refusals: a file that is not ours is never changed.

}  // namespace
}  // namespace bdcoord::coordinator
