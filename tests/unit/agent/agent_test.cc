// The agent's runtime against an in-memory Docker and coordinator link: passes over every
// cluster, reports, forgetting what was taken down, waking, stopping. Clock injected, no sleeps.
#include "agent/agent.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "net/hosts_map.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_docker_client.h"
#include "tests/testing/fake_host_files.h"
#include "tests/testing/fake_prober.h"
#include "tests/testing/fake_uplink.h"

namespace bdcoord::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

bdcoord::v1::DesiredState Desired(const std::string& cluster, int generation, int count) {
  bdcoord::v1::DesiredState desired;
  desired.set_cluster(cluster);
  desired.set_generation(generation);
  if (count > 0) {
    auto* network = desired.add_networks();
    network->set_name("lan");
    network->set_parent("eth0");
    network->set_subnet("10.1.0.0/24");
  }
  for (int i = 1; i <= count; ++i) {
    auto* instance = desired.add_instances();
    instance->set_cluster(cluster);
    instance->set_service("zk");
    instance->set_name(absl::StrCat(cluster, "-zk", i));
    instance->set_image("standin");
    instance->set_network("lan");
    instance->set_ip(absl::StrCat("10.1.0.", 10 + i));
  }
  return desired;
}

// The agent's options in these tests: a pass every 10 s on the fake clock.
AgentOptions TestOptions(test_util::FakeClock& clock) {
  return AgentOptions{.interval = absl::Seconds(10),
                      .docker_socket = "/fake/docker.sock",
                      .probe_drain_timeout = absl::Seconds(30),
                      .now = clock.AsFunction()};
}

class AgentTest : public ::testing::Test {
 protected:
  AgentTest()
      : reconciler_(&docker_, &hosts_, nullptr,
                    ReconcilerOptions{.now = clock_.AsFunction(), .prober = &prober_}),
        agent_(&docker_, &reconciler_, &prober_, TestOptions(clock_)) {
    docker_.AddImage("standin");
    agent_.SetUplink(&uplink_);
  }

  test_util::FakeClock clock_;
  testing::FakeDockerClient docker_;
  testing::FakeHostFiles hosts_;
  testing::FakeUplink uplink_;
  testing::FakeProber prober_;
  Reconciler reconciler_;
  Agent agent_;
};

// The content of every hosts file the agent wrote into a container.
std::set<std::string> HostsFiles(testing::FakeHostFiles& files) {
  std::set<std::string> contents;
  for (const auto& [path, file] : files.Under("")) {
    if (absl::StartsWith(file.content, "127.0.0.1\tlocalhost")) contents.insert(file.content);
  }
  return contents;
}

net::HostsEntry Entry(const char* ip, const std::string& name) {
  return {*net::Ipv4::Parse(ip), name + ".lab", name};
}

