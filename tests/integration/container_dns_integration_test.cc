// The spec's `dns:` block end to end on REAL dockerd (testbed host1): spec -> plan -> desired
// state (coordinator/render) -> Reconciler -> Docker's HostConfig -> the container's
// /etc/resolv.conf. Also how long a lookup that misses /etc/hosts takes with Docker's own DNS
// settings and with bdcoord's default: printed, never asserted (the testbed is shared).
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/docker/docker_client_impl.h"
#include "agent/reconcile/host_files.h"
#include "agent/reconcile/reconciler.h"
#include "coordinator/plan/planner.h"
#include "coordinator/render/desired_state.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace bdcoord::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kSocket[] = "/run/bdcoord-testbed/host1/docker.sock";
constexpr char kImage[] = "bdcoord/standin:latest";
constexpr char kCluster[] = "itdns";
constexpr char kNetwork[] = "bdcoord-it-dns";
constexpr char kBefore[] = "bdcoord-it-dns-before";  // made by hand, with no DNS settings

// One instance on testbed host1; DNS_BLOCK is replaced by each test's `dns:` block (or nothing).
constexpr char kSpec[] = R"(cluster: itdns
domain: itdns.lan
hosts: [{name: host1}]
networks:
  bdcoord-it-dns:
    driver: macvlan
    parent: eth0
    subnet: 10.251.0.0/24
    gateway: 10.251.0.1
    ip_range: 10.251.0.96/29
DNS_BLOCK
services:
  box: {image: bdcoord/standin:latest, command: [--listen, "7000"], user: "1000:1000"}
)";

// GET on the daemon with libcurl, for what the client has no call for (HostConfig.Dns).
nlohmann::json RawGet(const std::string& path) {
  CURL* curl = curl_easy_init();
  const std::string url = "http://docker" + path;
  std::string body;
  curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, kSocket);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t count, void* out) {
        static_cast<std::string*>(out)->append(data, size * count);
        return size * count;
      });
  const CURLcode code = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) return nlohmann::json();
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

class ContainerDnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kSocket))
        << kSocket << " is missing: run `deploy/testbed.sh up 2` (ctest does it)";
    DockerClientOptions options;
    options.socket_path = kSocket;
    auto client = NewDockerClient(options);
    ASSERT_TRUE(client.ok()) << client.status();
    docker_ = std::move(*client);
  }

  void TearDown() override {
    if (!docker_) return;
    if (auto before = docker_->InspectContainer(kBefore); before.ok()) {
      docker_->RemoveContainer(before->id, true).IgnoreError();
    }
    bdcoord::v1::DesiredState empty;
    empty.set_cluster(kCluster);
    Reconciler reconciler(
        docker_.get(), &hosts_, nullptr,
        ReconcilerOptions{.now = test_util::RealClock(), .state_dir = state_.path()});
    reconciler.Reconcile(empty);
    reconciler.PruneNetworks({});
  }

  // Plans the spec with this `dns:` block and runs host1's desired state; returns it.
  bdcoord::v1::DesiredState Apply(const std::string& dns_block) {
    const coordinator::LoadedSpec loaded =
        coordinator::LoadSpec(absl::StrReplaceAll(kSpec, {{"DNS_BLOCK", dns_block}}));
    const coordinator::Plan plan = coordinator::MakePlan(loaded, {});
    EXPECT_THAT(plan.diagnostics, IsEmpty())
        << coordinator::FormatDiagnostics("spec", plan.diagnostics);
    bdcoord::v1::DesiredState desired =
        coordinator::MakeDesiredState(loaded.spec, plan, "host1", {});
    desired.set_hosts_file(plan.hosts_file);
    const ReconcileResult result =
        Reconciler(docker_.get(), &hosts_, nullptr,
                   ReconcilerOptions{.now = test_util::RealClock(), .state_dir = state_.path()})
            .Reconcile(desired);
    EXPECT_THAT(result.errors, IsEmpty());
    for (const auto& status : result.statuses) {
      EXPECT_EQ(status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING) << status.message();
    }
    return desired;
  }

  std::string Exec(const std::string& container, std::vector<std::string> command,
                   int* exit_code = nullptr) {
    auto result = docker_->Exec(container, command, "");
    EXPECT_TRUE(result.ok()) << result.status();
    if (exit_code != nullptr) *exit_code = result.ok() ? result->exit_code : -1;
    return result.ok() ? result->output : "";
  }

  // Seconds `getent ARGS...` takes in the container; it must fail (the name is nowhere).
  double MissSeconds(const std::string& container, std::vector<std::string> getent) {
    getent.insert(getent.begin(), "getent");
    int exit_code = 0;
    const absl::Time start = absl::Now();
    Exec(container, getent, &exit_code);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    EXPECT_NE(exit_code, 0) << "the name was found";
    return seconds;
  }

  std::unique_ptr<DockerClient> docker_;
  LocalHostFiles hosts_;
  test_util::TempDir state_{"dns-it"};
};

