// The reconciler's decisions against an in-memory Docker: what it creates, replaces, removes and
// leaves alone. The same behaviour against a real dockerd is in tests/integration/.
#include "agent/reconcile/reconciler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "tests/testing/fake_address_prober.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_docker_client.h"
#include "tests/testing/fake_host_files.h"
#include "tests/testing/fake_link_manager.h"
#include "tests/testing/fake_prober.h"

namespace bdcoord::agent {
namespace {

using ::testing::ElementsAre;
using testing::FakeDockerClient;
using testing::FakeHostFiles;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kHosts[] =
    "127.0.0.1\tlocalhost\n10.1.0.11\tzk1.demo.lan zk1\n10.1.0.12\tzk2.demo.lan zk2\n";

bdcoord::v1::DesiredState Desired(int count) {
  bdcoord::v1::DesiredState desired;
  desired.set_cluster("demo");
  auto* network = desired.add_networks();
  network->set_name("lan");
  network->set_driver(bdcoord::v1::NETWORK_DRIVER_MACVLAN);
  network->set_parent("eth0");
  network->set_subnet("10.1.0.0/24");
  for (int i = 1; i <= count; ++i) {
    auto* instance = desired.add_instances();
    instance->set_cluster("demo");
    instance->set_service("zk");
    instance->set_name(absl::StrCat("zk", i));
    instance->set_index(i);
    instance->set_domain("demo.lan");
    instance->set_image("standin");
    instance->set_user("1000:1000");
    instance->set_network("lan");
    instance->set_ip(absl::StrCat("10.1.0.", 10 + i));
    auto* file = instance->add_files();
    file->set_path("/conf/myid");
    file->set_content(absl::StrCat(i, "\n"));
  }
  desired.set_hosts_file(kHosts);
  return desired;
}

// Where the agent keeps the demo cluster's files (ReconcilerOptions::state_dir's default).
constexpr char kDemoDir[] = "/var/lib/bdagent/clusters/demo";

// "source -> target" per mount, " (ro)" when read-only.
std::vector<std::string> MountsOf(const ContainerConfig& config) {
  std::vector<std::string> mounts;
  for (const Mount& m : config.mounts) {
    mounts.push_back(absl::StrCat(m.source, " -> ", m.target, m.read_only ? " (ro)" : ""));
  }
  return mounts;
}

class ReconcilerTest : public ::testing::Test {
 protected:
  ReconcilerTest()
      : reconciler_(&docker_, &hosts_, nullptr, ReconcilerOptions{.now = test_util::RealClock()}) {
    docker_.AddImage("standin");
  }

  FakeHostFiles hosts_;
  FakeDockerClient docker_{&hosts_};
  Reconciler reconciler_;
};

TEST_F(ReconcilerTest, CreatesStartsAndLabelsEveryInstance) {
  const ReconcileResult result = reconciler_.Reconcile(Desired(3));
  EXPECT_EQ(result.created, 3);
  EXPECT_THAT(result.errors, IsEmpty());
  ASSERT_EQ(result.statuses.size(), 3u);
  for (const auto& status : result.statuses) {
    EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING) << status.name();
  }
  const auto zk2 = docker_.FindByName("zk2");
  ASSERT_TRUE(zk2);
  EXPECT_EQ(zk2->config.hostname, "zk2");
  EXPECT_EQ(zk2->config.domainname, "demo.lan");
  EXPECT_EQ(zk2->config.ipv4, "10.1.0.12");
  EXPECT_EQ(zk2->config.user, "1000:1000");
  EXPECT_EQ(zk2->config.labels.at(kClusterLabel), "demo");
  EXPECT_EQ(zk2->config.labels.at(kServiceLabel), "zk");
  EXPECT_EQ(zk2->config.labels.at(kInstanceLabel), "zk2");
  EXPECT_EQ(zk2->config.labels.at(kSpecHashLabel), SpecHash(Desired(3).instances(1)));
  EXPECT_EQ(zk2->config.labels.at(kHostFilesLabel), "1");
  // Its files and the cluster's hosts map are on the host, bind-mounted: nothing is uploaded.
  const std::string myid = absl::StrCat(kDemoDir, "/instances/zk2/files/conf/myid");
  EXPECT_THAT(
      MountsOf(zk2->config),
      ElementsAre(myid + " -> /conf/myid", absl::StrCat(kDemoDir, "/hosts -> /etc/hosts (ro)")));
  ASSERT_TRUE(hosts_.Get(myid));
  EXPECT_EQ(hosts_.Get(myid)->content, "2\n");
  EXPECT_EQ(hosts_.Get(myid)->owner, (FileOwner{1000, 1000}));
  EXPECT_EQ(hosts_.Get(myid)->mode, 0644u);
  ASSERT_TRUE(hosts_.Get(absl::StrCat(kDemoDir, "/hosts")));
  EXPECT_EQ(hosts_.Get(absl::StrCat(kDemoDir, "/hosts"))->content, kHosts);
  EXPECT_EQ(hosts_.Get(absl::StrCat(kDemoDir, "/hosts"))->owner, FileOwner()) << "root's";
}

// Bring-up cost (issue 11): a new container costs Docker a create and a start (started is what
// the start's answer says); the network and the image once per pass; no archive upload or read,
// no name lookup, no inspect.
TEST_F(ReconcilerTest, ANewContainerCostsACreateAndAStart) {
  const ReconcileResult result = reconciler_.Reconcile(Desired(6));
  ASSERT_EQ(result.created, 6);
  EXPECT_THAT(docker_.calls(),
              ElementsAre(std::pair("CreateContainer", 6), std::pair("EnsureNetwork", 1),
                          std::pair("InspectImage", 1), std::pair("ListContainers", 1),
                          std::pair("StartContainer", 6)));
  for (const auto& status : result.statuses) {
    EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING) << status.name();
    EXPECT_FALSE(status.container_id().empty()) << status.name();
    EXPECT_FALSE(status.has_started_at()) << "known from the next pass's inspect";
  }
}

// A held instance (its dependencies do not hold yet) costs its create now and only its start
// when it is released; a container that already runs is never stopped by a hold.
TEST_F(ReconcilerTest, AHeldInstanceIsCreatedNowAndStartedWhenReleased) {
  bdcoord::v1::DesiredState held = Desired(2);
  for (auto& instance : *held.mutable_instances()) instance.set_hold(true);
  const ReconcileResult first = reconciler_.Reconcile(held);
  EXPECT_EQ(first.created, 2);
  EXPECT_EQ(docker_.calls()["StartContainer"], 0);
  for (const auto& status : first.statuses) {
    EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_CREATED) << status.name();
    EXPECT_EQ(status.message(), "created; starts when its dependencies are met");
  }
  const ReconcileResult again = reconciler_.Reconcile(held);
  EXPECT_EQ(docker_.calls()["StartContainer"], 0);
  EXPECT_EQ(docker_.calls()["CreateContainer"], 2);
  EXPECT_EQ(again.statuses[1].state(), bdcoord::v1::INSTANCE_STATE_CREATED);
  EXPECT_EQ(again.statuses[1].message(), "created; starts when its dependencies are met");

  const int inspections = docker_.calls()["InspectContainer"];
  const ReconcileResult released = reconciler_.Reconcile(Desired(2));
  EXPECT_EQ(docker_.calls()["CreateContainer"], 2) << "the held containers are the ones started";
  EXPECT_EQ(docker_.calls()["StartContainer"], 2);
  EXPECT_EQ(docker_.calls()["InspectContainer"], inspections) << "the start's answer is enough";
  for (const auto& status : released.statuses) {
    EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING) << status.name();
  }

  // Its dependency restarting holds the service again: what runs keeps running.
  const ReconcileResult held_again = reconciler_.Reconcile(held);
  EXPECT_EQ(docker_.calls()["StopContainer"], 0);
  EXPECT_EQ(docker_.calls()["RemoveContainer"], 0);
  EXPECT_EQ(held_again.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
}

// With bdgate (bdagent --gate), a held instance's container is started at its create behind the
// gate, so that Docker's start is off its dependencies' path: its release is one write.
class ReconcilerGateTest : public ::testing::Test {
 protected:
  static constexpr char kGate[] = "/usr/libexec/bdcoord/bdgate";
  ReconcilerGateTest()
      : reconciler_(&docker_, &hosts_, nullptr,
                    ReconcilerOptions{.now = test_util::RealClock(),
                                      .address_prober = &addresses_,
                                      .gate_binary = kGate}) {
    docker_.AddImage("standin");
    (void)hosts_.Create(kGate, "bdgate", 0755, FileOwner());  // a bind mount's source exists
  }
  static bdcoord::v1::DesiredState Held(int count) {
    bdcoord::v1::DesiredState desired = Desired(count);
    for (auto& instance : *desired.mutable_instances()) instance.set_hold(true);
    return desired;
  }
  static std::string ReleaseFile(const std::string& instance) {
    return absl::StrCat(kDemoDir, "/instances/", instance, "/release");
  }

  FakeHostFiles hosts_;
  FakeDockerClient docker_{&hosts_};
  net::testing::FakeAddressProber addresses_;
  Reconciler reconciler_;
};

TEST_F(ReconcilerGateTest, AHeldInstanceStartsBehindItsGateAndIsReleasedByAWrite) {
  bdcoord::v1::DesiredState held = Held(2);
  held.mutable_instances(1)->add_command("--listen");
  held.mutable_instances(1)->add_command("2181");
  const ReconcileResult first = reconciler_.Reconcile(held);
  EXPECT_EQ(first.created, 2);
  EXPECT_EQ(docker_.calls()["StartContainer"], 2) << "started now, behind the gate";
  for (const auto& status : first.statuses) {
    EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_CREATED) << status.name();
    EXPECT_EQ(status.message(),
              "started behind its gate; its program runs when its dependencies are met");
    EXPECT_FALSE(status.ready());
  }
  // The gate runs the image's entrypoint with the instance's command, or else the image's.
  const auto zk1 = docker_.FindByName("zk1");
  const auto zk2 = docker_.FindByName("zk2");
  ASSERT_TRUE(zk1 && zk2);
  EXPECT_THAT(zk1->config.entrypoint, ElementsAre("/.bdcoord/bdgate"));
  EXPECT_THAT(zk1->config.command, ElementsAre("/.bdcoord/release", "/entrypoint", "default"));
  EXPECT_THAT(zk2->config.command,
              ElementsAre("/.bdcoord/release", "/entrypoint", "--listen", "2181"));
  EXPECT_EQ(zk1->config.labels.at(kGateLabel), "1");
  EXPECT_THAT(MountsOf(zk1->config),
              ElementsAre(absl::StrCat(kDemoDir, "/instances/zk1/files/conf/myid -> /conf/myid"),
                          absl::StrCat(kGate, " -> /.bdcoord/bdgate (ro)"),
                          ReleaseFile("zk1") + " -> /.bdcoord/release (ro)",
                          absl::StrCat(kDemoDir, "/hosts -> /etc/hosts (ro)")));
  ASSERT_TRUE(hosts_.Get(ReleaseFile("zk1")));
  EXPECT_EQ(hosts_.Get(ReleaseFile("zk1"))->content, "") << "empty while held";
  EXPECT_EQ(hosts_.Get(ReleaseFile("zk1"))->mode, 0644u) << "bdgate runs as the instance's user";

  const ReconcileResult again = reconciler_.Reconcile(held);
  EXPECT_EQ(again.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_CREATED);
  EXPECT_EQ(docker_.calls()["StartContainer"], 2);

  // Released: one write each, in place (the container sees its bind mount change); no Docker
  // call but the pass's list.
  const std::map<std::string, int> before = docker_.calls();
  bdcoord::v1::DesiredState release = held;
  for (auto& instance : *release.mutable_instances()) instance.set_hold(false);
  const ReconcileResult released = reconciler_.Reconcile(release);
  for (const auto& status : released.statuses) {
    EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING) << status.name();
    EXPECT_EQ(hosts_.Get(ReleaseFile(status.name()))->content, "released\n");
  }
  EXPECT_EQ(docker_.calls()["StartContainer"], before.at("StartContainer"));
  EXPECT_EQ(docker_.calls()["CreateContainer"], before.at("CreateContainer"));
  EXPECT_EQ(docker_.calls()["StopContainer"], 0);

  // Held again (a dependency restarts): its program runs already, and keeps running.
  const ReconcileResult held_again = reconciler_.Reconcile(held);
  EXPECT_EQ(held_again.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(hosts_.Get(ReleaseFile("zk1"))->content, "released\n");
}