TEST_F(AgentTest, TheHostsMapComesWholeThenAsDeltasAndAMissedBaseIsReported) {
  const net::HostsMap v1(10, {Entry("10.1.0.11", "a-zk1")});
  bdcoord::v1::DesiredState whole = Desired("a", 1, 1);
  *whole.mutable_hosts_map() = net::ToProto(v1);
  agent_.SetDesired(whole);
  agent_.RunPass();
  EXPECT_EQ(uplink_.statuses().back().hosts_version(), 10u);
  EXPECT_THAT(HostsFiles(hosts_), ElementsAre(v1.Render()));

  // Only the hosts changed: the delta alone, the instances kept.
  const net::HostsMap v2(11, {Entry("10.1.0.11", "a-zk1"), Entry("10.1.0.12", "b1")});
  bdcoord::v1::DesiredState delta;
  delta.set_cluster("a");
  delta.set_generation(2);
  delta.set_hosts_only(true);
  *delta.mutable_hosts_delta() = net::ToProto(net::Diff(v1, v2));
  agent_.SetDesired(delta);
  agent_.RunPass();
  EXPECT_EQ(uplink_.statuses().back().generation(), 2u);
  EXPECT_EQ(uplink_.statuses().back().hosts_version(), 11u);
  ASSERT_EQ(uplink_.statuses().back().instances_size(), 1);
  EXPECT_EQ(uplink_.statuses().back().instances(0).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_THAT(HostsFiles(hosts_), ElementsAre(v2.Render()));

  // A delta from a version it does not have (12): refused, the file left as it is, and the
  // report on this generation says version 11, which the coordinator answers with the whole map.
  const net::HostsMap v3(12, {Entry("10.1.0.11", "a-zk1")});
  const net::HostsMap v4(13, {Entry("10.1.0.11", "a-zk1"), Entry("10.1.0.14", "d1")});
  *delta.mutable_hosts_delta() = net::ToProto(net::Diff(v3, v4));
  delta.set_generation(3);
  agent_.SetDesired(delta);
  agent_.RunPass();
  EXPECT_EQ(uplink_.statuses().back().generation(), 3u);
  EXPECT_EQ(uplink_.statuses().back().hosts_version(), 11u);
  EXPECT_THAT(HostsFiles(hosts_), ElementsAre(v2.Render()));

  delta.clear_hosts_delta();
  *delta.mutable_hosts_map() = net::ToProto(v4);
  delta.set_generation(4);
  agent_.SetDesired(delta);
  agent_.RunPass();
  EXPECT_EQ(uplink_.statuses().back().hosts_version(), 13u);
  EXPECT_THAT(HostsFiles(hosts_), ElementsAre(v4.Render()));
}

TEST_F(AgentTest, APassReconcilesAndReportsEveryCluster) {
  agent_.SetDesired(Desired("a", 3, 2));
  agent_.SetDesired(Desired("b", 5, 1));
  const PassSummary pass = agent_.RunPass();
  ASSERT_EQ(pass.clusters.size(), 2u);
  EXPECT_EQ(pass.clusters[0].result.created, 2);
  EXPECT_EQ(pass.clusters[1].result.created, 1);
  EXPECT_FALSE(pass.docker_unavailable);
  EXPECT_EQ(docker_.containers().size(), 3u);
  // Each cluster's last report (the pass's own, after those sent as instances were done).
  std::map<std::string, bdcoord::v1::StatusReport> last;
  for (const auto& report : uplink_.statuses()) last[report.cluster()] = report;
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last["a"].generation(), 3u);
  ASSERT_EQ(last["a"].instances_size(), 2);
  EXPECT_EQ(last["a"].instances(1).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(last["b"].instances(0).name(), "b-zk1");
  EXPECT_EQ(uplink_.statuses().back().cluster(), "b");
  EXPECT_THAT(agent_.clusters(), ElementsAre("a", "b"));
}

// A dependent need not wait for the end of a long pass: each instance is reported as soon as it
// is done, in a whole report (the ones not reached yet as the last report had them).
TEST_F(AgentTest, EachInstanceIsReportedAsSoonAsItIsDone) {
  Reconciler one_at_a_time(
      &docker_, &hosts_, nullptr,
      ReconcilerOptions{.parallelism = 1, .now = clock_.AsFunction(), .prober = &prober_});
  Agent agent(&docker_, &one_at_a_time, &prober_, TestOptions(clock_));
  agent.SetUplink(&uplink_);
  // a-zk2 is created only once a-zk1's report has arrived (or after 10 s: the test fails).
  docker_.set_before_create([&](const ContainerConfig& config) {
    if (config.name != "a-zk2") return;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (uplink_.statuses().empty() && absl::Now() < deadline)
      absl::SleepFor(absl::Milliseconds(1));
  });
  agent.SetDesired(Desired("a", 1, 2));
  agent.RunPass();
  docker_.set_before_create(nullptr);
  auto reports = uplink_.statuses();
  ASSERT_GE(reports.size(), 2u) << "a-zk1's, then the pass's (newer ones replace older unsent)";
  EXPECT_EQ(reports[0].instances(0).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(reports[0].instances(1).state(), bdcoord::v1::INSTANCE_STATE_PENDING);
  EXPECT_EQ(reports[0].instances(1).message(), "waiting for this host's agent");
  EXPECT_EQ(reports.back().instances(1).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);

  const size_t before = uplink_.statuses().size();
  agent.RunPass();  // nothing changed: only the pass's report
  EXPECT_EQ(uplink_.statuses().size(), before + 1);

  // A newer desired state ends the pass after the instance in hand; the next one is due at once,
  // and what was not reached is reported as before.
  docker_.set_before_create([&](const ContainerConfig& config) {
    if (config.name == "a-zk3") agent.SetDesired(Desired("a", 3, 4));  // while a-zk3 is made
  });
  agent.SetDesired(Desired("a", 2, 4));
  ASSERT_TRUE(agent.WaitForNextPass());
  const PassSummary interrupted = agent.RunPass();
  docker_.set_before_create(nullptr);
  ASSERT_EQ(interrupted.clusters.size(), 1u);
  EXPECT_TRUE(interrupted.clusters[0].result.interrupted());
  EXPECT_EQ(interrupted.clusters[0].result.created, 1) << "a-zk3 only";
  EXPECT_EQ(uplink_.statuses().back().instances(3).state(), bdcoord::v1::INSTANCE_STATE_PENDING);
  ASSERT_TRUE(agent.WaitForNextPass());
  EXPECT_FALSE(agent.OnlyProbesDue()) << "the newer desired state woke the loop: a pass now";
  agent.RunPass();
  EXPECT_EQ(uplink_.statuses().back().generation(), 3u);
  EXPECT_EQ(uplink_.statuses().back().instances(3).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
}

// The coordinator counts only reports on the desired state it sent last. What a host reported
// just before a new one came (a readiness that releases dependents) goes up again on the new
// state before the pass's work, not with the pass's first news (the demo's taskmanagers waited
// 1.1 s for the Drill starts in hand on the jobmanager's host).
TEST_F(AgentTest, ANewDesiredStateIsAnsweredBeforeThePassWorks) {
  std::vector<std::pair<uint64_t, int>> reports;  // generation, containers started by then
  uplink_.set_on_status([&](const bdcoord::v1::StatusReport& report) {
    reports.emplace_back(report.generation(), docker_.calls()["StartContainer"]);
  });
  bdcoord::v1::DesiredState desired = Desired("a", 1, 2);
  desired.mutable_instances(1)->set_hold(true);
  agent_.SetDesired(desired);
  agent_.RunPass();
  ASSERT_EQ(docker_.calls()["StartContainer"], 1) << "a-zk2 is only created";

  desired.set_generation(2);
  desired.mutable_instances(1)->set_hold(false);  // released
  agent_.SetDesired(desired);
  reports.clear();
  agent_.RunPass();
  ASSERT_GE(reports.size(), 2u);
  EXPECT_EQ(reports.front(), std::make_pair(uint64_t{2}, 1)) << "before a-zk2's start";
  const bdcoord::v1::StatusReport last = uplink_.statuses().back();
  EXPECT_EQ(last.instances(1).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);

  reports.clear();
  agent_.RunPass();  // the same state: the coordinator has it, only the pass's report
  EXPECT_EQ(reports.size(), 1u);
}

// With bdgate, a held instance's container runs behind its gate, and the desired state that lifts
// its hold writes its release file as it arrives: the dependent's program does not wait for the
// pass in hand on its host (on the busy testbed, up to 800 ms of gated creates).
class AgentGateTest : public ::testing::Test {
 protected:
  static constexpr char kGate[] = "/usr/libexec/bdcoord/bdgate";
  static constexpr char kReleaseFile[] = "/var/lib/bdagent/clusters/a/instances/a-zk2/release";

  AgentGateTest()
      : reconciler_(&docker_, &hosts_, nullptr,
                    ReconcilerOptions{
                        .now = clock_.AsFunction(), .prober = &prober_, .gate_binary = kGate}),
        agent_(&docker_, &reconciler_, &prober_, TestOptions(clock_)) {
    docker_.AddImage("standin");
    (void)hosts_.Create(kGate, "bdgate", 0755, FileOwner());  // a bind mount's source exists
    agent_.SetUplink(&uplink_);
  }

  // a-zk2 held behind its gate by a pass (of `desired`, or else the default); the same state
  // with a-zk2 released is returned.
  bdcoord::v1::DesiredState HeldByAPass(bdcoord::v1::DesiredState desired = Desired("a", 1, 2)) {
    desired.mutable_instances(1)->set_hold(true);
    agent_.SetDesired(desired);
    agent_.RunPass();
    EXPECT_EQ(uplink_.statuses().back().instances(1).state(), bdcoord::v1::INSTANCE_STATE_CREATED);
    EXPECT_EQ(ReleaseFile(), "") << "held";
    desired.set_generation(2);
    desired.mutable_instances(1)->set_hold(false);
    return desired;
  }
  std::string ReleaseFile() {
    auto file = hosts_.Get(kReleaseFile);
    return file ? file->content : "(none)";
  }

  test_util::FakeClock clock_;
  testing::FakeHostFiles hosts_;
  testing::FakeDockerClient docker_{&hosts_};
  testing::FakeUplink uplink_;
  testing::FakeProber prober_;
  Reconciler reconciler_;
  Agent agent_;
};

TEST_F(AgentGateTest, TheStateThatLiftsAHoldReleasesItsGateOnArrivalNotAtThePass) {
  const bdcoord::v1::DesiredState released = HeldByAPass();
  const int starts = docker_.calls()["StartContainer"];
  agent_.SetDesired(released);
  EXPECT_EQ(ReleaseFile(), "released\n") << "no pass yet";

  agent_.RunPass();
  EXPECT_EQ(uplink_.statuses().back().generation(), 2u);
  EXPECT_EQ(uplink_.statuses().back().instances(1).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(docker_.calls()["StartContainer"], starts) << "its container was running already";
  EXPECT_EQ(ReleaseFile(), "released\n");
}

TEST_F(AgentGateTest, AReleaseThatAlsoChangesTheSpecIsLeftToThePassThatReplacesIt) {
  bdcoord::v1::DesiredState released = HeldByAPass();
  auto* env = released.mutable_instances(1)->add_env();
  env->set_name("HEAP");
  env->set_value("2g");
  agent_.SetDesired(released);
  EXPECT_EQ(ReleaseFile(), "") << "the old spec's program must not run";

  const PassSummary pass = agent_.RunPass();
  EXPECT_EQ(pass.clusters[0].result.replaced, 1);
  EXPECT_EQ(uplink_.statuses().back().instances(1).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
}

TEST_F(AgentGateTest, AStateThatStillHoldsItReleasesNothing) {
  bdcoord::v1::DesiredState still_held = HeldByAPass();
  still_held.mutable_instances(1)->set_hold(true);
  agent_.SetDesired(still_held);
  EXPECT_EQ(ReleaseFile(), "");
  agent_.RunPass();
  EXPECT_EQ(uplink_.statuses().back().instances(1).state(), bdcoord::v1::INSTANCE_STATE_CREATED);
}

// What a pass writes before it releases (the hosts file, files rewritten in place) must be there
// when the program starts: a state that changes them too is left to the pass.
TEST_F(AgentGateTest, AStateThatAlsoChangesTheHostsMapIsLeftToThePassThatWritesItFirst) {
  bdcoord::v1::DesiredState first = Desired("a", 1, 2);
  *first.mutable_hosts_map() = net::ToProto(net::HostsMap(1, {Entry("10.1.0.11", "a-zk1")}));
  bdcoord::v1::DesiredState released = HeldByAPass(first);
  *released.mutable_hosts_map() =
      net::ToProto(net::HostsMap(2, {Entry("10.1.0.11", "a-zk1"), Entry("10.1.0.12", "a-zk2")}));
  agent_.SetDesired(released);
  EXPECT_EQ(ReleaseFile(), "");

  agent_.RunPass();
  EXPECT_EQ(ReleaseFile(), "released\n");
  EXPECT_THAT(hosts_.Get("/var/lib/bdagent/clusters/a/hosts")->content,
              ::testing::HasSubstr("a-zk2"));
}

TEST_F(AgentGateTest, AFileRewrittenInPlaceIsLeftToThePassThatWritesItFirst) {
  bdcoord::v1::DesiredState first = Desired("a", 1, 2);
  auto* file = first.mutable_instances(1)->add_files();
  file->set_path("/conf/app.cfg");
  file->set_content("v1");
  file->set_on_change("none");  // its content is not in the spec hash
  bdcoord::v1::DesiredState released = HeldByAPass(first);
  released.mutable_instances(1)->mutable_files(0)->set_content("v2");
  agent_.SetDesired(released);
  EXPECT_EQ(ReleaseFile(), "");

  agent_.RunPass();
  EXPECT_EQ(ReleaseFile(), "released\n");
  EXPECT_EQ(hosts_.Get("/var/lib/bdagent/clusters/a/instances/a-zk2/files/conf/app.cfg")->content,
            "v2");
}

TEST_F(AgentTest, ATakenDownClusterIsForgottenOnceReported) {
  agent_.SetDesired(Desired("a", 1, 2));
  agent_.RunPass();
  agent_.SetDesired(Desired("a", 2, 0));  // bdcoord down
  uplink_.set_connected(false);
  PassSummary pass = agent_.RunPass();
  EXPECT_EQ(pass.clusters[0].result.removed, 2);
  EXPECT_FALSE(pass.clusters[0].forgotten) << "not reported yet";
  EXPECT_THAT(agent_.clusters(), ElementsAre("a"));

  uplink_.set_connected(true);
  pass = agent_.RunPass();
  EXPECT_TRUE(pass.clusters[0].forgotten);
  EXPECT_THAT(agent_.clusters(), IsEmpty());
  EXPECT_EQ(uplink_.statuses().back().instances_size(), 0);
  EXPECT_THAT(agent_.RunPass().clusters, IsEmpty());
}

TEST_F(AgentTest, ANewerDesiredStateArrivingMidPassIsNotForgotten) {
  agent_.SetDesired(Desired("a", 2, 0));
  uplink_.set_on_status([this](const auto&) { agent_.SetDesired(Desired("a", 3, 1)); });
  const PassSummary pass = agent_.RunPass();
  EXPECT_FALSE(pass.clusters[0].forgotten);
  uplink_.set_on_status(nullptr);
  EXPECT_EQ(agent_.RunPass().clusters[0].result.created, 1);
}

TEST_F(AgentTest, DockerBeingDownIsReportedAndChangesNothing) {
  agent_.SetDesired(Desired("a", 1, 1));
  docker_.FailAll(absl::UnavailableError("connect to /fake/docker.sock: refused"));
  const PassSummary pass = agent_.RunPass();
  EXPECT_TRUE(pass.docker_unavailable);
  ASSERT_EQ(uplink_.statuses().size(), 1u);
  EXPECT_EQ(uplink_.statuses()[0].instances(0).state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(docker_.creates(), 0);
}

// The value of bdagent_instances{cluster, state}, or nullopt when the gauge has no such labels.
std::optional<double> Instances(prometheus::Registry& registry, const std::string& cluster,
                                const std::string& state) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != "bdagent_instances") continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& label : metric.label) labels[label.name] = label.value;
      if (labels == std::map<std::string, std::string>{{"cluster", cluster}, {"state", state}}) {
        return metric.gauge.value;
      }
    }
  }
  return std::nullopt;
}

TEST_F(AgentTest, EachPassIsTimedAndItsInstancesCountedByClusterAndState) {
  prometheus::Registry registry;
  const AgentMetrics metrics = AgentMetrics::Register(registry);
  Agent agent(&docker_, &reconciler_, &prober_,
              AgentOptions{.interval = absl::Seconds(10),
                           .docker_socket = "/fake/docker.sock",
                           .probe_drain_timeout = absl::Seconds(30),
                           .now = clock_.AsFunction(),
                           .metrics = &metrics});
  agent.SetDesired(Desired("a", 3, 2));
  agent.SetDesired(Desired("b", 5, 1));
  agent.RunPass();
  EXPECT_EQ(Instances(registry, "a", "running"), 2);
  EXPECT_EQ(Instances(registry, "b", "running"), 1);
  EXPECT_EQ(metrics.pass_duration.Collect().histogram.sample_count, 1u);

  agent.SetSoleDesired(Desired("a", 4, 2));  // b is no longer kept
  agent.RunPass();
  EXPECT_EQ(Instances(registry, "a", "running"), 2);
  EXPECT_EQ(Instances(registry, "b", "running"), std::nullopt);
  EXPECT_EQ(metrics.pass_duration.Collect().histogram.sample_count, 2u);
}

TEST_F(AgentTest, RunIsReadyAfterTheFirstPassThatReachedDocker) {
  agent_.SetDesired(Desired("a", 1, 1));
  docker_.FailAll(absl::UnavailableError("down"));
  int passes = 0;
  int ready_after = 0;
  agent_.Run(
      [&] {
        ++passes;
        if (passes == 2) docker_.FailAll(absl::OkStatus());
        if (passes == 3) agent_.Stop();
        agent_.Wake();  // the next pass at once
        return absl::OkStatus();
      },
      [&] { ready_after = passes; });
  EXPECT_EQ(passes, 3);
  EXPECT_EQ(ready_after, 2);
}

TEST_F(AgentTest, ARefreshErrorSkipsThePass) {
  agent_.SetDesired(Desired("a", 1, 1));
  const absl::StatusOr<PassSummary> pass =
      agent_.RunOnce([] { return absl::InvalidArgumentError("bad.json: not a desired state"); });
  EXPECT_EQ(pass.status(), absl::InvalidArgumentError("bad.json: not a desired state"));
  EXPECT_EQ(docker_.creates(), 0);
  EXPECT_THAT(uplink_.statuses(), IsEmpty());
}

TEST_F(AgentTest, SoleDesiredReplacesEveryOtherCluster) {
  agent_.SetDesired(Desired("a", 1, 1));
  agent_.SetSoleDesired(Desired("b", 1, 1));
  EXPECT_THAT(agent_.clusters(), ElementsAre("b"));
}

// Fencing: the coordinator silent for fence_after (counted from the agent's start or its last
// message) stops the instances that have one, kept; a new desired state once it is back starts
// them again, or removes those it no longer wants (moved away) first.
TEST_F(AgentTest, InstancesAreFencedAfterFenceAfterWithoutTheCoordinator) {
  bdcoord::v1::DesiredState desired = Desired("a", 1, 2);
  desired.mutable_instances(0)->mutable_fence_after()->set_seconds(10);
  agent_.SetDesired(desired);
  agent_.RunPass();
  ASSERT_EQ(docker_.containers().size(), 2u);
  EXPECT_EQ(agent_.UntilNextPass(), absl::Seconds(10)) << "the interval, or the fence, is next";

  clock_.Advance(absl::Seconds(9));
  agent_.Contact();  // a heartbeat's answer: the fence counts from here
  clock_.Advance(absl::Seconds(9));
  agent_.RunPass();
  EXPECT_TRUE(docker_.stops().empty()) << "9 s of silence: not yet";
  EXPECT_EQ(agent_.UntilNextPass(), absl::Seconds(1)) << "a pass when the fence is due";

  clock_.Advance(absl::Seconds(1));
  EXPECT_FALSE(agent_.OnlyProbesDue());
  agent_.RunPass();
  ASSERT_EQ(docker_.stops().size(), 1u);
  EXPECT_EQ(docker_.stops()[0].first, "a-zk1") << "only the instance with a fence_after";
  EXPECT_EQ(docker_.FindByName("a-zk1")->info.state, "exited") << "stopped, not removed";
  const bdcoord::v1::StatusReport fenced = uplink_.statuses().back();
  EXPECT_EQ(fenced.instances(0).state(), bdcoord::v1::INSTANCE_STATE_FAILED);
  EXPECT_EQ(fenced.instances(0).message(),
            "fenced: no word from the coordinator for 10s (fence_after 10s), so it may run "
            "elsewhere with the same IP: stopped until the coordinator is back");
  EXPECT_EQ(fenced.instances(1).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);

  // Back: still fenced until the coordinator's new word; then started again.
  agent_.Contact();
  agent_.RunPass();
  EXPECT_EQ(docker_.FindByName("a-zk1")->info.state, "exited");
  desired.set_generation(2);
  agent_.SetDesired(desired);
  agent_.RunPass();
  EXPECT_EQ(docker_.FindByName("a-zk1")->info.state, "running");

  // Fenced again, and moved away meanwhile: the new desired state lacks it, it is removed.
  clock_.Advance(absl::Seconds(10));
  agent_.RunPass();
  ASSERT_EQ(docker_.FindByName("a-zk1")->info.state, "exited");
  agent_.Contact();
  desired.set_generation(3);
  desired.mutable_instances()->erase(desired.mutable_instances()->begin());
  agent_.SetDesired(desired);
  agent_.RunPass();
  EXPECT_FALSE(docker_.FindByName("a-zk1").has_value());
  EXPECT_EQ(docker_.FindByName("a-zk2")->info.state, "running");
}

TEST_F(AgentTest, TheNextPassIsDueAtTheIntervalWithoutProbes) {
  EXPECT_EQ(agent_.UntilNextPass(), absl::Seconds(10));
}

TEST_F(AgentTest, TheNextPassComesSoonerWhenAProbeIsDue) {
  auto desired = Desired("a", 1, 1);
  auto* probe = desired.mutable_instances(0)->mutable_ready();
  probe->mutable_exec()->add_command("true");
  probe->mutable_interval()->set_seconds(3);
  prober_.set_result(absl::UnavailableError("exec true: exit code 1"));  // checked again later
  agent_.SetDesired(desired);
  agent_.RunPass();
  // Retries on a backoff from 100 ms, doubling up to the probe's interval.
  for (const int ms : {100, 200, 400, 800, 1600, 3000, 3000}) {
    EXPECT_EQ(agent_.UntilNextPass(), absl::Milliseconds(ms));
    clock_.Advance(absl::Milliseconds(ms));
    agent_.RunPass();
  }
  clock_.Advance(absl::Seconds(5));  // overdue: soon, but not in a busy loop
  EXPECT_EQ(agent_.UntilNextPass(), absl::Milliseconds(100));
}

// A dependent is released as soon as its dependency is ready: between passes only the due
// checks run (Docker is not asked anything) and a readiness is reported at once.
TEST_F(AgentTest, DueProbesRunWithoutAPassAndReportAReadinessAtOnce) {
  auto desired = Desired("a", 1, 2);
  desired.mutable_instances(0)->mutable_ready()->mutable_tcp()->set_port(2181);
  prober_.set_result(absl::UnavailableError("tcp 10.1.0.11:2181: Connection refused"));
  agent_.SetDesired(desired);
  agent_.RunPass();
  const size_t after_pass = uplink_.statuses().size();
  docker_.FailAll(absl::UnavailableError("a probe-only run must not ask Docker"));
  agent_.RunDueProbes();  // not due yet
  EXPECT_EQ(uplink_.statuses().size(), after_pass);
  EXPECT_EQ(prober_.checked().size(), 1u);
  clock_.Advance(absl::Milliseconds(100));
  agent_.RunDueProbes();  // still failing: nothing worth a report
  EXPECT_EQ(prober_.checked().size(), 2u);
  EXPECT_EQ(uplink_.statuses().size(), after_pass);
  prober_.set_result(absl::OkStatus());
  clock_.Advance(absl::Milliseconds(200));
  agent_.RunDueProbes();
  ASSERT_EQ(uplink_.statuses().size(), after_pass + 1);
  const bdcoord::v1::StatusReport report = uplink_.statuses().back();
  EXPECT_EQ(report.generation(), 1u);
  ASSERT_EQ(report.instances_size(), 2);
  EXPECT_TRUE(report.instances(0).ready());
  EXPECT_EQ(report.instances(0).state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_TRUE(report.instances(1).ready()) << "the others as the pass saw them";
  EXPECT_EQ(reconciler_.NextProbeDue(), absl::InfiniteFuture());
}

TEST_F(AgentTest, DueProbesLeaveANewDesiredStateToThePass) {
  auto desired = Desired("a", 1, 1);
  desired.mutable_instances(0)->mutable_ready()->mutable_tcp()->set_port(2181);
  prober_.set_result(absl::UnavailableError("refused"));
  agent_.SetDesired(desired);
  agent_.RunPass();
  const size_t after_pass = uplink_.statuses().size();
  desired.set_generation(2);
  agent_.SetDesired(desired);
  prober_.set_result(absl::OkStatus());
  clock_.Advance(absl::Milliseconds(100));
  agent_.RunDueProbes();
  EXPECT_EQ(uplink_.statuses().size(), after_pass) << "no report against an older desired state";
  EXPECT_EQ(prober_.checked().size(), 1u);
}

TEST_F(AgentTest, TheNextPassComesWhenARestartIsDue) {
  auto desired = Desired("a", 1, 1);
  desired.mutable_instances(0)->mutable_restart()->set_mode(
      bdcoord::v1::RestartPolicy::MODE_ALWAYS);
  agent_.SetDesired(desired);
  agent_.RunPass();
  for (int i = 0; i < 2; ++i) {  // killed twice: restarted at once, then after 1 s
    docker_.Exit("a-zk1", 137);
    agent_.RunPass();
  }
  EXPECT_EQ(agent_.UntilNextPass(), absl::Seconds(1));
}

TEST_F(AgentTest, StopEndsTheWait) {
  agent_.Stop();
  EXPECT_FALSE(agent_.WaitForNextPass());
}

// The waits below return at once when the agent works; the deadline only bounds a broken one.
TEST_F(AgentTest, ANewDesiredStateWakesTheLoop) {
  const absl::Time started = absl::Now();
  agent_.SetDesired(Desired("a", 1, 1));
  EXPECT_TRUE(agent_.WaitForNextPass());
  EXPECT_LT(absl::Now() - started, absl::Seconds(5));
}

TEST_F(AgentTest, AContainerStartOrDeathWakesTheLoop) {
  docker_.AddEvent({"container", "create", "id1", {}});
  docker_.AddEvent({"container", "die", "id1", {}});
  const absl::Time started = absl::Now();
  agent_.WatchDockerEvents();
  EXPECT_TRUE(agent_.WaitForNextPass());
  EXPECT_LT(absl::Now() - started, absl::Seconds(5));
  agent_.Stop();
  EXPECT_TRUE(agent_.WaitForEventWatcher(absl::Seconds(30)));
  EXPECT_GE(docker_.event_streams(), 1);
}

TEST(NextEventBackoff, DoublesUpToHalfAMinute) {
  EXPECT_EQ(NextEventBackoff(absl::Seconds(1)), absl::Seconds(2));
  EXPECT_EQ(NextEventBackoff(absl::Seconds(16)), absl::Seconds(30));
  EXPECT_EQ(NextEventBackoff(absl::Seconds(30)), absl::Seconds(30));
}

TEST_F(AgentTest, ProbeRequestsAreAnsweredOnTheUplink) {
  bdcoord::v1::ProbeRequest request;
  request.set_request_id(9);
  request.set_container("nobody");
  agent_.HandleProbeRequest(request);
  agent_.WaitForProbeRequests();
  const auto results = uplink_.results();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].request_id(), 9u);
  EXPECT_EQ(results[0].message(), "no container 'nobody' on this host");
}

TEST_F(AgentTest, AProbeRequestForOurContainerRunsTheProber) {
  agent_.SetDesired(Desired("a", 1, 1));
  agent_.RunPass();
  prober_.set_result(absl::UnavailableError("tcp 10.1.0.11:2181: Connection refused"));
  bdcoord::v1::ProbeRequest request;
  request.set_request_id(4);
  request.set_container("a-zk1");
  request.set_ip("10.1.0.11");
  request.mutable_probe()->mutable_tcp()->set_port(2181);
  agent_.HandleProbeRequest(request);
  agent_.WaitForProbeRequests();
  ASSERT_EQ(uplink_.results().size(), 1u);
  EXPECT_FALSE(uplink_.results()[0].ok());
  EXPECT_EQ(uplink_.results()[0].message(), "tcp 10.1.0.11:2181: Connection refused");
  EXPECT_EQ(prober_.checked().back().ip, "10.1.0.11");
}

}  // namespace
}  // namespace bdcoord::agent