TEST_F(ContainerDnsTest, ByDefaultNothingIsSearchedAndAMissFailsFast) {
  Apply("");
  const std::string resolv = Exec("box1", {"cat", "/etc/resolv.conf"});
  EXPECT_THAT(resolv, Not(HasSubstr("search")));
  EXPECT_THAT(resolv, HasSubstr("options ndots:1 timeout:1 attempts:1"));
  EXPECT_THAT(resolv, HasSubstr("nameserver 127.0.0.11\n"));  // Docker's embedded server

  // The same container as Docker makes it without DNS settings: what bdcoord did before.
  ContainerConfig before;
  before.name = kBefore;
  before.image = kImage;
  before.command = {"--listen", "7001"};
  before.network = kNetwork;
  before.ipv4 = "10.251.0.103";
  before.domainname = "itdns.lan";
  auto id = docker_->CreateContainer(before);
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(docker_->StartContainer(*id).ok());
  EXPECT_THAT(Exec(kBefore, {"cat", "/etc/resolv.conf"}), Not(HasSubstr("search")));

  const double hosts_before = MissSeconds(kBefore, {"hosts", "nosuchname"});
  const double hosts_after = MissSeconds("box1", {"hosts", "nosuchname"});
  const double ahosts_before = MissSeconds(kBefore, {"ahosts", "nosuchname"});
  const double ahosts_after = MissSeconds("box1", {"ahosts", "nosuchname"});
  const double fqdn_after = MissSeconds("box1", {"ahosts", "nosuchname.itdns.lan"});
  std::printf(
      "[ figures ] a lookup that misses /etc/hosts, Docker's DNS settings -> bdcoord's default:\n"
      "[ figures ]   getent hosts nosuchname    %5.2f s -> %5.2f s\n"
      "[ figures ]   getent ahosts nosuchname   %5.2f s -> %5.2f s\n"
      "[ figures ]   getent ahosts nosuchname.itdns.lan       %5.2f s\n",
      hosts_before, hosts_after, ahosts_before, ahosts_after, fqdn_after);
}

TEST_F(ContainerDnsTest, TheSpecsDnsIsWhatTheContainerGets) {
  const bdcoord::v1::DesiredState desired = Apply(R"(dns:
  nameservers: [10.251.0.1]
  search: [a.lan, b.lan]
  options: [ndots:2, timeout:2, rotate])");
  ASSERT_EQ(desired.instances_size(), 1);
  const std::string resolv = Exec("box1", {"cat", "/etc/resolv.conf"});
  EXPECT_THAT(resolv, HasSubstr("search a.lan b.lan\n"));
  EXPECT_THAT(resolv, HasSubstr("options ndots:2 timeout:2 rotate"));
  // The nameservers are the embedded server's upstreams: they are in the container's config,
  // not in its resolv.conf.
  const nlohmann::json inspect = RawGet("/containers/box1/json");
  ASSERT_TRUE(inspect.is_object());
  EXPECT_EQ(inspect["HostConfig"]["Dns"], nlohmann::json::array({"10.251.0.1"}));
}

TEST_F(ContainerDnsTest, TheClusterDomainIsSearchedWhenTheSpecSaysSo) {
  Apply("dns: {search: [itdns.lan]}");
  const std::string resolv = Exec("box1", {"cat", "/etc/resolv.conf"});
  EXPECT_THAT(resolv, HasSubstr("search itdns.lan\n"));
  EXPECT_THAT(resolv, HasSubstr("options ndots:1 timeout:1 attempts:1"));
  const double hosts = MissSeconds("box1", {"hosts", "nosuchname"});
  const double ahosts = MissSeconds("box1", {"ahosts", "nosuchname"});
  std::printf(
      "[ figures ] the default options with a search domain (`dns: {search: [itdns.lan]}`):\n"
      "[ figures ]   getent hosts nosuchname %5.2f s, getent ahosts nosuchname %5.2f s\n",
      hosts, ahosts);
}

}  // namespace
}  // namespace bdcoord::agent
