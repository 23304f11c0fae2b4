// The agent's reconciler against REAL dockerd instances on the 2-host testbed (deploy/testbed.sh):
// static IPs on one macvlan LAN across hosts, names and reverse lookups from /etc/hosts, live
// hosts updates, restarts that restart nothing, replacement, orphans, foreign containers,
// dockerd going away and coming back, network conflicts, and the host shim.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/docker/docker_client_impl.h"
#include "agent/probes/probes.h"
#include "agent/reconcile/host_files.h"
#include "agent/reconcile/reconciler.h"
#include "net/hosts_file.h"
#include "net/link_manager_netlink.h"
#include "tests/integration/wait_for.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace bdcoord::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kTestbed[] = "/run/bdcoord-testbed";
constexpr char kCluster[] = "itagent";
constexpr char kNetwork[] = "bdcoord-it-agent";
constexpr char kImage[] = "bdcoord/standin:latest";

std::string Socket(int host) { return absl::StrCat(kTestbed, "/host", host, "/docker.sock"); }

using test_util::WaitFor;

struct Member {
  std::string name;
  int host;  // 1 or 2
  int ip_suffix;
};

class AgentIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int host : {1, 2}) {
      ASSERT_TRUE(std::filesystem::exists(Socket(host)))
          << Socket(host) << " is missing: run `deploy/testbed.sh up 2` (ctest does it)";
      DockerClientOptions options;
      options.socket_path = Socket(host);
      auto client = NewDockerClient(options);
      ASSERT_TRUE(client.ok()) << client.status();
      docker_[host] = std::move(*client);
    }
  }

  void TearDown() override {
    // Leave the testbed as we found it: no containers of ours, no network of ours.
    for (int host : {1, 2}) {
      if (!docker_[host]) continue;
      Reconciler(docker_[host].get(), &hosts_, nullptr, Options(host)).Reconcile(Empty());
      if (auto foreign = docker_[host]->InspectContainer("bdcoord-it-foreign"); foreign.ok()) {
        docker_[host]->RemoveContainer(foreign->id, true).IgnoreError();
      }
      Reconciler(docker_[host].get(), &hosts_, nullptr, Options(host)).PruneNetworks({});
      docker_[host]->RemoveNetwork(kNetwork).IgnoreError();  // e.g. the unlabelled conflicting one
    }
  }

  bdcoord::v1::DesiredState Empty() const {
    bdcoord::v1::DesiredState desired;
    desired.set_cluster(kCluster);
    return desired;
  }

  // The desired state of `host` for a cluster of `members` spread over both hosts.
  bdcoord::v1::DesiredState Desired(const std::vector<Member>& members, int host) const {
    bdcoord::v1::DesiredState desired = Empty();
    auto* network = desired.add_networks();
    network->set_name(kNetwork);
    network->set_driver(bdcoord::v1::NETWORK_DRIVER_MACVLAN);
    network->set_parent("eth0");
    network->set_subnet("10.251.0.0/24");
    network->set_ip_range("10.251.0.64/27");
    std::vector<net::HostsEntry> entries;
    for (const Member& m : members) {
      const std::string ip = absl::StrCat("10.251.0.", m.ip_suffix);
      entries.push_back({*net::Ipv4::Parse(ip), absl::StrCat(m.name, ".it.lan"), m.name});
      if (m.host != host) continue;
      auto* instance = desired.add_instances();
      instance->set_cluster(kCluster);
      instance->set_service(m.name.substr(0, 1));
      instance->set_name(m.name);
      instance->set_domain("it.lan");
      instance->set_image(kImage);
      instance->add_command("--listen");
      instance->add_command("7000");
      instance->set_user("1000:1000");
      instance->set_network(kNetwork);
      instance->set_ip(ip);
      instance->mutable_restart()->set_mode(bdcoord::v1::RestartPolicy::MODE_ALWAYS);
      auto* file = instance->add_files();
      file->set_path("/conf/whoami");
      file->set_content(m.name + "\n");
    }
    desired.set_hosts_file(net::RenderHostsFile(std::move(entries)));
    return desired;
  }

  ReconcileResult Apply(const std::vector<Member>& members, int host) {
    return Reconciler(docker_[host].get(), &hosts_, nullptr, Options(host))
        .Reconcile(Desired(members, host));
  }

  ExecResult Exec(int host, const std::string& container, std::vector<std::string> command,
                  const std::string& user = "") {
    auto result = docker_[host]->Exec(container, command, user);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : ExecResult{-1, std::string(result.status().message())};
  }

  // The ID of the container named `name`, or "" when there is none. Docker also resolves an ID
  // prefix, and "a2" is one: another container's ID may begin with it, so the name is compared.
  std::string Id(int host, const std::string& name) {
    auto info = docker_[host]->InspectContainer(name);
    return info.ok() && info->name == name ? info->id : "";
  }

  // Each host's agent has its own state directory, as each bdagent must.
  ReconcilerOptions Options(int host) {
    return {.now = test_util::RealClock(), .state_dir = absl::StrCat(state_.path(), "/host", host)};
  }

  std::unique_ptr<DockerClient> docker_[3];
  LocalHostFiles hosts_;
  test_util::TempDir state_{"agent-it"};
};