// An early release (the desired state that lifts the hold has just come) reaches only the gated
// container made with the spec the agent asks for: another one, made by a pass meanwhile, is
// left to the pass.
TEST_F(ReconcilerGateTest, AnEarlyReleaseReachesOnlyTheGatedContainerOfItsSpec) {
  const bdcoord::v1::DesiredState held = Held(1);
  reconciler_.Reconcile(held);
  const bdcoord::v1::DesiredInstance& zk1 = held.instances(0);
  EXPECT_EQ(reconciler_.ReleaseEarly(zk1, "another spec").message(),
            "its gated container is not the one with this spec");
  EXPECT_EQ(hosts_.Get(ReleaseFile("zk1"))->content, "");

  EXPECT_TRUE(reconciler_.ReleaseEarly(zk1, SpecHashOf(zk1)).ok());
  EXPECT_EQ(hosts_.Get(ReleaseFile("zk1"))->content, "released\n");
  const ReconcileResult released = reconciler_.Reconcile(Desired(1));
  EXPECT_EQ(released.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_RUNNING);

  // Held again with a new spec: the new gated container's file is empty, and an early release
  // with the old spec does not reach it.
  bdcoord::v1::DesiredState changed = Held(1);
  changed.mutable_instances(0)->add_command("--listen");
  reconciler_.Reconcile(changed);
  EXPECT_EQ(hosts_.Get(ReleaseFile("zk1"))->content, "");
  EXPECT_FALSE(reconciler_.ReleaseEarly(zk1, SpecHashOf(zk1)).ok());
  EXPECT_EQ(hosts_.Get(ReleaseFile("zk1"))->content, "");
}

