#include "cli/cluster_commands.h"

#include <sstream>
#include <utility>

#include "cli/coordinator_client.h"
#include "cli/exit_codes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/cli/progress_builders.h"

namespace bdcoord::cli {
namespace {

TEST(ClusterCommandsTest, ProgressLinesOnePerService) {
  bdcoord::v1::ApplyProgress progress;
  progress.set_cluster("bigdata");
  *progress.add_services() = Progress("zk", 3, 3, 3);
  *progress.add_services() = Progress("kafka", 2, 1, 0);
  *progress.add_services() = Progress("drill", 1, 0, 0, "kafka ready");
  EXPECT_EQ(ProgressLines(progress),
            "zk: 3/3 ready\n"
            "kafka: 0/2 ready, 1 started\n"
            "drill: 0/1 ready (waiting for kafka ready)\n");
  EXPECT_EQ(ApplySummary(progress), "cluster bigdata: 3/6 instances ready\n");
  progress.set_done(true);
  auto* failure = progress.add_failures();
  failure->set_name("kafka1");
  failure->set_service("kafka");
  failure->set_message("exited with code 1");
  failure->add_last_log_lines("boom");
  EXPECT_EQ(ApplySummary(progress),
            "cluster bigdata: failed, 1 of 6 instances failed\n"
            "  kafka1 (service kafka): exited with code 1\n"
            "    | boom\n");
}

TEST(ClusterCommandsTest, ProgressBarsForATerminal) {
  bdcoord::v1::ApplyProgress progress;
  *progress.add_services() = Progress("zk", 3, 3, 3);
  *progress.add_services() = Progress("kafka", 2, 1, 0);
  *progress.add_services() = Progress("drill", 1, 0, 0, "kafka ready");
  progress.mutable_services(2)->set_placed(0);
  auto* failing = progress.add_services();
  *failing = Progress("nn", 1, 1, 0);
  failing->set_failed(1);
  // A quarter of the bar per step (placed, created, started, ready), 20 wide.
  EXPECT_EQ(ProgressBars(progress, 12.34),
            "zk    [####################] 3/3 ready  (placed 3, created 3, started 3)\n"
            "kafka [##########..........] 0/2 ready  (placed 2, created 1, started 1)\n"
            "drill [....................] 0/1 ready  (placed 0, created 0, started 0)  waiting "
            "for kafka ready\n"
            "nn    [###############.....] 0/1 ready  (placed 1, created 1, started 1)  1 FAILED\n"
            "elapsed 12.3 s\n");
}

TEST(ClusterCommandsTest, StatusTableAndJson) {
  bdcoord::v1::GetStatusResponse response;
  auto* cluster = response.add_clusters();
  cluster->set_cluster("demo");
  AddInstance(cluster, "zk1", "zk", "h1", "10.0.0.11", bdcoord::v1::INSTANCE_STATE_RUNNING)
      ->mutable_status()
      ->set_ready(true);
  auto* zk2 =
      AddInstance(cluster, "zk2", "zk", "h2", "10.0.0.12", bdcoord::v1::INSTANCE_STATE_RUNNING);
  zk2->mutable_status()->set_restart_count(3);
  zk2->mutable_status()->set_last_exit_code(137);
  EXPECT_EQ(StatusTable(response),
            "INSTANCE  SERVICE  HOST  IP         STATE    READY  RESTARTS      MESSAGE\n"
            "zk1       zk       h1    10.0.0.11  running  yes    0             -\n"
            "zk2       zk       h2    10.0.0.12  running  no     3 (exit 137)  -\n");
  EXPECT_THAT(StatusJson(response), ::testing::HasSubstr("\"state\": \"running\""));
  EXPECT_THAT(StatusJson(response), ::testing::HasSubstr("\"restart_count\": 3"));
  EXPECT_THAT(StatusJson(response), ::testing::HasSubstr("\"last_exit_code\": 137"));
  EXPECT_EQ(StateName(bdcoord::v1::INSTANCE_STATE_COMPLETED), "completed");
}

bdcoord::v1::ShimAddress Shim(const std::string& network, const std::string& host,
                              const std::string& address) {
  bdcoord::v1::ShimAddress shim;
  shim.set_network(network);
  shim.set_host(host);
  shim.set_address(address);
  return shim;
}

bdcoord::v1::InstanceView RunningOn(const std::string& name, const std::string& host,
                                    const std::string& ip) {
  bdcoord::v1::InstanceView view;
  view.mutable_placed()->set_name(name);
  view.mutable_placed()->set_service("zk");
  view.mutable_placed()->set_host(host);
  view.mutable_placed()->set_ip(ip);
  view.mutable_status()->set_state(bdcoord::v1::INSTANCE_STATE_RUNNING);
  view.mutable_status()->set_ready(true);
  return view;
}

TEST(ClusterCommandsTest, StatusShowsEachHostsShimAsPlaceDoes) {
  bdcoord::v1::GetStatusResponse response;
  auto* cluster = response.add_clusters();
  cluster->set_cluster("demo");
  *cluster->add_instances() = RunningOn("zk1", "h1", "10.0.0.11");
  *cluster->add_instances() = RunningOn("zk2", "h2", "10.0.0.12");
  *cluster->add_shims() = Shim("lan", "h1", "10.0.0.240");
  *cluster->add_shims() = Shim("lan", "h2", "10.0.0.241");
  EXPECT_EQ(StatusTable(response),
            "INSTANCE  SERVICE  HOST  IP         STATE    READY  RESTARTS  MESSAGE\n"
            "zk1       zk       h1    10.0.0.11  running  yes    0         -\n"
            "zk2       zk       h2    10.0.0.12  running  yes    0         -\n"
            "\n"
            "NETWORK  HOST  HOST SHIM\n"
            "lan      h1    10.0.0.240\n"
            "lan      h2    10.0.0.241\n");
  EXPECT_THAT(StatusJson(response), ::testing::HasSubstr("\"shims\": [\n"
                                                         "        {\n"
                                                         "          \"address\": \"10.0.0.240\",\n"
                                                         "          \"host\": \"h1\",\n"
                                                         "          \"network\": \"lan\"\n"
                                                         "        },\n"));
  EXPECT_THAT(StatusJson(response), ::testing::HasSubstr("\"address\": \"10.0.0.241\""));

  // With several clusters the networks are named like the instances, after their cluster.
  auto* other = response.add_clusters();
  other->set_cluster("other");
  *other->add_instances() = RunningOn("zk1", "h1", "10.1.0.11");
  *other->add_shims() = Shim("lan", "h1", "10.1.0.240");
  EXPECT_THAT(StatusTable(response), ::testing::EndsWith("NETWORK    HOST  HOST SHIM\n"
                                                         "demo/lan   h1    10.0.0.240\n"
                                                         "demo/lan   h2    10.0.0.241\n"
                                                         "other/lan  h1    10.1.0.240\n"));
}

TEST(ClusterCommandsTest, StatusWithoutShimsHasNoShimTableNorKey) {
  bdcoord::v1::GetStatusResponse response;
  auto* cluster = response.add_clusters();
  cluster->set_cluster("demo");
  *cluster->add_instances() = RunningOn("zk1", "h1", "10.0.0.11");
  EXPECT_THAT(StatusTable(response), ::testing::Not(::testing::HasSubstr("HOST SHIM")));
  EXPECT_THAT(StatusJson(response), ::testing::Not(::testing::HasSubstr("shims")));
}

// A refused spec's full report (Apply's last progress, Place's response) is printed as it is,
// however long, with place's exit code for its kind.
TEST(ClusterCommandsTest, ARejectionIsPrintedWholeWithPlacesExitCode) {
  bdcoord::v1::Rejection rejection;
  rejection.set_code(static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  std::string report;
  for (int i = 1; i <= 60; ++i) {
    report += "many.yaml:" + std::to_string(i) + ":5: unknown key 'imgae'\n  hint: image\n";
  }
  rejection.set_report(report);
  std::ostringstream err;
  EXPECT_EQ(ReportRejection(rejection, err), kExitInvalidInput);
  EXPECT_EQ(err.str(), report);

  rejection.set_code(static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  rejection.set_report("placement impossible: 40 of 43 instances cannot be placed\n  zk3 ...");
  std::ostringstream placement_err;
  EXPECT_EQ(ReportRejection(rejection, placement_err), kExitPlacementFailed);
  EXPECT_EQ(placement_err.str(),
            "placement impossible: 40 of 43 instances cannot be placed\n  zk3 ...\n");
}

TEST(ClusterCommandsTest, ASpecThatIsNotUtf8IsRefusedBeforeAnyCall) {
  std::ostringstream err;
  EXPECT_FALSE(ReportEncodingError("ok.yaml", "cluster: d\xc3\xa9mo\n", err));
  EXPECT_EQ(err.str(), "");
  EXPECT_TRUE(ReportEncodingError("latin1.yaml", "cluster: d\xe9mo\n", err));
  EXPECT_EQ(err.str(),
            "latin1.yaml:1:11: not UTF-8 at byte 10\n"
            "  hint: save the spec as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)\n");
  std::ostringstream utf16;
  EXPECT_TRUE(ReportEncodingError("utf16.yaml",
                                  std::string("\xff\xfe"
                                              "c\0l\0",
                                              6),
                                  utf16));
  EXPECT_THAT(utf16.str(), ::testing::StartsWith("utf16.yaml:1:4: NUL byte at byte 3\n"));
}

// A run-once job is done when it completed: apply says so with the word status uses.
TEST(ClusterCommandsTest, ARunOnceServiceIsCompletedNotReady) {
  bdcoord::v1::ApplyProgress progress;
  *progress.add_services() = Progress("zk", 1, 1, 1);
  *progress.add_services() = Progress("namenode-format", 1, 1, 1);
  progress.mutable_services(1)->set_run_once(true);
  *progress.add_services() = Progress("fsck", 1, 1, 0);
  progress.mutable_services(2)->set_run_once(true);
  EXPECT_EQ(ProgressLines(progress),
            "zk: 1/1 ready\n"
            "namenode-format: 1/1 completed\n"
            "fsck: 0/1 completed, 1 started\n");
  EXPECT_EQ(ProgressBars(progress, 1),
            "zk              [####################] 1/1 ready  (placed 1, created 1, started 1)\n"
            "namenode-format [####################] 1/1 completed  (placed 1, created 1, "
            "started 1)\n"
            "fsck            [###############.....] 0/1 completed  (placed 1, created 1, "
            "started 1)\n"
            "elapsed 1.0 s\n");

  bdcoord::v1::GetStatusResponse response;
  auto* cluster = response.add_clusters();
  cluster->set_cluster("demo");
  AddInstance(cluster, "namenode-format1", "namenode-format", "h1", "10.0.0.21",
              bdcoord::v1::INSTANCE_STATE_COMPLETED);
  EXPECT_EQ(StatusTable(response),
            "INSTANCE          SERVICE          HOST  IP         STATE      READY  RESTARTS  "
            "MESSAGE\n"
            "namenode-format1  namenode-format  h1    10.0.0.21  completed  -      0         -\n");
  *cluster->add_services() = progress.services(1);
  EXPECT_THAT(StatusJson(response), ::testing::HasSubstr("\"run_once\": true"));
}

// Without a terminal, an update prints only the services whose line changed: the first apply of
// the demo printed every service on every update (176 lines for 8 services).
TEST(ClusterCommandsTest, WithoutATerminalOnlyChangedServicesArePrinted) {
  ChangedProgressLines changed;
  bdcoord::v1::ApplyProgress progress;
  *progress.add_services() = Progress("zk", 3, 0, 0);
  *progress.add_services() = Progress("kafka", 2, 0, 0, "zk ready");
  EXPECT_EQ(changed.Next(progress),
            "zk: 0/3 ready\n"
            "kafka: 0/2 ready (waiting for zk ready)\n");
  EXPECT_EQ(changed.Next(progress), "");  // the same update again: nothing new to say
  *progress.mutable_services(0) = Progress("zk", 3, 3, 1);
  EXPECT_EQ(changed.Next(progress), "zk: 1/3 ready, 3 started\n");
  *progress.mutable_services(0) = Progress("zk", 3, 3, 3);
  *progress.mutable_services(1) = Progress("kafka", 2, 0, 0);
  EXPECT_EQ(changed.Next(progress),
            "zk: 3/3 ready\n"
            "kafka: 0/2 ready\n");
  *progress.mutable_services(1) = Progress("kafka", 2, 2, 2);
  EXPECT_EQ(changed.Next(progress), "kafka: 2/2 ready\n");
}

// Moved instances of two clusters: names and services say their cluster; an instance no
// longer placed (its cluster taken down, a scale) is not waited for.
TEST(ClusterCommandsTest, WaitOfADrainAcrossClusters) {
  bdcoord::v1::DrainHostResponse drained;
  for (const auto& [cluster, name] : {std::pair{"a", "zk1"}, std::pair{"b", "zk1"},
                                      std::pair{"b", "job1"}, std::pair{"b", "gone1"}}) {
    bdcoord::v1::MovedInstance* moved = drained.add_instances();
    moved->set_cluster(cluster);
    moved->set_instance(name);
  }
  bdcoord::v1::GetStatusResponse status;
  bdcoord::v1::ClusterStatus* a = status.add_clusters();
  a->set_cluster("a");
  AddInstance(a, "zk1", "zk", "h2", "10.0.0.1", bdcoord::v1::INSTANCE_STATE_RUNNING)
      ->mutable_status()
      ->set_ready(true);
  *a->add_services() = Progress("zk", 1, 1, 1);
  bdcoord::v1::ClusterStatus* b = status.add_clusters();
  b->set_cluster("b");
  AddInstance(b, "zk1", "zk", "h3", "10.0.1.1", bdcoord::v1::INSTANCE_STATE_CREATED);
  AddInstance(b, "job1", "job", "h3", "10.0.1.2", bdcoord::v1::INSTANCE_STATE_COMPLETED);
  *b->add_services() = Progress("zk", 1, 0, 0);
  *b->add_services() = Progress("job", 1, 1, 1);
  bdcoord::v1::ClusterStatus* c = status.add_clusters();  // nothing of it moved
  c->set_cluster("c");
  *c->add_services() = Progress("zk", 1, 1, 1);

  const DrainWait wait = WaitOfDrain(drained, status);
  EXPECT_EQ(wait.ready, 2u);
  EXPECT_THAT(wait.waiting, ::testing::ElementsAre("b/zk1 (h3: created)"));
  EXPECT_TRUE(wait.failed.empty());
  EXPECT_EQ(ProgressLines(wait.progress),
            "a/zk: 1/1 ready\n"
            "b/zk: 0/1 ready\n"
            "b/job: 1/1 ready\n");
}

}  // namespace
}  // namespace bdcoord::cli