const std::vector<Member> kFour = {{"a1", 1, 70}, {"a2", 1, 71}, {"b1", 2, 72}, {"b2", 2, 73}};

void ExpectAllRunning(const ReconcileResult& result) {
  EXPECT_THAT(result.errors, IsEmpty());
  for (const auto& status : result.statuses) {
    EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING)
        << status.name() << ": " << status.message();
  }
}

TEST_F(AgentIntegrationTest, ContainersOnTwoHostsReachEachOtherByNameAndReverseLookup) {
  ExpectAllRunning(Apply(kFour, 1));
  ExpectAllRunning(Apply(kFour, 2));
  // Forward: a1 on host1 pings b1 on host2 by its short name and by its FQDN.
  // ping needs a raw socket: run it as root (the service itself runs as 1000).
  EXPECT_EQ(Exec(1, "a1", {"ping", "-c1", "-W2", "b1"}, "0").exit_code, 0);
  EXPECT_EQ(Exec(2, "b2", {"ping", "-c1", "-W2", "a2.it.lan"}, "0").exit_code, 0);
  // Reverse: the IP resolves to the FQDN first.
  const ExecResult reverse = Exec(1, "a1", {"getent", "hosts", "10.251.0.72"});
  EXPECT_EQ(reverse.exit_code, 0);
  EXPECT_THAT(reverse.output, HasSubstr("10.251.0.72"));
  EXPECT_THAT(reverse.output, HasSubstr("b1.it.lan b1"));
  // The rendered file was put in before start, owned by the instance's user.
  EXPECT_EQ(Exec(2, "b1", {"cat", "/conf/whoami"}).output, "b1\n");
  EXPECT_EQ(Exec(1, "a1", {"id", "-u"}).output, "1000\n");
}

TEST_F(AgentIntegrationTest, NewMembersResolveInOldContainersWithoutARestart) {
  ExpectAllRunning(Apply(kFour, 1));
  ExpectAllRunning(Apply(kFour, 2));
  const std::string a1 = Id(1, "a1");
  std::vector<Member> five = kFour;
  five.push_back({"b3", 2, 74});
  const ReconcileResult host2 = Apply(five, 2);
  EXPECT_EQ(host2.created, 1);
  const ReconcileResult host1 = Apply(five, 1);
  EXPECT_EQ(host1.created + host1.replaced, 0);
  EXPECT_EQ(host1.hosts_files_updated, 2);
  EXPECT_TRUE(WaitFor(
      [&] {
        return Exec(1, "a1", {"getent", "hosts", "10.251.0.74"}).output.find("b3.it.lan") !=
               std::string::npos;
      },
      absl::Seconds(10)));
  EXPECT_EQ(Exec(1, "a1", {"ping", "-c1", "-W2", "b3"}, "0").exit_code, 0);
  EXPECT_EQ(Id(1, "a1"), a1) << "a1 must not be replaced for a membership change";
}