TEST_F(ReconcilerGateTest, AnImageWithNothingToRunIsRefusedAsDockerWould) {
  docker_.AddImage("scratch-data");
  docker_.SetImageProgram("scratch-data", {}, {});
  bdcoord::v1::DesiredState held = Held(1);
  held.mutable_instances(0)->set_image("scratch-data");
  const ReconcileResult result = reconciler_.Reconcile(held);
  EXPECT_EQ(result.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(result.statuses[0].message(),
            "no command: image 'scratch-data' has no entrypoint or cmd, and service 'zk' gives no "
            "command");
  EXPECT_FALSE(docker_.FindByName("zk1"));
}

TEST_F(ReconcilerGateTest, AReleaseFileThatCannotBeMadeFailsTheInstanceBeforeItsContainer) {
  bdcoord::v1::DesiredState held = Held(1);
  held.clear_hosts_file();                   // no hosts file, no file: the release
  held.mutable_instances(0)->clear_files();  // file is the first write
  hosts_.FailWrites(absl::PermissionDeniedError("read-only file system"));
  const ReconcileResult result = reconciler_.Reconcile(held);
  EXPECT_EQ(result.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(result.statuses[0].message(), "cannot write its release file: read-only file system");
  EXPECT_FALSE(docker_.FindByName("zk1"));
}

TEST_F(ReconcilerGateTest, AReleaseThatCannotBeWrittenFailsTheInstance) {
  reconciler_.Reconcile(Held(1));
  hosts_.FailWrites(absl::PermissionDeniedError("read-only file system"));
  const ReconcileResult released = reconciler_.Reconcile(Desired(1));
  EXPECT_EQ(released.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(released.statuses[0].message(),
            "cannot release it from its gate: read-only file system");
}

// A gated container brings its IP up at its create: a rescheduled instance's address is probed
// then, even while it is held.
TEST_F(ReconcilerGateTest, AHeldInstanceWhoseAddressAnswersIsNotStarted) {
  bdcoord::v1::DesiredState held = Held(1);
  held.mutable_instances(0)->mutable_fence_after()->set_seconds(10);
  addresses_.SetAnswering("10.1.0.11", "02:42:0a:01:00:0b");
  const ReconcileResult result = reconciler_.Reconcile(held);
  EXPECT_EQ(result.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_THAT(result.statuses[0].message(), HasSubstr("10.1.0.11 already answers on the LAN"));
  EXPECT_FALSE(docker_.FindByName("zk1"));
}

TEST_F(ReconcilerTest, AReleasedInstanceWhoseStartIsRefusedIsFailedWithItsContainer) {
  bdcoord::v1::DesiredState held = Desired(1);
  held.mutable_instances(0)->set_hold(true);
  reconciler_.Reconcile(held);
  docker_.FailStarts(absl::InternalError("no such network"));
  const ReconcileResult released = reconciler_.Reconcile(Desired(1));
  ASSERT_EQ(released.statuses.size(), 1u);
  EXPECT_EQ(released.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(released.statuses[0].message(), "cannot start: no such network");
  EXPECT_EQ(released.statuses[0].container_id(), docker_.FindByName("zk1")->info.id);
}

// The CPU limit comes right after the start, not with the create: under a small quota runc's
// init, which runs in the container's cgroup, made each start (and each dependent's wait) 0.5 s
// longer. A held container gets it when it is released.
TEST_F(ReconcilerTest, TheCpuLimitIsSetRightAfterTheStart) {
  bdcoord::v1::DesiredState desired = Desired(2);
  for (auto& instance : *desired.mutable_instances()) {
    instance.mutable_resources()->set_millicpus(25);
  }
  desired.mutable_instances(1)->set_hold(true);
  const ReconcileResult first = reconciler_.Reconcile(desired);
  EXPECT_EQ(first.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(docker_.FindByName("zk1")->config.nano_cpus, 0) << "not at the create";
  EXPECT_EQ(docker_.FindByName("zk1")->info.nano_cpus, 25'000'000);
  EXPECT_EQ(docker_.FindByName("zk2")->info.nano_cpus, 0) << "held: not started yet";
  EXPECT_EQ(docker_.calls()["SetCpuLimit"], 1);

  desired.mutable_instances(1)->set_hold(false);
  reconciler_.Reconcile(desired);
  EXPECT_EQ(docker_.FindByName("zk2")->info.nano_cpus, 25'000'000);
  reconciler_.Reconcile(desired);
  EXPECT_EQ(docker_.calls()["SetCpuLimit"], 2) << "once per start";
}

// Never running without it: a refused limit stops the container, and one that runs without it
// (the agent stopped between the start and the limit, then Docker's restart policy started it)
// gets it on the next pass.
TEST_F(ReconcilerTest, AContainerDoesNotRunWithoutItsCpuLimit) {
  bdcoord::v1::DesiredState desired = Desired(1);
  desired.mutable_instances(0)->mutable_resources()->set_millicpus(500);
  docker_.FailCpuLimits(absl::InternalError("POST /containers/id1/update: HTTP 500"));
  const ReconcileResult refused = reconciler_.Reconcile(desired);
  EXPECT_EQ(refused.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(refused.statuses[0].message(),
            "stopped: its CPU limit could not be set (POST /containers/id1/update: HTTP 500)");
  EXPECT_FALSE(docker_.FindByName("zk1")->info.running);

  docker_.FailCpuLimits(absl::OkStatus());
  ASSERT_TRUE(docker_.StartContainer(docker_.FindByName("zk1")->info.id).ok());
  EXPECT_EQ(docker_.FindByName("zk1")->info.nano_cpus, 0);
  const ReconcileResult next = reconciler_.Reconcile(desired);
  EXPECT_EQ(next.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(docker_.FindByName("zk1")->info.nano_cpus, 500'000'000);

  // Nor says "stopped" of one that would not stop.
  desired.mutable_instances(0)->mutable_command()->Add("--new");  // a new container
  docker_.FailCpuLimits(absl::InternalError("HTTP 500"));
  docker_.FailStops(absl::DeadlineExceededError("timeout"));
  const ReconcileResult stuck = reconciler_.Reconcile(desired);
  EXPECT_EQ(stuck.statuses[0].message(),
            "not stopped, which failed too: its CPU limit could not be set (HTTP 500)");
}

TEST_F(ReconcilerTest, HeldInstancesAreCreatedAfterTheOnesThatStartNow) {
  Reconciler reconciler(&docker_, &hosts_, nullptr,
                        ReconcilerOptions{.parallelism = 1, .now = test_util::RealClock()});
  bdcoord::v1::DesiredState desired = Desired(4);
  desired.mutable_instances(0)->set_hold(true);
  desired.mutable_instances(2)->set_hold(true);
  std::vector<int> order;
  const PassHooks hooks{.on_instance = [&](int index, const auto&) { order.push_back(index); },
                        .interrupted = nullptr};
  const ReconcileResult result = reconciler.Reconcile(desired, hooks);
  EXPECT_THAT(order, ElementsAre(1, 3, 0, 2));
  EXPECT_EQ(result.statuses[0].name(), "zk1") << "reported in the desired state's order";
  EXPECT_EQ(result.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_CREATED);
  EXPECT_EQ(result.statuses[1].state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
}

// The next passes: each container is inspected once after its start event, then not again
// while Docker's event stream says nothing happened to it.
TEST_F(ReconcilerTest, WithTheEventStreamLiveARunningContainerIsInspectedOnce) {
  reconciler_.Reconcile(Desired(3));
  const std::shared_ptr<InspectCache> cache = reconciler_.inspect_cache();
  for (const auto& [id, container] : docker_.containers()) cache->OnEvent(id, "start");
  const auto inspections = [&] { return docker_.calls()["InspectContainer"]; };

  ReconcileResult second = reconciler_.Reconcile(Desired(3));
  EXPECT_EQ(inspections(), 3);
  for (const auto& status : second.statuses) EXPECT_TRUE(status.has_started_at()) << status.name();
  ReconcileResult third = reconciler_.Reconcile(Desired(3));
  EXPECT_EQ(inspections(), 3) << "nothing happened to them";
  EXPECT_EQ(third.statuses[0].started_at(), second.statuses[0].started_at());

  // A probe's exec changes nothing an inspect shows; a death does.
  const std::string zk1 = docker_.FindByName("zk1")->info.id;
  cache->OnEvent(zk1, "exec_start: sh -c true");
  reconciler_.Reconcile(Desired(3));
  EXPECT_EQ(inspections(), 3);
  docker_.Exit("zk1", 3);
  cache->OnEvent(zk1, "die");
  ReconcileResult after_death = reconciler_.Reconcile(Desired(3));
  EXPECT_EQ(inspections(), 4);
  EXPECT_EQ(after_death.statuses[0].message(), "exited with code 3") << "the exit is seen";

  // Without the stream, every pass asks Docker.
  cache->StreamLost();
  reconciler_.Reconcile(Desired(3));
  EXPECT_GE(inspections(), 4 + 3);
}

// A newer desired state ends a pass after the instances in hand: the rest are left to the next
// pass (nothing of theirs is forgotten). Removals come first, before anything starts.
TEST_F(ReconcilerTest, AnInterruptedPassLeavesTheRestToTheNext) {
  Reconciler reconciler(&docker_, &hosts_, nullptr,
                        ReconcilerOptions{.parallelism = 1, .now = test_util::RealClock()});
  reconciler.Reconcile(Desired(1));
  auto desired = Desired(4);
  desired.mutable_instances()->erase(desired.mutable_instances()->begin());  // zk1 goes
  std::vector<int> done;
  const PassHooks hooks{.on_instance = [&](int index, const auto&) { done.push_back(index); },
                        .interrupted = [] { return true; }};
  const ReconcileResult interrupted = reconciler.Reconcile(desired, hooks);
  EXPECT_TRUE(interrupted.interrupted());
  EXPECT_THAT(done, ElementsAre(0)) << "at least one instance per pass";
  ASSERT_EQ(interrupted.outcomes.size(), 3u);
  EXPECT_TRUE(interrupted.outcomes[0].reached);
  EXPECT_FALSE(interrupted.outcomes[1].reached);
  EXPECT_FALSE(interrupted.outcomes[2].reached);
  EXPECT_EQ(interrupted.statuses[1].name(), "zk3");
  EXPECT_EQ(interrupted.removed, 1) << "removals come before anything else";
  EXPECT_FALSE(docker_.FindByName("zk1"));

  const ReconcileResult next = reconciler.Reconcile(desired);
  EXPECT_FALSE(next.interrupted());
  EXPECT_EQ(next.created, 2);
  EXPECT_EQ(next.removed, 0);
}

TEST_F(ReconcilerTest, WithoutTheEventStreamEveryPassInspects) {
  reconciler_.Reconcile(Desired(2));
  reconciler_.Reconcile(Desired(2));
  reconciler_.Reconcile(Desired(2));
  EXPECT_EQ(docker_.calls()["InspectContainer"], 4);
}

TEST_F(ReconcilerTest, AFilePathThatIsNotCleanIsRefused) {
  auto desired = Desired(2);
  desired.mutable_instances(1)->mutable_files(0)->set_path("/conf/../../etc/shadow");
  const ReconcileResult result = reconciler_.Reconcile(desired);
  EXPECT_EQ(result.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(result.statuses[1].state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(result.statuses[1].message(),
            "file path '/conf/../../etc/shadow' is not a clean absolute path");
  EXPECT_FALSE(docker_.FindByName("zk2"));
  EXPECT_THAT(hosts_.Under(absl::StrCat(kDemoDir, "/instances/zk2")), IsEmpty());
}

TEST_F(ReconcilerTest, TheHostsMapThatCannotBeWrittenFailsNewInstancesClearly) {
  hosts_.FailWrites(absl::PermissionDeniedError("read-only file system"));
  const ReconcileResult result = reconciler_.Reconcile(Desired(1));
  EXPECT_THAT(result.errors, ElementsAre("cannot write the hosts map of cluster 'demo': "
                                         "read-only file system"));
  EXPECT_EQ(result.statuses[0].message(),
            "cannot write the hosts map of cluster 'demo': read-only file system");
  EXPECT_EQ(docker_.creates(), 0);
}

// The files of an instance that is gone are removed with it; the cluster's directory goes with
// its last container.
TEST_F(ReconcilerTest, FilesGoWithTheirInstanceAndTheClusterDirectoryWithTheCluster) {
  reconciler_.Reconcile(Desired(3));
  ASSERT_EQ(hosts_.Under(absl::StrCat(kDemoDir, "/instances")).size(), 3u);
  reconciler_.Reconcile(Desired(2));
  EXPECT_THAT(hosts_.Under(absl::StrCat(kDemoDir, "/instances/zk3")), IsEmpty());
  EXPECT_EQ(hosts_.Under(absl::StrCat(kDemoDir, "/instances")).size(), 2u);
  bdcoord::v1::DesiredState down;
  down.set_cluster("demo");
  EXPECT_EQ(reconciler_.Reconcile(down).removed, 2);
  EXPECT_THAT(hosts_.Under(kDemoDir), IsEmpty());
  EXPECT_FALSE(hosts_.Get(absl::StrCat(kDemoDir, "/hosts")));
}

// Bring-up cost (issue 11): an image is inspected once per pass, not once per container, and a
// pass that creates nothing inspects none.
TEST_F(ReconcilerTest, EachImageIsInspectedOncePerPass) {
  bdcoord::v1::DesiredState desired = Desired(6);
  docker_.AddImage("other");
  desired.mutable_instances(5)->set_image("other");
  docker_.AddImage("unused");
  const ReconcileResult result = reconciler_.Reconcile(desired);
  EXPECT_EQ(result.created, 6);
  EXPECT_EQ(docker_.image_inspections(), 2);
  reconciler_.Reconcile(desired);
  EXPECT_EQ(docker_.image_inspections(), 2);
}

TEST_F(ReconcilerTest, SecondPassDoesNothing) {
  reconciler_.Reconcile(Desired(3));
  const int creates = docker_.creates(), starts = docker_.starts(), writes = hosts_.writes();
  const ReconcileResult again = reconciler_.Reconcile(Desired(3));
  EXPECT_EQ(again.created + again.replaced + again.removed + again.hosts_files_updated, 0);
  EXPECT_EQ(docker_.creates(), creates);
  EXPECT_EQ(docker_.starts(), starts);
  EXPECT_EQ(docker_.removes(), 0);
  EXPECT_EQ(hosts_.writes(), writes);
}

TEST_F(ReconcilerTest, ARestartedAgentLeavesRunningContainersAlone) {
  reconciler_.Reconcile(Desired(20));
  const std::string id = docker_.FindByName("zk7")->info.id;
  Reconciler fresh(
      &docker_, &hosts_, nullptr,
      ReconcilerOptions{.now =
                            test_util::RealClock()});  // a new process: no memory of the first pass
  const ReconcileResult result = fresh.Reconcile(Desired(20));
  EXPECT_EQ(result.created + result.replaced + result.removed, 0);
  EXPECT_EQ(docker_.starts(), 20);
  EXPECT_EQ(docker_.FindByName("zk7")->info.id, id);
}

TEST_F(ReconcilerTest, ChangedSpecReplacesOnlyThatInstance) {
  reconciler_.Reconcile(Desired(3));
  const std::string zk1 = docker_.FindByName("zk1")->info.id;
  const std::string zk3 = docker_.FindByName("zk3")->info.id;
  auto desired = Desired(3);
  desired.mutable_instances(1)->add_env()->set_name("NEW");
  const ReconcileResult result = reconciler_.Reconcile(desired);
  EXPECT_EQ(result.replaced, 1);
  EXPECT_EQ(result.created, 0);
  EXPECT_EQ(docker_.FindByName("zk1")->info.id, zk1);
  EXPECT_EQ(docker_.FindByName("zk3")->info.id, zk3);
  EXPECT_EQ(docker_.FindByName("zk2")->config.env.size(), 1u);
}

// Desired(count) with a file /conf/app.cfg per instance, its on_change as given.
bdcoord::v1::DesiredState WithAppConfig(int count, const std::string& on_change,
                                        const std::string& content) {
  bdcoord::v1::DesiredState desired = Desired(count);
  for (auto& instance : *desired.mutable_instances()) {
    auto* file = instance.add_files();
    file->set_path("/conf/app.cfg");
    file->set_content(content);
    file->set_mode(0640);
    file->set_on_change(on_change);
  }
  return desired;
}

// on_change signal: a new content is written into the same file (the bind mount's inode) and the
// container is signalled once; it is not replaced, and a pass with nothing new does nothing.
TEST_F(ReconcilerTest, ASignalFileIsRewrittenInPlaceAndTheContainerSignalledOnce) {
  ASSERT_EQ(reconciler_.Reconcile(WithAppConfig(2, "signal:SIGHUP", "v1\n")).created, 2);
  const std::string zk1_id = docker_.FindByName("zk1")->info.id;
  const std::string app = absl::StrCat(kDemoDir, "/instances/zk1/files/conf/app.cfg");
  ASSERT_TRUE(hosts_.Get(app));
  EXPECT_EQ(hosts_.Get(app)->content, "v1\n");
  EXPECT_THAT(docker_.kills(), IsEmpty()) << "a new container reads its files when it starts";

  bdcoord::v1::DesiredState changed = WithAppConfig(2, "signal:SIGHUP", "v1\n");
  changed.mutable_instances(0)->mutable_files(1)->set_content("v2\n");
  const ReconcileResult result = reconciler_.Reconcile(changed);
  EXPECT_EQ(result.created + result.replaced + result.removed, 0);
  EXPECT_EQ(result.files_rewritten, 1);
  EXPECT_EQ(docker_.removes(), 0);
  EXPECT_EQ(docker_.FindByName("zk1")->info.id, zk1_id) << "the same container";
  EXPECT_THAT(result.outcomes[0].files_rewritten, ElementsAre("/conf/app.cfg"));
  EXPECT_THAT(result.outcomes[0].signals_sent, ElementsAre("SIGHUP"));
  EXPECT_THAT(result.outcomes[1].files_rewritten, IsEmpty());
  EXPECT_EQ(result.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(result.statuses[0].message(), "rewrote in place /conf/app.cfg; sent SIGHUP");
  EXPECT_EQ(result.statuses[0].spec_hash(), SpecHash(changed.instances(0)));
  EXPECT_EQ(SpecHash(changed.instances(0)),
            docker_.FindByName("zk1")->info.labels.at(kSpecHashLabel));
  ASSERT_TRUE(hosts_.Get(app));
  EXPECT_EQ(hosts_.Get(app)->content, "v2\n");
  EXPECT_EQ(hosts_.Get(app)->owner, (FileOwner{1000, 1000})) << "owner kept";
  EXPECT_EQ(hosts_.Get(app)->mode, 0640u) << "mode kept";
  EXPECT_THAT(docker_.kills(), ElementsAre(std::pair<std::string, std::string>("zk1", "SIGHUP")));

  const int writes = hosts_.writes();
  const ReconcileResult again = reconciler_.Reconcile(changed);
  EXPECT_EQ(again.files_rewritten, 0);
  EXPECT_EQ(again.created + again.replaced + again.removed, 0);
  EXPECT_EQ(again.statuses[0].message(), "");
  EXPECT_EQ(hosts_.writes(), writes);
  EXPECT_EQ(docker_.kills().size(), 1u) << "no second signal";
}

TEST_F(ReconcilerTest, ANoneFileIsRewrittenInPlaceWithoutASignal) {
  reconciler_.Reconcile(WithAppConfig(1, "none", "v1\n"));
  const ReconcileResult result = reconciler_.Reconcile(WithAppConfig(1, "none", "v2\n"));
  EXPECT_EQ(result.replaced, 0);
  EXPECT_EQ(result.files_rewritten, 1);
  EXPECT_EQ(result.statuses[0].message(), "rewrote in place /conf/app.cfg");
  EXPECT_EQ(hosts_.Get(absl::StrCat(kDemoDir, "/instances/zk1/files/conf/app.cfg"))->content,
            "v2\n");
  EXPECT_THAT(docker_.kills(), IsEmpty());
}

TEST_F(ReconcilerTest, ARestartFileStillReplacesTheContainer) {
  reconciler_.Reconcile(WithAppConfig(1, "", "v1\n"));
  const ReconcileResult result = reconciler_.Reconcile(WithAppConfig(1, "", "v2\n"));
  EXPECT_EQ(result.replaced, 1);
  EXPECT_EQ(result.files_rewritten, 0);
  EXPECT_THAT(docker_.kills(), IsEmpty());
}

// Several changed files asking for the same signal: one signal.
TEST_F(ReconcilerTest, EachSignalIsSentOncePerPass) {
  bdcoord::v1::DesiredState desired = WithAppConfig(1, "signal:SIGHUP", "a");
  auto* second = desired.mutable_instances(0)->add_files();
  second->set_path("/conf/other.cfg");
  second->set_content("b");
  second->set_on_change("signal:SIGHUP");
  auto* usr1 = desired.mutable_instances(0)->add_files();
  usr1->set_path("/conf/third.cfg");
  usr1->set_content("c");
  usr1->set_on_change("signal:SIGUSR1");
  reconciler_.Reconcile(desired);
  for (int f = 1; f <= 3; ++f) desired.mutable_instances(0)->mutable_files(f)->set_content("new");
  const ReconcileResult result = reconciler_.Reconcile(desired);
  EXPECT_EQ(result.replaced, 0);
  EXPECT_EQ(result.files_rewritten, 3);
  EXPECT_THAT(docker_.kills(), ElementsAre(std::pair<std::string, std::string>("zk1", "SIGHUP"),
                                           std::pair<std::string, std::string>("zk1", "SIGUSR1")));
}

// A held container (created, never started) gets the new content and no signal: it reads the
// file when it starts.
TEST_F(ReconcilerTest, AHeldContainerGetsTheNewContentWithoutASignal) {
  bdcoord::v1::DesiredState held = WithAppConfig(1, "signal:SIGHUP", "v1");
  held.mutable_instances(0)->set_hold(true);
  reconciler_.Reconcile(held);
  held.mutable_instances(0)->mutable_files(1)->set_content("v2");
  EXPECT_EQ(reconciler_.Reconcile(held).files_rewritten, 1);
  const std::string app = absl::StrCat(kDemoDir, "/instances/zk1/files/conf/app.cfg");
  EXPECT_EQ(hosts_.Get(app)->content, "v2");
  held.mutable_instances(0)->mutable_files(1)->set_content("v3");
  held.mutable_instances(0)->set_hold(false);
  const ReconcileResult released = reconciler_.Reconcile(held);
  EXPECT_EQ(released.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(released.files_rewritten, 1) << "written before the start";
  EXPECT_EQ(hosts_.Get(app)->content, "v3");
  EXPECT_THAT(docker_.kills(), IsEmpty());
  EXPECT_EQ(docker_.creates(), 1);
}

// A file that cannot be rewritten is reported; the container is kept and nothing is signalled.
TEST_F(ReconcilerTest, AFileThatCannotBeRewrittenIsReportedAndNotSignalled) {
  reconciler_.Reconcile(WithAppConfig(1, "signal:SIGHUP", "v1"));
  hosts_.FailWrites(absl::PermissionDeniedError("read-only file system"));
  const ReconcileResult result = reconciler_.Reconcile(WithAppConfig(1, "signal:SIGHUP", "v2"));
  EXPECT_EQ(result.replaced, 0);
  EXPECT_EQ(result.files_rewritten, 0);
  EXPECT_EQ(result.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_THAT(result.statuses[0].message(),
              HasSubstr("cannot rewrite file '/conf/app.cfg' in place: read-only file system"));
  EXPECT_THAT(docker_.kills(), IsEmpty());
  hosts_.FailWrites(absl::OkStatus());
  EXPECT_EQ(reconciler_.Reconcile(WithAppConfig(1, "signal:SIGHUP", "v2")).files_rewritten, 1)
      << "tried again on the next pass";
  EXPECT_EQ(docker_.kills().size(), 1u);
}

TEST_F(ReconcilerTest, ContainersAreStoppedWithTheirOwnStopTimeoutBeforeRemoval) {
  auto desired = Desired(3);
  desired.mutable_instances(1)->mutable_stop_timeout()->set_seconds(45);
  reconciler_.Reconcile(desired);
  EXPECT_EQ(docker_.FindByName("zk1")->config.stop_timeout_seconds, 10);  // the agent's default
  EXPECT_EQ(docker_.FindByName("zk2")->config.stop_timeout_seconds, 45);
  EXPECT_EQ(docker_.FindByName("zk2")->config.log_max_size, "10m");
  EXPECT_EQ(docker_.FindByName("zk2")->config.log_max_files, 3);

  // Replaced (its spec changed) and removed (scaled away): SIGTERM with each container's own
  // grace first, never a plain forced removal of a running JVM.
  desired.mutable_instances(1)->add_env()->set_name("NEW");
  desired.mutable_instances()->RemoveLast();
  const ReconcileResult result = reconciler_.Reconcile(desired);
  EXPECT_EQ(result.replaced, 1);
  EXPECT_EQ(result.removed, 1);
  EXPECT_THAT(docker_.stops(), ::testing::UnorderedElementsAre(std::make_pair("zk2", 45),
                                                               std::make_pair("zk3", 10)));
}

TEST_F(ReconcilerTest, AContainerThatWillNotStopIsRemovedByForceAnyway) {
  reconciler_.Reconcile(Desired(2));
  docker_.FailStops(absl::DeadlineExceededError("stop timed out"));
  const ReconcileResult result = reconciler_.Reconcile(Desired(1));
  EXPECT_EQ(result.removed, 1);
  EXPECT_THAT(result.errors, IsEmpty());
  EXPECT_FALSE(docker_.FindByName("zk2"));
  EXPECT_THAT(docker_.stops(), ::testing::ElementsAre(std::make_pair("zk2", 10)));
}

TEST_F(ReconcilerTest, OrphansAreRemovedAndForeignContainersLeftAlone) {
  docker_.AddForeignContainer("someone-elses");
  reconciler_.Reconcile(Desired(3));
  const ReconcileResult result = reconciler_.Reconcile(Desired(2));
  EXPECT_EQ(result.removed, 1);
  EXPECT_FALSE(docker_.FindByName("zk3"));
  EXPECT_TRUE(docker_.FindByName("someone-elses"));
}

TEST_F(ReconcilerTest, TwoClustersWithTheSameInstanceNamesShareAHost) {
  reconciler_.Reconcile(Desired(2));
  auto other = Desired(2);
  other.set_cluster("other");
  for (auto& instance : *other.mutable_instances()) {
    instance.set_cluster("other");
    instance.set_ip(absl::StrCat("10.1.0.", 100 + instance.index()));
  }
  const ReconcileResult result = reconciler_.Reconcile(other);
  EXPECT_EQ(result.created, 2);
  EXPECT_EQ(result.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  // The first cluster keeps the plain names; the second one's are qualified.
  ASSERT_TRUE(docker_.FindByName("zk1"));
  EXPECT_EQ(docker_.FindByName("zk1")->info.labels.at(kClusterLabel), "demo");
  ASSERT_TRUE(docker_.FindByName("zk1.other"));
  EXPECT_EQ(docker_.FindByName("zk1.other")->info.labels.at(kClusterLabel), "other");
  // Each pass of either cluster leaves the other's containers alone.
  EXPECT_EQ(reconciler_.Reconcile(Desired(2)).removed, 0);
  EXPECT_EQ(reconciler_.Reconcile(other).created, 0);
  EXPECT_TRUE(docker_.FindByName("zk2.other"));
}

TEST_F(ReconcilerTest, ANameTakenByAForeignContainerIsReportedNotTouched) {
  docker_.AddForeignContainer("zk2");
  const ReconcileResult result = reconciler_.Reconcile(Desired(3));
  EXPECT_EQ(result.created, 2);
  EXPECT_EQ(result.statuses[1].state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_THAT(result.statuses[1].message(),
              HasSubstr("container name 'zk2' is taken by a container bdcoord does not manage"));
  EXPECT_TRUE(docker_.FindByName("zk2"));
  EXPECT_EQ(docker_.FindByName("zk2")->info.labels.size(), 0u);
}

TEST_F(ReconcilerTest, MembershipChangeRewritesEveryHostsFile) {
  reconciler_.Reconcile(Desired(2));
  auto desired = Desired(2);
  const std::string bigger = std::string(kHosts) + "10.1.0.13\tzk3.demo.lan zk3\n";
  desired.set_hosts_file(bigger);
  const int writes = hosts_.writes();
  const ReconcileResult result = reconciler_.Reconcile(desired);
  EXPECT_EQ(result.hosts_files_updated, 2) << "both containers see the new map";
  EXPECT_EQ(result.replaced, 0) << "a new hosts map must not replace containers";
  EXPECT_EQ(hosts_.Get(absl::StrCat(kDemoDir, "/hosts"))->content, bigger);
  EXPECT_EQ(hosts_.writes(), writes + 1) << "one write for every container of the cluster";
}

// A container made by an agent before the hosts map was bind-mounted has Docker's own
// /etc/hosts: it is kept current in place, as before (an agent upgrade restarts nothing).
TEST_F(ReconcilerTest, AContainerOfAnOlderAgentHasDockersHostsFileRewritten) {
  const auto desired = Desired(1);
  ContainerConfig old;
  old.name = "zk1";
  old.image = "standin";
  old.labels = {{kClusterLabel, "demo"},
                {kServiceLabel, "zk"},
                {kInstanceLabel, "zk1"},
                {kSpecHashLabel, SpecHash(desired.instances(0))}};
  const std::string id = *docker_.CreateContainer(old);
  ASSERT_TRUE(docker_.StartContainer(id).ok());
  const ReconcileResult result = reconciler_.Reconcile(desired);
  EXPECT_EQ(result.created + result.replaced, 0);
  EXPECT_EQ(result.hosts_files_updated, 1);
  EXPECT_EQ(hosts_.Get(docker_.FindByName("zk1")->info.hosts_path)->content, kHosts);
}

TEST_F(ReconcilerTest, RunOnceCompletesOnceAndIsNotRerun) {
  auto desired = Desired(1);
  desired.mutable_instances(0)->set_run_once(true);
  reconciler_.Reconcile(desired);
  docker_.Exit("zk1", 0);
  const ReconcileResult result = reconciler_.Reconcile(desired);
  EXPECT_EQ(result.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_COMPLETED);
  EXPECT_EQ(docker_.starts(), 1);
  EXPECT_EQ(docker_.creates(), 1);
}

TEST_F(ReconcilerTest, ACompletedRunOnceIsKeptButNeverRunAgain) {
  auto desired = Desired(1);
  desired.mutable_instances(0)->set_run_once(true);
  reconciler_.Reconcile(desired);
  docker_.Exit("zk1", 0, {"formatted"});
  desired.mutable_instances(0)->set_completed(true);  // the coordinator recorded it
  ReconcileResult result = reconciler_.Reconcile(desired);
  EXPECT_EQ(result.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_COMPLETED);
  EXPECT_EQ(result.removed, 0);
  EXPECT_EQ(result.replaced, 0);
  EXPECT_TRUE(docker_.FindByName("zk1")) << "kept for its logs";
  // Gone (removed by hand, or the host was rebuilt): still never created again.
  ASSERT_TRUE(docker_.RemoveContainer(docker_.FindByName("zk1")->info.id, true).ok());
  result = reconciler_.Reconcile(desired);
  EXPECT_EQ(result.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_COMPLETED);
  EXPECT_EQ(result.statuses[0].message(), "completed earlier; its container is gone");
  EXPECT_EQ(docker_.creates(), 1);
  EXPECT_EQ(docker_.starts(), 1);
}

TEST_F(ReconcilerTest, FailedInstanceReportsExitCodeAndLastLogLines) {
  auto desired = Desired(1);
  desired.mutable_instances(0)->set_run_once(true);
  reconciler_.Reconcile(desired);
  docker_.Exit("zk1", 3, {"formatting", "error: disk full"});
  const ReconcileResult result = reconciler_.Reconcile(desired);
  const auto& status = result.statuses[0];
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(status.exit_code(), 3);
  EXPECT_EQ(status.message(), "exited with code 3");
  EXPECT_THAT(status.last_log_lines(), ElementsAre("formatting", "error: disk full"));
  EXPECT_EQ(docker_.starts(), 1) << "a failed run-once job is reported, not re-run";
}

TEST_F(ReconcilerTest, CrashLoopIsStoppedAndReportedNotRetriedForever) {
  auto desired = Desired(2);
  desired.mutable_instances(0)->mutable_restart()->set_mode(
      bdcoord::v1::RestartPolicy::MODE_ALWAYS);
  reconciler_.Reconcile(desired);
  // A few restarts are Docker's business: still running (not ready: no probe passed yet).
  docker_.CrashLoop("zk1", kCrashLoopRestarts - 1, 137, {"starting"});
  EXPECT_EQ(reconciler_.Reconcile(desired).statuses[0].state(),
            bdcoord::v1::INSTANCE_STATE_RUNNING);
  docker_.CrashLoop("zk1", kCrashLoopRestarts, 137, {"starting", "fatal: no quorum"});
  const ReconcileResult result = reconciler_.Reconcile(desired);
  const auto& status = result.statuses[0];
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(status.exit_code(), 137);
  EXPECT_EQ(status.message(), "keeps failing: restarted 5 times, last exit code 137");
  EXPECT_THAT(status.last_log_lines(), ElementsAre("starting", "fatal: no quorum"));
  EXPECT_EQ(result.statuses[1].state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  // Stopped, and left stopped by the next passes.
  const int starts = docker_.starts();
  const ReconcileResult later = reconciler_.Reconcile(desired);
  EXPECT_EQ(later.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(docker_.starts(), starts);
  auto info = docker_.InspectContainer("zk1");
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->running);
}

TEST_F(ReconcilerTest, MissingImageIsAPerInstanceError) {
  auto desired = Desired(2);
  desired.mutable_instances(0)->set_image("nowhere:1");
  const ReconcileResult result = reconciler_.Reconcile(desired);
  EXPECT_EQ(result.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(result.statuses[0].message(),
            "image 'nowhere:1' is not on this host (no registry is assumed); hint: bdcoord images "
            "push nowhere:1 (or build it and `docker load` it)");
  EXPECT_EQ(result.statuses[1].state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
}

TEST_F(ReconcilerTest, NetworkConflictFailsItsInstancesWithTheReason) {
  docker_.SetNetworkError(
      absl::FailedPreconditionError("network \"lan\" exists with driver ipvlan, want macvlan"));
  const ReconcileResult result = reconciler_.Reconcile(Desired(1));
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0],
            "network 'lan': network \"lan\" exists with driver ipvlan, want macvlan");
  EXPECT_EQ(result.statuses[0].message(),
            "network 'lan' could not be set up: network \"lan\" exists with driver ipvlan, want "
            "macvlan");
  EXPECT_EQ(docker_.creates(), 0);
}

TEST_F(ReconcilerTest, DockerUnavailableChangesNothing) {
  reconciler_.Reconcile(Desired(2));
  docker_.FailAll(absl::UnavailableError("cannot connect to /run/docker.sock"));
  const ReconcileResult result = reconciler_.Reconcile(Desired(1));
  EXPECT_EQ(result.removed, 0);
  for (const auto& status : result.statuses) {
    EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_FAILED);
    EXPECT_THAT(status.message(), HasSubstr("cannot connect to /run/docker.sock"));
  }
  docker_.FailAll(absl::OkStatus());
  EXPECT_EQ(docker_.containers().size(), 2u);
}

TEST(SpecHash, IsStableAndIgnoresItsOwnField) {
  const auto desired = Desired(1);
  auto instance = desired.instances(0);
  const std::string hash = SpecHash(instance);
  EXPECT_EQ(hash.size(), 16u);
  instance.set_spec_hash("whatever");
  EXPECT_EQ(SpecHash(instance), hash);
  instance.set_ip("10.1.0.99");
  EXPECT_NE(SpecHash(instance), hash);
}

}  // namespace
}  // namespace bdcoord::agent

namespace bdcoord::agent {
namespace {

class ReconcilerReadinessTest : public ReconcilerTest {};

TEST_F(ReconcilerReadinessTest, RunningInstancesReportTheirProbe) {
  auto desired = Desired(2);
  desired.mutable_instances(0)->mutable_ready()->mutable_exec()->add_command("true");
  desired.mutable_instances(1)->mutable_ready()->mutable_log()->set_pattern("binding to port");
  const ReconcileResult result = reconciler_.Reconcile(desired);
  EXPECT_TRUE(result.statuses[0].ready()) << result.statuses[0].message();
  EXPECT_FALSE(result.statuses[1].ready());
  EXPECT_EQ(
      result.statuses[1].message(),
      "not ready (1 check failed; fails 1m after the first): log: no line matches 'binding to "
      "port' yet");
  EXPECT_TRUE(reconciler_.Reconcile(Desired(1)).statuses[0].ready())
      << "an instance without a probe is ready once it runs";
}

// Retries on a short backoff (probe_schedule.h); FAILED retries x interval after the first check.
TEST(ReconcilerProbeRetries, RetriesOnABackoffAndFailAfterTheGrace) {
  FakeHostFiles hosts;
  FakeDockerClient docker{&hosts};
  docker.AddImage("standin");
  const absl::Time start = absl::FromUnixSeconds(1000);
  absl::Time now = start;
  testing::FakeProber prober;
  prober.set_result(absl::UnavailableError("tcp 10.1.0.11:2181: Connection refused"));
  ReconcilerOptions options;
  options.now = [&] { return now; };
  options.prober = &prober;
  Reconciler reconciler(&docker, &hosts, nullptr, options);
  auto desired = Desired(1);
  auto* probe = desired.mutable_instances(0)->mutable_ready();
  probe->mutable_tcp()->set_port(2181);
  probe->mutable_interval()->set_seconds(5);
  probe->set_retries(2);  // 10 s of grace

  EXPECT_EQ(reconciler.Reconcile(desired).statuses[0].message(),
            "not ready (1 check failed; fails 10s after the first): tcp 10.1.0.11:2181: "
            "Connection refused");
  EXPECT_EQ(reconciler.NextDue(), start + absl::Milliseconds(100));
  now += absl::Milliseconds(50);  // not due yet: no second check
  EXPECT_THAT(reconciler.Reconcile(desired).statuses[0].message(), HasSubstr("(1 check failed"));
  now += absl::Milliseconds(50);
  EXPECT_THAT(reconciler.Reconcile(desired).statuses[0].message(), HasSubstr("(2 checks failed"));
  EXPECT_EQ(reconciler.NextDue(), now + absl::Milliseconds(200));
  now = start + absl::Milliseconds(9900);  // late, but within the grace: not failed yet
  auto status = reconciler.Reconcile(desired).statuses[0];
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(reconciler.NextDue(), start + absl::Seconds(10)) << "the last check ends the grace";
  now = start + absl::Seconds(10);
  status = reconciler.Reconcile(desired).statuses[0];
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(status.message(),
            "not ready 10s after its first check (4 checks failed): tcp 10.1.0.11:2181: "
            "Connection refused");
  EXPECT_EQ(docker.creates(), 1) << "a probe failure reports, it does not recreate";
  EXPECT_EQ(prober.checked().size(), 4u);
  // Still checked at the interval: a late success makes it ready.
  EXPECT_EQ(reconciler.NextDue(), now + absl::Seconds(5));
  prober.set_result(absl::OkStatus());
  now += absl::Seconds(5);
  status = reconciler.Reconcile(desired).statuses[0];
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_TRUE(status.ready());
}

TEST(ReconcilerProbeRetries, OnceReadyAContainerIsNotProbedAgain) {
  FakeHostFiles hosts;
  FakeDockerClient docker{&hosts};
  docker.AddImage("standin");
  Reconciler reconciler(&docker, &hosts, nullptr, ReconcilerOptions{.now = test_util::RealClock()});
  auto desired = Desired(1);
  desired.mutable_instances(0)->mutable_ready()->mutable_exec()->add_command("true");
  EXPECT_TRUE(reconciler.Reconcile(desired).statuses[0].ready());
  EXPECT_TRUE(reconciler.Reconcile(desired).statuses[0].ready());
  EXPECT_EQ(docker.execs(), 1);
  EXPECT_EQ(reconciler.NextDue(), absl::InfiniteFuture());
}

TEST_F(ReconcilerReadinessTest, PruneNetworksRemovesOnlyUnwantedOnes) {
  reconciler_.Reconcile(Desired(1));
  ASSERT_EQ(docker_.ListNetworks({})->size(), 1u);
  EXPECT_THAT(reconciler_.PruneNetworks({"lan"}), IsEmpty());
  EXPECT_EQ(docker_.ListNetworks({})->size(), 1u);
  EXPECT_THAT(reconciler_.PruneNetworks({}), IsEmpty());
  EXPECT_EQ(docker_.ListNetworks({})->size(), 0u);
}

// Networks are looked up once per network_recheck, not on every pass; a prune that left nothing
// behind is not repeated for the same wanted networks; a failed create looks again at once.
TEST(ReconcilerNetworkTest, NetworksAreAskedAboutOncePerRecheck) {
  FakeHostFiles hosts;
  FakeDockerClient docker{&hosts};
  docker.AddImage("standin");
  absl::Time now = absl::FromUnixSeconds(1000);
  Reconciler reconciler(&docker, &hosts, nullptr,
                        {.network_recheck = absl::Seconds(30), .now = [&] { return now; }});
  const auto calls = [&](const char* method) { return docker.calls()[method]; };
  for (int pass = 0; pass < 3; ++pass) {
    reconciler.Reconcile(Desired(2));
    reconciler.PruneNetworks({"lan"});
  }
  EXPECT_EQ(calls("EnsureNetwork"), 1);
  EXPECT_EQ(calls("ListNetworks"), 1);

  now += absl::Seconds(30);
  reconciler.Reconcile(Desired(2));
  reconciler.PruneNetworks({"lan"});
  EXPECT_EQ(calls("EnsureNetwork"), 2);
  EXPECT_EQ(calls("ListNetworks"), 2);

  EXPECT_THAT(reconciler.PruneNetworks({}), IsEmpty()) << "the wanted networks changed";
  EXPECT_EQ(calls("ListNetworks"), 3);
  EXPECT_THAT(docker.ListNetworks({}).value(), IsEmpty());
  reconciler.Reconcile(Desired(3));
  EXPECT_EQ(calls("EnsureNetwork"), 3) << "a pruned network is looked for again";
  ASSERT_EQ(docker.ListNetworks({})->size(), 1u);

  docker.SetNetworkError(absl::UnavailableError("dockerd busy"));
  now += absl::Seconds(30);
  reconciler.Reconcile(Desired(3));
  docker.SetNetworkError(absl::OkStatus());
  reconciler.Reconcile(Desired(3));
  EXPECT_EQ(calls("EnsureNetwork"), 5) << "a failed look is not remembered";
}

}  // namespace
}  // namespace bdcoord::agent

namespace bdcoord::agent {
namespace {

TEST_F(ReconcilerTest, EachInstanceHasATypedOutcome) {
  ReconcileResult result = reconciler_.Reconcile(Desired(2));
  ASSERT_EQ(result.outcomes.size(), 2u);
  EXPECT_EQ(result.outcomes[0].action, InstanceAction::kCreate);
  EXPECT_TRUE(result.outcomes[0].created);
  auto changed = Desired(2);
  changed.mutable_instances(1)->set_image("standin2");
  docker_.AddImage("standin2");
  result = reconciler_.Reconcile(changed);
  EXPECT_EQ(result.outcomes[0].action, InstanceAction::kKeep);
  EXPECT_FALSE(result.outcomes[0].created);
  EXPECT_EQ(result.outcomes[1].action, InstanceAction::kReplace);
  EXPECT_TRUE(result.outcomes[1].replaced);
  EXPECT_FALSE(result.docker_unavailable());
}

TEST_F(ReconcilerTest, DockerUnavailableIsAStatusCodeNotAMessage) {
  docker_.FailAll(absl::UnavailableError("cannot connect to /run/docker.sock"));
  const ReconcileResult result = reconciler_.Reconcile(Desired(1));
  EXPECT_TRUE(result.docker_unavailable());
  EXPECT_EQ(result.docker.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(result.outcomes, IsEmpty()) << "nothing decided without the current state";
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0], "cannot list containers: cannot connect to /run/docker.sock");
}

TEST(ReconcilerProber, ReadinessGoesThroughTheInjectedProber) {
  FakeHostFiles hosts;
  FakeDockerClient docker{&hosts};
  testing::FakeProber prober;
  docker.AddImage("standin");
  prober.set_result(absl::UnavailableError("tcp 10.1.0.11:2181: Connection refused"));
  Reconciler reconciler(&docker, &hosts, nullptr,
                        ReconcilerOptions{.now = test_util::RealClock(), .prober = &prober});
  auto desired = Desired(1);
  desired.mutable_instances(0)->mutable_ready()->mutable_tcp()->set_port(2181);
  auto status = reconciler.Reconcile(desired).statuses[0];
  EXPECT_FALSE(status.ready());
  EXPECT_EQ(status.message(),
            "not ready (1 check failed; fails 1m after the first): tcp 10.1.0.11:2181: Connection "
            "refused");
  ASSERT_EQ(prober.checked().size(), 1u);
  EXPECT_EQ(prober.checked()[0].ip, "10.1.0.11");
  EXPECT_EQ(prober.checked()[0].container_id, status.container_id());
}

// Duplicate address detection: instances of services with reschedule (fence_after set) are
// probed on the LAN before their first start on this host.
class ReconcilerAddressTest : public ::testing::Test {
 protected:
  ReconcilerAddressTest()
      : reconciler_(
            &docker_, &hosts_, nullptr,
            ReconcilerOptions{.now = test_util::RealClock(), .address_prober = &addresses_}) {
    docker_.AddImage("standin");
  }
  // Desired(count) whose instances have a fence_after (their service reschedules).
  static bdcoord::v1::DesiredState Rescheduled(int count) {
    bdcoord::v1::DesiredState desired = Desired(count);
    for (auto& instance : *desired.mutable_instances()) {
      instance.mutable_fence_after()->set_seconds(10);
    }
    return desired;
  }

  FakeHostFiles hosts_;
  FakeDockerClient docker_{&hosts_};
  net::testing::FakeAddressProber addresses_;
  Reconciler reconciler_;
};

TEST_F(ReconcilerAddressTest, AnInstanceWhoseAddressAnswersIsNotStartedAndIsRetried) {
  addresses_.SetAnswering("10.1.0.11", "02:42:0a:01:00:0b");
  ReconcileResult result = reconciler_.Reconcile(Rescheduled(2));
  ASSERT_EQ(result.statuses.size(), 2u);
  EXPECT_EQ(result.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(result.statuses[0].message(),
            "not starting 'zk1': 10.1.0.11 already answers on the LAN (from MAC "
            "02:42:0a:01:00:0b): another host may still run it; retrying");
  EXPECT_FALSE(docker_.FindByName("zk1")) << "nothing made for it";
  EXPECT_EQ(result.statuses[1].state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(result.created, 1);
  // Both addresses in one probe of their parent, at once.
  ASSERT_EQ(addresses_.calls().size(), 1u);
  EXPECT_EQ(addresses_.calls()[0].parent, "eth0");
  EXPECT_THAT(addresses_.calls()[0].ips, ElementsAre("10.1.0.11", "10.1.0.12"));

  // The old host let it go: the next pass starts it, having probed only zk1 (zk2 runs here).
  addresses_.ClearAnswering();
  result = reconciler_.Reconcile(Rescheduled(2));
  EXPECT_EQ(result.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_TRUE(docker_.FindByName("zk1"));
  ASSERT_EQ(addresses_.calls().size(), 2u);
  EXPECT_THAT(addresses_.calls()[1].ips, ElementsAre("10.1.0.11"));
}

TEST_F(ReconcilerAddressTest, OwnContainersAndServicesWithoutRescheduleAreNotProbed) {
  bdcoord::v1::DesiredState desired = Rescheduled(2);
  desired.mutable_instances(1)->clear_fence_after();  // zk2's service has no reschedule
  ASSERT_EQ(reconciler_.Reconcile(desired).created, 2);
  ASSERT_EQ(addresses_.calls().size(), 1u);
  EXPECT_THAT(addresses_.calls()[0].ips, ElementsAre("10.1.0.11"));
  // zk1 exits and is started again: its own container, which ran here, is not probed.
  docker_.Exit("zk1", 1);
  addresses_.SetAnswering("10.1.0.11", "02:42:0a:01:00:0b");
  const ReconcileResult result = reconciler_.Reconcile(desired);
  EXPECT_EQ(addresses_.calls().size(), 1u);
  EXPECT_THAT(result.statuses[0].message(), ::testing::Not(HasSubstr("not starting")));
}

TEST_F(ReconcilerAddressTest, AnAddressThatCannotBeProbedIsNotStartedEither) {
  addresses_.SetError(absl::PermissionDeniedError(
      "cannot open an ARP socket (AF_PACKET): Operation not permitted"));
  const ReconcileResult result = reconciler_.Reconcile(Rescheduled(1));
  EXPECT_EQ(result.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(result.statuses[0].message(),
            "not starting 'zk1': cannot tell whether 10.1.0.11 already answers on the LAN (eth0): "
            "cannot open an ARP socket (AF_PACKET): Operation not permitted; retrying");
  EXPECT_FALSE(docker_.FindByName("zk1"));
}

TEST_F(ReconcilerAddressTest, EachParentIsProbedAtTheSameTime) {
  bdcoord::v1::DesiredState desired = Rescheduled(2);
  auto* second = desired.add_networks();
  *second = desired.networks(0);
  second->set_name("lan2");
  second->set_parent("eth1");
  desired.mutable_instances(1)->set_network("lan2");
  addresses_.HoldUntilInFlight(2);  // each probe answers only once both are asked
  const ReconcileResult result = reconciler_.Reconcile(desired);
  EXPECT_EQ(addresses_.waited_alone(), 0);
  ASSERT_EQ(addresses_.calls().size(), 2u);
  EXPECT_EQ(result.created, 2);
}

}  // namespace
}  // namespace bdcoord::agent

namespace bdcoord::agent {
namespace {

using ::testing::ElementsAre;
using testing::FakeDockerClient;
using testing::FakeHostFiles;
using testing::FakeLinkManager;
using ::testing::HasSubstr;

bdcoord::v1::DesiredState WithShim(bdcoord::v1::DesiredState desired, const char* address) {
  desired.mutable_networks(0)->set_host_shim(true);
  if (address != nullptr) (*desired.mutable_shim_addresses())["lan"] = address;
  return desired;
}

class ReconcilerShimTest : public ::testing::Test {
 protected:
  ReconcilerShimTest()
      : reconciler_(&docker_, &hosts_, &links_, ReconcilerOptions{.now = test_util::RealClock()}) {
    docker_.AddImage("standin");
  }

  FakeHostFiles hosts_;
  FakeDockerClient docker_{&hosts_};
  FakeLinkManager links_;
  Reconciler reconciler_;
};

TEST_F(ReconcilerShimTest, ShimOnTheParentRoutesThisHostsContainers) {
  const ReconcileResult result = reconciler_.Reconcile(WithShim(Desired(2), "10.1.0.250/32"));
  EXPECT_THAT(result.errors, ::testing::IsEmpty());
  ASSERT_EQ(links_.shims.size(), 1u);
  const net::ShimConfig& shim = links_.shims.begin()->second;
  EXPECT_EQ(shim.parent, "eth0");
  EXPECT_EQ(shim.driver, net::ShimDriver::kMacvlan);
  EXPECT_EQ(shim.address, "10.1.0.250/32");
  EXPECT_THAT(shim.routes, ElementsAre("10.1.0.11", "10.1.0.12"));
}

TEST_F(ReconcilerShimTest, ShimWithoutAnAddressIsReportedNotGuessed) {
  const ReconcileResult result = reconciler_.Reconcile(WithShim(Desired(1), nullptr));
  EXPECT_THAT(result.errors,
              ElementsAre("network 'lan' asks for a host shim but this host has no shim address"));
  EXPECT_TRUE(links_.shims.empty());
}

TEST_F(ReconcilerShimTest, ARefusedShimIsReportedAndTheContainersStillRun) {
  links_.ensure_error = absl::PermissionDeniedError("Operation not permitted");
  const ReconcileResult result = reconciler_.Reconcile(WithShim(Desired(1), "10.1.0.250/32"));
  EXPECT_THAT(result.errors, ElementsAre("host shim of network 'lan': Operation not permitted"));
  ASSERT_EQ(result.statuses.size(), 1u);
  EXPECT_EQ(result.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
}

TEST(ReconcilerWithoutLinksTest, ShimWithoutALinkManagerIsReported) {
  FakeDockerClient docker;
  docker.AddImage("standin");
  FakeHostFiles hosts;
  Reconciler reconciler(&docker, &hosts, nullptr, ReconcilerOptions{.now = test_util::RealClock()});
  const ReconcileResult result = reconciler.Reconcile(WithShim(Desired(1), "10.1.0.250/32"));
  EXPECT_THAT(result.errors, ElementsAre(HasSubstr("asks for a host shim but this host has no "
                                                   "link manager")));
}

}  // namespace
}  // namespace bdcoord::agent

namespace bdcoord::agent {
namespace {

using bdcoord::v1::RestartPolicy;
using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using testing::FakeDockerClient;
using testing::FakeHostFiles;

// Containers of desired instances that exit and that Docker leaves exited (`docker kill`, `docker
// stop`, on-failure:N given up): the agent starts them again as their policy says, with backoff.
class ReconcilerRestartTest : public ::testing::Test {
 protected:
  ReconcilerRestartTest()
      : reconciler_(&docker_, &hosts_, nullptr, ReconcilerOptions{.now = clock_.AsFunction()}) {
    docker_.AddImage("standin");
  }

  static bdcoord::v1::DesiredState WithPolicy(RestartPolicy::Mode mode) {
    auto desired = Desired(1);
    desired.mutable_instances(0)->mutable_restart()->set_mode(mode);
    return desired;
  }
  bdcoord::v1::InstanceStatus Pass(const bdcoord::v1::DesiredState& desired) {
    return reconciler_.Reconcile(desired).statuses[0];
  }

  test_util::FakeClock clock_;
  FakeHostFiles hosts_;
  FakeDockerClient docker_{&hosts_};
  Reconciler reconciler_;
};

TEST_F(ReconcilerRestartTest, AKilledContainerIsStartedAgain) {
  const auto desired = WithPolicy(RestartPolicy::MODE_ALWAYS);
  const auto first = Pass(desired);
  docker_.Exit("zk1", 137);  // docker kill: a manual stop, which Docker does not restart
  const auto status = Pass(desired);
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING) << status.message();
  EXPECT_EQ(status.container_id(), first.container_id()) << "started again, not recreated";
  EXPECT_GT(TimeUtil::TimestampToNanoseconds(status.started_at()),
            TimeUtil::TimestampToNanoseconds(first.started_at()))
      << "a new start time: the coordinator's `started: restarted` event";
  EXPECT_EQ(docker_.starts(), 2);
  EXPECT_EQ(docker_.creates(), 1);
}

TEST_F(ReconcilerRestartTest, RestartsWaitForTheirBackoff) {
  const auto desired = WithPolicy(RestartPolicy::MODE_UNLESS_STOPPED);
  Pass(desired);
  docker_.Exit("zk1", 1);
  EXPECT_EQ(Pass(desired).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);  // the first at once
  EXPECT_EQ(docker_.starts(), 2);
  for (const absl::Duration backoff : {absl::Seconds(1), absl::Seconds(2), absl::Seconds(4)}) {
    docker_.Exit("zk1", 1);
    const auto waiting = Pass(desired);
    EXPECT_EQ(waiting.state(), bdcoord::v1::INSTANCE_STATE_PENDING);
    EXPECT_EQ(waiting.message(),
              absl::StrCat("exited with code 1; restarting in ", absl::FormatDuration(backoff)));
    EXPECT_EQ(reconciler_.NextDue(), clock_.Now() + backoff) << "the agent's next pass";
    const int starts = docker_.starts();
    clock_.Advance(backoff - absl::Milliseconds(1));
    EXPECT_EQ(Pass(desired).state(), bdcoord::v1::INSTANCE_STATE_PENDING);
    EXPECT_EQ(docker_.starts(), starts);
    clock_.Advance(absl::Milliseconds(1));
    EXPECT_EQ(Pass(desired).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
    EXPECT_EQ(docker_.starts(), starts + 1);
  }
  // Ten minutes after its last restart a container starts a new count, and a short backoff.
  clock_.Advance(kRestartCountReset);
  docker_.Exit("zk1", 1);
  EXPECT_EQ(Pass(desired).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  docker_.Exit("zk1", 1);
  EXPECT_EQ(Pass(desired).message(), "exited with code 1; restarting in 1s");
}

TEST_F(ReconcilerRestartTest, PolicyNoLeavesItExited) {
  for (const RestartPolicy::Mode mode : {RestartPolicy::MODE_NO, RestartPolicy::MODE_UNSPECIFIED}) {
    const auto desired = WithPolicy(mode);
    Pass(desired);
    const int starts = docker_.starts();
    docker_.Exit("zk1", 137, {"killed"});
    const auto status = Pass(desired);
    EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_FAILED);
    EXPECT_EQ(status.message(), "exited with code 137");
    EXPECT_THAT(status.last_log_lines(), ElementsAre("killed"));
    EXPECT_EQ(docker_.starts(), starts);
    ASSERT_TRUE(docker_.RemoveContainer(status.container_id(), true).ok());
  }
}

TEST_F(ReconcilerRestartTest, OnFailureRestartsOnlyANonZeroExit) {
  const auto desired = WithPolicy(RestartPolicy::MODE_ON_FAILURE);
  Pass(desired);
  docker_.Exit("zk1", 0);
  const auto status = Pass(desired);
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(status.message(), "exited with code 0");
  EXPECT_EQ(docker_.starts(), 1);
  docker_.Exit("zk1", 2);
  EXPECT_EQ(Pass(desired).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(docker_.starts(), 2);
}

TEST_F(ReconcilerRestartTest, ACrashLoopEndsFailedWithItsExitCodeAndLastLines) {
  const auto desired = WithPolicy(RestartPolicy::MODE_ALWAYS);
  Pass(desired);
  for (int restart = 1; restart <= kCrashLoopRestarts; ++restart) {
    docker_.Exit("zk1", 137, {"starting", "fatal: no quorum"});
    clock_.Advance(kMaxRestartBackoff);
    EXPECT_EQ(Pass(desired).state(), bdcoord::v1::INSTANCE_STATE_RUNNING) << restart;
  }
  docker_.Exit("zk1", 137, {"starting", "fatal: no quorum"});
  clock_.Advance(kMaxRestartBackoff);
  const auto status = Pass(desired);
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(status.exit_code(), 137);
  EXPECT_EQ(status.message(), "keeps failing: restarted 5 times, last exit code 137");
  EXPECT_THAT(status.last_log_lines(), ElementsAre("starting", "fatal: no quorum"));
  const int starts = docker_.starts();
  clock_.Advance(kMaxRestartBackoff);
  EXPECT_EQ(Pass(desired).state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(docker_.starts(), starts) << "left stopped";
}

TEST_F(ReconcilerRestartTest, DockersRestartsAndTheAgentsCountTogether) {
  // on-failure:2: Docker restarted it twice and gave up; the agent starts it (Docker's count
  // goes back to 0 on that start), Docker restarts it twice more: 5 in all.
  auto desired = WithPolicy(RestartPolicy::MODE_ON_FAILURE);
  desired.mutable_instances(0)->mutable_restart()->set_max_retries(2);
  Pass(desired);
  docker_.CrashLoop("zk1", 2, 1, {});
  docker_.Exit("zk1", 1);
  EXPECT_EQ(Pass(desired).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  docker_.CrashLoop("zk1", 2, 1, {"bad config"});
  const auto status = Pass(desired);
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(status.message(), "keeps failing: restarted 5 times, last exit code 1");
  EXPECT_FALSE(docker_.InspectContainer("zk1")->running) << "stopped";
}

TEST_F(ReconcilerRestartTest, ARefusedStartIsReportedAndTriedAgainAfterTheBackoff) {
  const auto desired = WithPolicy(RestartPolicy::MODE_ALWAYS);
  Pass(desired);
  docker_.Exit("zk1", 137);
  docker_.FailStarts(absl::InternalError("OCI runtime create failed"));
  auto status = Pass(desired);
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(status.message(), "exited with code 137; cannot restart: OCI runtime create failed");
  docker_.FailStarts(absl::OkStatus());
  EXPECT_EQ(Pass(desired).state(), bdcoord::v1::INSTANCE_STATE_PENDING);
  clock_.Advance(kFirstRestartBackoff);
  EXPECT_EQ(Pass(desired).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
}

TEST_F(ReconcilerRestartTest, StatusCountsEveryRestartWithTheLastExitCode) {
  const auto desired = WithPolicy(RestartPolicy::MODE_ALWAYS);
  auto status = Pass(desired);
  EXPECT_EQ(status.restart_count(), 0);
  EXPECT_EQ(status.last_exit_code(), 0);
  docker_.Exit("zk1", 137);  // the agent restarts it
  status = Pass(desired);
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(status.restart_count(), 1);
  EXPECT_EQ(status.last_exit_code(), 137);
  EXPECT_EQ(status.exit_code(), 0) << "the running container's";
  docker_.CrashLoop("zk1", 2, 1, {});  // Docker restarted it twice more
  status = Pass(desired);
  EXPECT_EQ(status.restart_count(), 3);
  EXPECT_EQ(status.last_exit_code(), 1);
  // The count never goes down, not even when the agent's own history starts afresh.
  clock_.Advance(kRestartCountReset);
  docker_.Exit("zk1", 143);
  status = Pass(desired);
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(status.restart_count(), 4);
  EXPECT_EQ(status.last_exit_code(), 143);
}

TEST_F(ReconcilerRestartTest, ANewApplyRetriesAnInstanceGivenUpOn) {
  auto desired = WithPolicy(RestartPolicy::MODE_ALWAYS);
  *desired.mutable_applied_at() = TimeUtil::SecondsToTimestamp(1700000000);
  Pass(desired);
  docker_.CrashLoop("zk1", kCrashLoopRestarts, 137, {"fatal: no quorum"});
  ASSERT_EQ(Pass(desired).state(), bdcoord::v1::INSTANCE_STATE_FAILED);  // given up, stopped
  const int starts = docker_.starts();
  clock_.Advance(kMaxRestartBackoff);
  EXPECT_EQ(Pass(desired).state(), bdcoord::v1::INSTANCE_STATE_FAILED) << "the same apply";
  EXPECT_EQ(docker_.starts(), starts);

  *desired.mutable_applied_at() = TimeUtil::SecondsToTimestamp(1700000600);  // applied again
  const auto status = Pass(desired);
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING) << status.message();
  EXPECT_EQ(docker_.starts(), starts + 1);
  EXPECT_EQ(docker_.creates(), 1) << "the same container, started again";
  EXPECT_EQ(status.restart_count(), kCrashLoopRestarts + 1) << "the count goes on";
  // Then a fresh allowance (the agent's start counts in it): Docker's next restarts are not a
  // crash loop yet.
  docker_.CrashLoop("zk1", kCrashLoopRestarts - 2, 137, {});
  EXPECT_EQ(Pass(desired).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
}

TEST_F(ReconcilerRestartTest, TheFirstDesiredStateAfterAnAgentStartRetriesNothing) {
  auto desired = WithPolicy(RestartPolicy::MODE_ALWAYS);
  Pass(desired);
  docker_.CrashLoop("zk1", kCrashLoopRestarts, 137, {});
  ASSERT_EQ(Pass(desired).state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  // A desired-state file has no applied_at; the first one seen is the agent's baseline.
  *desired.mutable_applied_at() = TimeUtil::SecondsToTimestamp(1700000000);
  const int starts = docker_.starts();
  EXPECT_EQ(Pass(desired).state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(docker_.starts(), starts);
}

TEST_F(ReconcilerRestartTest, ARestartedContainerIsProbedAgain) {
  testing::FakeProber prober;
  Reconciler reconciler(&docker_, &hosts_, nullptr,
                        ReconcilerOptions{.now = clock_.AsFunction(), .prober = &prober});
  auto desired = WithPolicy(RestartPolicy::MODE_ALWAYS);
  desired.mutable_instances(0)->mutable_ready()->mutable_tcp()->set_port(2181);
  EXPECT_TRUE(reconciler.Reconcile(desired).statuses[0].ready());
  docker_.Exit("zk1", 137);
  prober.set_result(absl::UnavailableError("tcp 10.1.0.11:2181: Connection refused"));
  const auto status = reconciler.Reconcile(desired).statuses[0];
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_FALSE(status.ready());
  EXPECT_EQ(prober.checked().size(), 2u);
}

}  // namespace
}  // namespace bdcoord::agent

namespace bdcoord::agent {
namespace {

using testing::FakeDockerClient;
using testing::FakeHostFiles;

constexpr char kImagePasswd[] =
    "root:x:0:0:root:/root:/bin/sh\nzookeeper:x:107:113::/var/lib/zookeeper:/bin/false\n";
constexpr char kImageGroup[] = "root:x:0:\nzookeeper:x:113:\nhadoop:x:500:\n";

// `user:` by name: Docker resolves it when the container starts; the agent needs the numbers
// before (the owner of the files it puts in), from the created container's own files.
class ReconcilerUserTest : public ::testing::Test {
 protected:
  // Root allowed: these are about users, not the host policy (ReconcilerPolicyTest).
  ReconcilerUserTest()
      : reconciler_(&docker_, &hosts_, nullptr,
                    ReconcilerOptions{.now = test_util::RealClock(),
                                      .policy = {.allow_root = true, .allowed_host_paths = {}}}) {
    docker_.AddImage("standin");
    docker_.AddImageFile("standin", "/etc/passwd", kImagePasswd);
    docker_.AddImageFile("standin", "/etc/group", kImageGroup);
  }

  bdcoord::v1::InstanceStatus RunAs(const std::string& user) {
    auto desired = Desired(1);
    desired.mutable_instances(0)->set_user(user);
    return reconciler_.Reconcile(desired).statuses[0];
  }

  FakeHostFiles hosts_;
  FakeDockerClient docker_{&hosts_};
  Reconciler reconciler_;
};

TEST_F(ReconcilerUserTest, ANameIsResolvedFromTheImageForTheFilesOwner) {
  const auto status = RunAs("zookeeper:hadoop");
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING) << status.message();
  const auto zk1 = docker_.FindByName("zk1");
  ASSERT_TRUE(zk1);
  EXPECT_EQ(zk1->config.user, "zookeeper:hadoop") << "Docker runs it by name";
  EXPECT_EQ(hosts_.Get(absl::StrCat(kDemoDir, "/instances/zk1/files/conf/myid"))->owner,
            (FileOwner{107, 500}));
  EXPECT_EQ(docker_.reads(), 2);  // /etc/passwd and /etc/group
}

// The image's files are read once per image and user, not once per container.
TEST_F(ReconcilerUserTest, AnImagesUsersAreLookedUpOnce) {
  // One worker: with more, those that start together may each read before one remembers.
  Reconciler reconciler(
      &docker_, &hosts_, nullptr,
      ReconcilerOptions{.parallelism = 1,
                        .now = test_util::RealClock(),
                        .policy = {.allow_root = true, .allowed_host_paths = {}}});
  auto desired = Desired(4);
  for (auto& instance : *desired.mutable_instances()) instance.set_user("zookeeper:hadoop");
  ASSERT_EQ(reconciler.Reconcile(desired).created, 4);
  EXPECT_EQ(docker_.reads(), 2) << "/etc/passwd and /etc/group, once";
  reconciler.Reconcile(Desired(0));
  desired.mutable_instances()->DeleteSubrange(1, 3);
  ASSERT_EQ(reconciler.Reconcile(desired).created, 1);
  EXPECT_EQ(docker_.reads(), 2) << "remembered";
  EXPECT_EQ(hosts_.Get(absl::StrCat(kDemoDir, "/instances/zk1/files/conf/myid"))->owner,
            (FileOwner{107, 500}));
}

TEST_F(ReconcilerUserTest, NumbersNeedNoLookup) {
  EXPECT_EQ(RunAs("1000:1000").state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(hosts_.Get(absl::StrCat(kDemoDir, "/instances/zk1/files/conf/myid"))->owner,
            (FileOwner{1000, 1000}));
  EXPECT_EQ(docker_.reads(), 0);
}

// Named volumes: a new one is handed to a non-root user; one that existed is never changed.
bdcoord::v1::DesiredState WithVolumes(const std::string& user) {
  auto desired = Desired(1);
  auto* instance = desired.mutable_instances(0);
  instance->set_user(user);
  auto* data = instance->add_volumes();
  data->set_source("zk-data1");
  data->set_target("/var/lib/zookeeper");
  auto* seed = instance->add_volumes();
  seed->set_source("seed");
  seed->set_target("/seed");
  seed->set_read_only(true);
  auto* myid = instance->add_files();
  myid->set_path("/var/lib/zookeeper/myid");
  myid->set_content("1\n");
  return desired;
}

TEST_F(ReconcilerUserTest, ANewVolumeBelongsToTheInstancesUser) {
  const auto status = reconciler_.Reconcile(WithVolumes("zookeeper")).statuses[0];
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING) << status.message();
  EXPECT_EQ(hosts_.OwnerOf(FakeDockerClient::VolumeMountpoint("zk-data1")).value(),
            (FileOwner{107, 113}));
  EXPECT_EQ(hosts_.Get(FakeDockerClient::VolumeMountpoint("zk-data1"))->mode, 0755u)
      << "its mode is kept";
  EXPECT_EQ(hosts_.OwnerOf(FakeDockerClient::VolumeMountpoint("seed")).value(), (FileOwner{0, 0}))
      << "read-only: not the service's to write";
  EXPECT_EQ(hosts_.Under(absl::StrCat(kDemoDir, "/instances/zk1")).size(), 2u);
  EXPECT_EQ(docker_.reads(), 1) << "/etc/passwd for the user; the volume's owner is on the host";
  // Listed once; both made by the container's create, labelled; only the one to hand over is
  // looked up for its mountpoint.
  EXPECT_EQ(docker_.calls()["ListVolumes"], 1);
  EXPECT_EQ(docker_.calls()["CreateVolume"], 1);
  for (const char* volume : {"zk-data1", "seed"}) {
    EXPECT_EQ(docker_.VolumeLabels(volume),
              (std::map<std::string, std::string>{{std::string(kClusterLabel), "demo"}}))
        << volume;
  }
}

TEST_F(ReconcilerUserTest, AVolumeThatExistedOrARootUserChangesNothing) {
  ASSERT_TRUE(docker_.CreateVolume("zk-data1", {})->created);  // the operator's, root-owned
  EXPECT_EQ(reconciler_.Reconcile(WithVolumes("zookeeper")).statuses[0].state(),
            bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(hosts_.OwnerOf(FakeDockerClient::VolumeMountpoint("zk-data1")).value(),
            (FileOwner{0, 0}));
  ASSERT_TRUE(docker_.RemoveContainer(docker_.FindByName("zk1")->info.id, true).ok());
  ASSERT_TRUE(docker_.RemoveVolume("zk-data1").ok());
  EXPECT_EQ(reconciler_.Reconcile(WithVolumes("root")).statuses[0].state(),
            bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(hosts_.OwnerOf(FakeDockerClient::VolumeMountpoint("zk-data1")).value(),
            (FileOwner{0, 0}));
}

TEST_F(ReconcilerUserTest, AFailedCreationRemovesTheVolumesItMadeOnly) {
  ASSERT_TRUE(docker_.CreateVolume("seed", {})->created);
  const auto status = reconciler_.Reconcile(WithVolumes("zookeper")).statuses[0];
  EXPECT_EQ(status.message(), "user 'zookeper' is not in the image's /etc/passwd");
  EXPECT_FALSE(docker_.HasVolume("zk-data1")) << "made by the attempt: new again next time";
  EXPECT_TRUE(docker_.HasVolume("seed")) << "it existed before";
}

TEST_F(ReconcilerUserTest, ANameTheImageLacksFailsTheInstanceAndLeavesNoContainer) {
  const auto status = RunAs("zookeper");
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(status.message(), "user 'zookeper' is not in the image's /etc/passwd");
  EXPECT_FALSE(docker_.FindByName("zk1")) << "removed: the next pass tries afresh";
  EXPECT_EQ(docker_.starts(), 0);
  EXPECT_EQ(RunAs("zookeeper:hadop").message(), "group 'hadop' is not in the image's /etc/group");
}

// The host's own policy (bdagent --allow-root, --allow-host-path), whatever the coordinator sent:
// an instance that breaches it is refused before any container or volume is made.
class ReconcilerPolicyTest : public ::testing::Test {
 protected:
  ReconcilerPolicyTest() {
    docker_.AddImage("standin");
    docker_.AddImage("rooted", "");  // no USER: root
    docker_.AddImageFile("standin", "/etc/passwd", "toor:x:0:0::/:/bin/sh\nzk:x:107:113::/:/\n");
  }

  bdcoord::v1::InstanceStatus Run(const bdcoord::v1::DesiredState& desired,
                                  policy::HostPolicy policy = {}) {
    Reconciler reconciler(
        &docker_, &hosts_, nullptr,
        ReconcilerOptions{
            .now = test_util::RealClock(), .policy = std::move(policy), .host_name = "bd2"});
    return reconciler.Reconcile(desired).statuses[0];
  }

  static bdcoord::v1::DesiredState As(const std::string& user) {
    auto desired = Desired(1);
    desired.mutable_instances(0)->set_user(user);
    auto* data = desired.mutable_instances(0)->add_volumes();
    data->set_source("zk-data1");
    data->set_target("/data");
    return desired;
  }

  static bdcoord::v1::DesiredState Mounting(const std::string& source) {
    auto desired = Desired(1);
    auto* volume = desired.mutable_instances(0)->add_volumes();
    volume->set_source(source);
    volume->set_target("/host");
    return desired;
  }

  FakeHostFiles hosts_;
  FakeDockerClient docker_{&hosts_};
};

TEST_F(ReconcilerPolicyTest, RootIsRefusedBeforeAnythingIsMade) {
  const auto status = Run(As("0:0"));
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(status.message(),
            "refused by host bd2's policy: service 'zk' runs as root (user \"0:0\"): the agent's "
            "policy refuses root (run it as the image's own user (e.g. `user: \"1000:1000\"`), or "
            "start bdagent with --allow-root)");
  EXPECT_EQ(docker_.creates(), 0);
  EXPECT_FALSE(docker_.HasVolume("zk-data1")) << "no volume either";
  EXPECT_EQ(Run(As("root")).state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(docker_.creates(), 0);

  EXPECT_EQ(Run(As("0:0"), {.allow_root = true, .allowed_host_paths = {}}).state(),
            bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(docker_.creates(), 1);
}

TEST_F(ReconcilerPolicyTest, AnImageWhoseDefaultUserIsRootIsRefused) {
  auto desired = As("");
  desired.mutable_instances(0)->set_image("rooted");
  const auto status = Run(desired);
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(status.message(),
            "refused by host bd2's policy: service 'zk' runs as root (user \"root\", the image's "
            "default): the agent's policy refuses root (run it as the image's own user (e.g. "
            "`user: \"1000:1000\"`), or start bdagent with --allow-root)");
  EXPECT_EQ(docker_.creates(), 0);
  EXPECT_FALSE(docker_.HasVolume("zk-data1"));
  // The image's own non-root user is fine.
  EXPECT_EQ(Run(As("")).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
}

TEST_F(ReconcilerPolicyTest, ANameThatIsUidZeroInTheImageNeverStarts) {
  const auto status = Run(As("toor"));
  EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(status.message(),
            "refused by host bd2's policy: service 'zk' runs as root (user \"toor\" is uid 0 in "
            "the image): the agent's policy refuses root");
  EXPECT_EQ(docker_.starts(), 0);
  EXPECT_FALSE(docker_.FindByName("zk1")) << "the created container is removed";
  EXPECT_EQ(Run(As("zk")).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
}

TEST_F(ReconcilerPolicyTest, HostPathsOnlyUnderAllowedPrefixesAndTheSocketNever) {
  auto status = Run(Mounting("/etc"));
  EXPECT_EQ(status.message(),
            "refused by host bd2's policy: service 'zk' mounts the host path '/etc': the agent's "
            "policy allows host paths under none (use a named volume (`data{{index}}:/data`), or "
            "start bdagent with --allow-host-path PREFIX)");
  status = Run(Mounting("/var/run/docker.sock"), {.allow_root = true, .allowed_host_paths = {"/"}});
  EXPECT_EQ(status.message(),
            "refused by host bd2's policy: service 'zk' mounts '/var/run/docker.sock', which holds "
            "the Docker socket: never allowed (whoever reaches the Docker socket controls every "
            "container of the host)");
  EXPECT_EQ(docker_.creates(), 0);
  hosts_.AddDirectory("/srv/data/zk1");  // dockerd wants a bind mount's source to exist
  EXPECT_EQ(
      Run(Mounting("/srv/data/zk1"), {.allow_root = false, .allowed_host_paths = {"/srv/data"}})
          .state(),
      bdcoord::v1::INSTANCE_STATE_RUNNING);
}

TEST_F(ReconcilerPolicyTest, DockersHostNetworkIsRefusedNoneIsNot) {
  auto desired = Desired(1);
  desired.mutable_instances(0)->set_network("host");
  EXPECT_EQ(Run(desired).message(),
            "refused by host bd2's policy: service 'zk' is on Docker's network 'host', not on a "
            "network of its cluster (attach it to the cluster's macvlan or ipvlan network)");
  EXPECT_EQ(docker_.creates(), 0);
  desired.mutable_instances(0)->set_network("none");
  EXPECT_EQ(Run(desired).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
}

TEST_F(ReconcilerPolicyTest, ABreachingReplacementLeavesTheOldContainer) {
  ASSERT_EQ(Run(Desired(1)).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  const std::string id = docker_.FindByName("zk1")->info.id;
  EXPECT_EQ(Run(As("0")).state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(docker_.removes(), 0);
  EXPECT_EQ(docker_.FindByName("zk1")->info.id, id);
}

// A container left created but never started (an agent stopped between the two) is started only
// if the policy allows it now: its image's default user counts too.
TEST_F(ReconcilerPolicyTest, ACreatedContainerOfARootImageIsNotStarted) {
  auto desired = As("");
  desired.mutable_instances(0)->set_image("rooted");
  ContainerConfig created;
  created.name = "zk1";
  created.image = "rooted";
  created.labels = {{kClusterLabel, "demo"},
                    {kServiceLabel, "zk"},
                    {kInstanceLabel, "zk1"},
                    {kSpecHashLabel, SpecHash(desired.instances(0))}};
  ASSERT_TRUE(docker_.CreateContainer(created).ok());
  EXPECT_THAT(Run(desired).message(), HasSubstr("(user \"root\", the image's default)"));
  EXPECT_EQ(docker_.starts(), 0);
}

// The image's default user is known before the pass acts, so a replacement onto an image that
// runs as root is refused before the old container goes too.
TEST_F(ReconcilerPolicyTest, AReplacementOntoARootImageLeavesTheOldContainer) {
  ASSERT_EQ(Run(Desired(1)).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  const std::string id = docker_.FindByName("zk1")->info.id;
  auto desired = As("");
  desired.mutable_instances(0)->set_image("rooted");
  EXPECT_THAT(Run(desired).message(), HasSubstr("(user \"root\", the image's default)"));
  EXPECT_EQ(docker_.removes(), 0);
  EXPECT_EQ(docker_.FindByName("zk1")->info.id, id);
}

}  // namespace
}  // namespace bdcoord::agent