TEST_F(AgentIntegrationTest, ARestartedAgentRestartsNoneOfTwentyContainers) {
  std::vector<Member> twenty;
  for (int i = 1; i <= 20; ++i) twenty.push_back({absl::StrCat("c", i), 1, 70 + i});
  ExpectAllRunning(Apply(twenty, 1));
  std::map<std::string, std::string> started;
  for (const Member& m : twenty) started[m.name] = docker_[1]->InspectContainer(m.name)->started_at;
  const ReconcileResult again = Apply(twenty, 1);  // a fresh Reconciler: a new agent process
  EXPECT_EQ(again.created + again.replaced + again.removed + again.hosts_files_updated, 0);
  for (const Member& m : twenty) {
    EXPECT_EQ(docker_[1]->InspectContainer(m.name)->started_at, started[m.name]) << m.name;
  }
}

TEST_F(AgentIntegrationTest, AChangedSpecReplacesOnlyThatContainer) {
  ExpectAllRunning(Apply(kFour, 1));
  const std::string a1 = Id(1, "a1"), a2 = Id(1, "a2");
  auto desired = Desired(kFour, 1);
  desired.mutable_instances(1)->add_command("--log-interval");
  desired.mutable_instances(1)->add_command("1s");
  const ReconcileResult result =
      Reconciler(docker_[1].get(), &hosts_, nullptr, Options(1)).Reconcile(desired);
  ExpectAllRunning(result);
  EXPECT_EQ(result.replaced, 1);
  EXPECT_EQ(Id(1, "a1"), a1);
  EXPECT_NE(Id(1, "a2"), a2);
}

TEST_F(AgentIntegrationTest, OrphansGoForeignContainersStay) {
  ContainerConfig foreign;
  foreign.name = "bdcoord-it-foreign";
  foreign.image = kImage;
  auto id = docker_[1]->CreateContainer(foreign);
  ASSERT_TRUE(id.ok()) << id.status();
  ExpectAllRunning(Apply(kFour, 1));
  const ReconcileResult result = Apply({{"a1", 1, 70}}, 1);
  EXPECT_EQ(result.removed, 1);
  EXPECT_EQ(Id(1, "a2"), "");
  EXPECT_NE(Id(1, "a1"), "");
  EXPECT_NE(Id(1, "bdcoord-it-foreign"), "");
}

TEST_F(AgentIntegrationTest, DockerdGoneIsReportedAndRecoveredFrom) {
  ExpectAllRunning(Apply(kFour, 2));
  const std::string pidfile = absl::StrCat(kTestbed, "/host2/docker.pid");
  pid_t pid = 0;
  std::ifstream(pidfile) >> pid;
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  ASSERT_TRUE(WaitFor([&] { return kill(pid, 0) != 0; }, absl::Seconds(30)));

  const ReconcileResult down = Apply(kFour, 2);
  ASSERT_FALSE(down.errors.empty());
  EXPECT_THAT(down.errors[0], HasSubstr("cannot list containers"));
  EXPECT_THAT(down.errors[0], HasSubstr(Socket(2)));
  for (const auto& status : down.statuses) {
    EXPECT_THAT(status.message(), HasSubstr("Docker is unavailable"));
  }

  // The testbed brings the dead dockerd back; restart=always brings the containers back.
  ASSERT_EQ(std::system(BDCOORD_SOURCE_DIR "/deploy/testbed.sh up 2 >/dev/null"), 0);
  ASSERT_TRUE(WaitFor([&] { return docker_[2]->Version().ok(); }, absl::Seconds(30)));
  ASSERT_TRUE(WaitFor(
      [&] {
        const ReconcileResult back = Apply(kFour, 2);
        if (!back.errors.empty()) return false;
        for (const auto& s : back.statuses) {
          if (s.state() != bdcoord::v1::INSTANCE_STATE_RUNNING) return false;
        }
        return true;
      },
      absl::Seconds(30)));
}

TEST_F(AgentIntegrationTest, ANetworkWithOtherSettingsIsReportedNotReused) {
  NetworkConfig other;
  other.name = kNetwork;
  other.driver = "macvlan";
  other.parent = "eth0";
  other.subnet = "10.251.0.0/24";
  other.ip_range = "10.251.0.96/27";
  ASSERT_TRUE(docker_[1]->EnsureNetwork(other).ok());
  const ReconcileResult result = Apply(kFour, 1);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_THAT(result.errors[0], HasSubstr("network 'bdcoord-it-agent'"));
  EXPECT_THAT(result.errors[0], HasSubstr("10.251.0.96/27"));
  for (const auto& status : result.statuses) {
    EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  }
  auto list = docker_[1]->ListContainers({{kClusterLabel, kCluster}});
  ASSERT_TRUE(list.ok());
  EXPECT_THAT(*list, IsEmpty());
}

// Runs `body` on a thread inside the network namespace of testbed host `host`, where the agent
// of that host runs.
void InHostNetns(int host, const std::function<void()>& body) {
  std::thread thread([&] {
    const int fd = open(absl::StrCat("/var/run/netns/bdcoord-host", host).c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(setns(fd, CLONE_NEWNET), 0);
    close(fd);
    body();
  });
  thread.join();
}

TEST_F(AgentIntegrationTest, TheHostShimLetsTheHostReachItsOwnContainers) {
  InHostNetns(1, [&] {
    auto desired = Desired(kFour, 1);
    bdcoord::v1::Probe tcp;
    tcp.mutable_tcp()->set_port(7000);
    // Without the shim the host cannot reach its own macvlan containers.
    Reconciler plain(docker_[1].get(), &hosts_, nullptr, Options(1));
    ExpectAllRunning(plain.Reconcile(desired));
    EXPECT_FALSE(
        DockerProber(docker_[1].get()).Check(tcp, {"10.251.0.70", ""}, absl::Seconds(1)).ok());
    // Readiness probes do not need it: given the container, they connect from inside its own
    // network namespace.
    const std::string a1 = Id(1, "a1");
    EXPECT_TRUE(WaitFor(
        [&] {
          return DockerProber(docker_[1].get())
              .Check(tcp, {"10.251.0.70", a1}, absl::Seconds(1))
              .ok();
        },
        absl::Seconds(10)));
    bdcoord::v1::Probe closed;
    closed.mutable_tcp()->set_port(7001);
    const absl::Status refused =
        DockerProber(docker_[1].get()).Check(closed, {"10.251.0.70", a1}, absl::Seconds(1));
    EXPECT_EQ(refused.message(), "tcp 10.251.0.70:7001: Connection refused");

    auto links = net::NewNetlinkLinkManager();
    desired.mutable_networks(0)->set_host_shim(true);
    (*desired.mutable_shim_addresses())[kNetwork] = "10.251.0.250/32";
    Reconciler shimmed(docker_[1].get(), &hosts_, links.get(), Options(1));
    ExpectAllRunning(shimmed.Reconcile(desired));
    EXPECT_TRUE(WaitFor(
        [&] {
          return DockerProber(docker_[1].get())
              .Check(tcp, {"10.251.0.70", ""}, absl::Seconds(1))
              .ok();
        },
        absl::Seconds(10)));
    // Down: the containers go, then the network and its shim.
    const ReconcileResult down = shimmed.Reconcile(Empty());
    EXPECT_EQ(down.removed, 2);
    EXPECT_THAT(shimmed.PruneNetworks({}), IsEmpty());
    EXPECT_FALSE(*links->ShimExists("bdc-bdcoord-it-"));
    EXPECT_THAT(*docker_[1]->ListNetworks({{kNetworkLabel, ""}}), IsEmpty());
  });
}

}  // namespace
}  // namespace bdcoord::agent

namespace bdcoord::agent {
namespace {

using test_util::WaitFor;
using ::testing::HasSubstr;

// The agent's lifecycle on a real dockerd (testbed host1): restarts, user names, volume owners.
// Docker's `none` network: no macvlan, so these run beside a cluster that holds the LAN's parent
// interface (dockerd allows one macvlan network per parent).
class AgentLifecycleIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(Socket(1))) << Socket(1) << " is missing";
    DockerClientOptions options;
    options.socket_path = Socket(1);
    auto client = NewDockerClient(options);
    ASSERT_TRUE(client.ok()) << client.status();
    docker_ = *std::move(client);
    // Root allowed: these tests are about the lifecycle (RefusedByTheHostsPolicy is not).
    reconciler_ = std::make_unique<Reconciler>(
        docker_.get(), &hosts_, nullptr,
        ReconcilerOptions{.now = test_util::RealClock(),
                          .policy = {.allow_root = true, .allowed_host_paths = {}},
                          .state_dir = state_.path()});
  }

  void TearDown() override {
    if (!reconciler_) return;
    Reconcile(Desired({}));  // removes this cluster's containers
    for (const std::string& volume : volumes_) docker_->RemoveVolume(volume).IgnoreError();
  }

  bdcoord::v1::DesiredInstance Instance(const std::string& name, const std::string& user) const {
    bdcoord::v1::DesiredInstance instance;
    instance.set_cluster(kLifecycleCluster);
    instance.set_service("life");
    instance.set_name(name);
    instance.set_image(kImage);
    instance.add_command("--listen");
    instance.add_command("7000");
    instance.set_user(user);
    instance.set_network("none");
    auto* file = instance.add_files();
    file->set_path("/conf/whoami");
    file->set_content(name + "\n");
    return instance;
  }

  // A volume name of this run (removed by TearDown).
  std::string Volume(const std::string& what) {
    volumes_.push_back(absl::StrCat("bdcoord-it-", getpid(), "-", what));
    return volumes_.back();
  }

  static bdcoord::v1::DesiredState Desired(std::vector<bdcoord::v1::DesiredInstance> instances) {
    bdcoord::v1::DesiredState desired;
    desired.set_cluster(kLifecycleCluster);
    for (auto& instance : instances) *desired.add_instances() = std::move(instance);
    return desired;
  }

  ReconcileResult Reconcile(const bdcoord::v1::DesiredState& desired) {
    return reconciler_->Reconcile(desired);
  }

  std::string Exec(const std::string& container, std::vector<std::string> command) {
    auto result = docker_->Exec(container, command, "");
    if (!result.ok()) return std::string(result.status().message());
    return result->exit_code == 0 ? result->output
                                  : absl::StrCat("exit ", result->exit_code, ": ", result->output);
  }

  static constexpr char kLifecycleCluster[] = "itlife";
  std::unique_ptr<DockerClient> docker_;
  LocalHostFiles hosts_;
  test_util::TempDir state_{"agent-it"};
  std::unique_ptr<Reconciler> reconciler_;
  std::vector<std::string> volumes_;
};

TEST_F(AgentLifecycleIntegrationTest, AKilledContainerIsRunningAgainWithinSeconds) {
  auto instance = Instance("life1", "1000:1000");
  instance.mutable_restart()->set_mode(bdcoord::v1::RestartPolicy::MODE_ALWAYS);
  const auto desired = Desired({instance});
  ExpectAllRunning(Reconcile(desired));
  const std::string started = docker_->InspectContainer("life1")->started_at;
  // `docker kill`: a manual stop, to which Docker applies no restart policy (here `always`).
  const absl::Time killed = absl::Now();
  ASSERT_EQ(
      std::system(absl::StrCat("docker -H unix://", Socket(1), " kill life1 >/dev/null").c_str()),
      0);
  // Each check is a pass, as the agent runs when Docker's `die` event wakes it.
  EXPECT_TRUE(WaitFor(
      [&] {
        const ReconcileResult pass = Reconcile(desired);
        auto info = docker_->InspectContainer("life1");
        return pass.statuses[0].state() == bdcoord::v1::INSTANCE_STATE_RUNNING && info.ok() &&
               info->running && info->started_at != started;
      },
      absl::Seconds(10)));
  std::cout << "life1 running again " << absl::FormatDuration(absl::Now() - killed)
            << " after docker kill\n";
  EXPECT_EQ(docker_->InspectContainer("life1")->restart_count, 0)
      << "a start through the API resets Docker's count: the agent keeps its own";
}

// bdgate (issue 11): a held instance's container is started at its create but runs only the
// gate; released by a write, the gate becomes the instance's program (the same PID 1, its user);
// a held one stops on SIGTERM, not after the stop timeout's SIGKILL.
TEST_F(AgentLifecycleIntegrationTest, AHeldInstanceRunsItsProgramOnlyOnceReleased) {
  reconciler_ = std::make_unique<Reconciler>(docker_.get(), &hosts_, nullptr,
                                             ReconcilerOptions{.now = test_util::RealClock(),
                                                               .state_dir = state_.path(),
                                                               .gate_binary = BDCOORD_GATE_PATH});
  auto instance = Instance("gated1", "1000:1000");
  instance.set_hold(true);
  auto other = Instance("gated2", "1000:1000");
  other.set_hold(true);
  ReconcileResult held = Reconcile(Desired({instance, other}));
  ASSERT_EQ(held.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_CREATED)
      << held.statuses[0].message();
  ASSERT_TRUE(docker_->InspectContainer("gated1")->running);
  auto pid1 = [&](const std::string& container) {
    std::string cmdline = Exec(container, {"cat", "/proc/1/cmdline"});
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    return cmdline;
  };
  EXPECT_EQ(pid1("gated1"),
            "/.bdcoord/bdgate /.bdcoord/release /usr/local/bin/standin --listen 7000 ");
  EXPECT_EQ(Exec("gated1", {"cat", "/conf/whoami"}), "gated1\n") << "its files are there already";

  instance.set_hold(false);
  const absl::Time released = absl::Now();
  ReconcileResult run = Reconcile(Desired({instance, other}));
  EXPECT_EQ(run.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_RUNNING)
      << run.statuses[0].message();
  // Reported running once bdgate has become the program: a dependent on `started` may go.
  EXPECT_EQ(pid1("gated1"), "/usr/local/bin/standin --listen 7000 ");
  std::cout << "gated1's release took " << absl::FormatDuration(absl::Now() - released)
            << " (a pass: the write, and the wait for bdgate's exec)\n";
  EXPECT_EQ(Exec("gated1", {"id", "-u"}), "1000\n");
  EXPECT_EQ(pid1("gated2").rfind("/.bdcoord/bdgate ", 0), 0u) << "still held: " << pid1("gated2");

  ASSERT_TRUE(
      docker_->StopContainer(docker_->InspectContainer("gated2")->id, std::chrono::seconds(30))
          .ok());
  EXPECT_EQ(docker_->InspectContainer("gated2")->exit_code, 128 + SIGTERM);
}

TEST_F(AgentLifecycleIntegrationTest, AUserNameIsResolvedFromTheImage) {
  // bdcoord/standin: standin is 1000:1000, nogroup 65534 (deploy/images/standin/README.md).
  ExpectAllRunning(
      Reconcile(Desired({Instance("life1", "standin"), Instance("life2", "standin:nogroup")})));
  EXPECT_EQ(Exec("life1", {"id", "-un"}), "standin\n");
  EXPECT_EQ(Exec("life1", {"stat", "-c", "%u:%g", "/conf/whoami"}), "1000:1000\n");
  EXPECT_EQ(Exec("life2", {"stat", "-c", "%u:%g", "/conf/whoami"}), "1000:65534\n");
  const ReconcileResult typo = Reconcile(Desired({Instance("life1", "zookeper")}));
  ASSERT_EQ(typo.statuses.size(), 1u);
  EXPECT_EQ(typo.statuses[0].state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(typo.statuses[0].message(), "user 'zookeper' is not in the image's /etc/passwd");
  auto left = docker_->ListContainers({{kClusterLabel, kLifecycleCluster}});
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_TRUE(left->empty()) << "the failed container is removed";
}

TEST_F(AgentLifecycleIntegrationTest, ANewVolumeBelongsToTheUserAndAnOldOneKeepsItsOwner) {
  const std::string fresh = Volume("fresh");
  const std::string old = Volume("old");
  ASSERT_TRUE(docker_->CreateVolume(old, {})->created);  // the operator's, root-owned
  auto writer = Instance("life1", "standin");
  for (const auto& [source, target] : {std::pair{fresh, "/data/zk"}, std::pair{old, "/data/old"}}) {
    auto* volume = writer.add_volumes();
    volume->set_source(source);
    volume->set_target(target);  // the image has no /data
  }
  ExpectAllRunning(Reconcile(Desired({writer})));
  EXPECT_EQ(Exec("life1", {"sh", "-c", "echo ok >/data/zk/f && cat /data/zk/f"}), "ok\n");
  EXPECT_EQ(Exec("life1", {"stat", "-c", "%u:%g %a", "/data/zk"}), "1000:1000 755\n");
  EXPECT_EQ(Exec("life1", {"stat", "-c", "%u:%g", "/data/old"}), "0:0\n");
  EXPECT_THAT(Exec("life1", {"sh", "-c", "echo no >/data/old/f"}), HasSubstr("exit 1"));
  // The owner is the volume's root itself: another container sees it so.
  auto reader = Instance("life2", "0:0");
  auto* volume = reader.add_volumes();
  volume->set_source(fresh);
  volume->set_target("/v");
  ExpectAllRunning(Reconcile(Desired({writer, reader})));
  EXPECT_EQ(Exec("life2", {"stat", "-c", "%u:%g", "/v", "/v/f"}), "1000:1000\n1000:1000\n");
}

// Defense in depth: a desired state sent straight to an agent (no coordinator to check it) that
// runs as root, by its user or by its image's default, makes nothing on a default host.
TEST_F(AgentLifecycleIntegrationTest, RefusedByTheHostsPolicy) {
  Reconciler strict(
      docker_.get(), &hosts_, nullptr,
      ReconcilerOptions{
          .now = test_util::RealClock(), .host_name = "host1", .state_dir = state_.path()});
  const std::string data = Volume("policy");
  auto root = Instance("life1", "0:0");
  auto* volume = root.add_volumes();
  volume->set_source(data);
  volume->set_target("/data");
  auto image_default = Instance("life2", "");  // bdcoord/standin has no USER: root
  auto socket = Instance("life3", "1000:1000");
  auto* mount = socket.add_volumes();
  mount->set_source("/var/run/docker.sock");
  mount->set_target("/var/run/docker.sock");
  const ReconcileResult result = strict.Reconcile(Desired({root, image_default, socket}));
  ASSERT_EQ(result.statuses.size(), 3u);
  for (const auto& status : result.statuses) {
    EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_FAILED) << status.name();
    EXPECT_THAT(status.message(), ::testing::StartsWith("refused by host host1's policy: "));
  }
  EXPECT_THAT(result.statuses[0].message(), HasSubstr("runs as root (user \"0:0\")"));
  EXPECT_THAT(result.statuses[1].message(),
              HasSubstr("runs as root (user \"root\", the image's default)"));
  EXPECT_THAT(result.statuses[2].message(), HasSubstr("which holds the Docker socket"));
  auto made = docker_->ListContainers({{kClusterLabel, kLifecycleCluster}});
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_TRUE(made->empty()) << "no container was created";
  auto volumes = docker_->ListVolumes();
  ASSERT_TRUE(volumes.ok()) << volumes.status();
  EXPECT_THAT(*volumes, ::testing::Not(::testing::Contains(data))) << "nor a volume";
}

}  // namespace
}  // namespace bdcoord::agent
