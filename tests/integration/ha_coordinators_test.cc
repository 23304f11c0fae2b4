// Several bdcoordd on one etcd (issue 13): a real etcd and three real bdcoordd processes on unix
// sockets with a 2 s lease. One leads, the others refuse clients and agents naming it; after a
// kill -9 of the leader another takes over (the time is measured and printed), and `bdcoord
// apply` given every address completes against the new leader with simulated agents.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/coordinator_link.h"
#include "bdcoord/v1/agent.grpc.pb.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/wait_for.h"
#include "tests/testing/etcd_process.h"
#include "tests/testing/sim_agent.h"
#include "tests/testing/temp_dir.h"

namespace bdcoord::test_util {
namespace {

constexpr char kLease[] = "2s";

// One bdcoordd process on its own unix socket, killed by its PID when this goes.
class CoordinatorProcess {
 public:
  CoordinatorProcess(const std::string& dir, const std::string& name, const std::string& store)
      : address_("unix://" + dir + "/" + name + ".sock"), log_(dir + "/" + name + ".log") {
    const std::string data = dir + "/" + name;
    std::vector<std::string> args = {BDCOORD_BINARY_DIR "/coordinator/bdcoordd",
                                     "--listen=" + address_,
                                     "--data-dir=" + data,
                                     "--store=" + store,
                                     std::string("--leader-lease=") + kLease,
                                     "--log-level=info"};
    pid_ = ::fork();
    if (pid_ == 0) {
      FILE* log = std::fopen(log_.c_str(), "w");
      if (log != nullptr) {
        ::dup2(fileno(log), 1);
        ::dup2(fileno(log), 2);
      }
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    cluster_ = bdcoord::v1::ClusterService::NewStub(channel_);
    agents_ = bdcoord::v1::AgentService::NewStub(channel_);
  }
  ~CoordinatorProcess() { Kill(); }

  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }
  bool alive() const { return pid_ > 0; }
  const std::string& address() const { return address_; }
  bdcoord::v1::AgentService::Stub* agents() { return agents_.get(); }
  bdcoord::v1::ClusterService::Stub* cluster() { return cluster_.get(); }

  // A ListHosts call: its status and the bdcoord-leader trailer ("" without).
  struct Answer {
    grpc::Status status;
    std::string leader;
  };
  Answer Ask() {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    bdcoord::v1::ListHostsResponse hosts;
    Answer answer{cluster_->ListHosts(&context, {}, &hosts), ""};
    const auto& trailers = context.GetServerTrailingMetadata();
    if (auto found = trailers.find("bdcoord-leader"); found != trailers.end()) {
      answer.leader = std::string(found->second.data(), found->second.size());
    }
    return answer;
  }

  std::string Log() const {
    std::string text;
    if (FILE* in = std::fopen(log_.c_str(), "r")) {
      char buffer[4096];
      size_t n;
      while ((n = std::fread(buffer, 1, sizeof(buffer), in)) > 0) text.append(buffer, n);
      std::fclose(in);
    }
    return text;
  }

 private:
  const std::string address_;
  const std::string log_;
  pid_t pid_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<bdcoord::v1::ClusterService::Stub> cluster_;
  std::unique_ptr<bdcoord::v1::AgentService::Stub> agents_;
};

// Whether `host` is connected to the coordinator as its ListHosts says.
bool Connected(CoordinatorProcess& coordinator, const std::string& host) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  bdcoord::v1::ListHostsResponse hosts;
  if (!coordinator.cluster()->ListHosts(&context, {}, &hosts).ok()) return false;
  for (const auto& listed : hosts.hosts()) {
    if (listed.name() == host) return listed.connected();
  }
  return false;
}

// The one live coordinator that serves while every other live one refuses naming it; null until
// the coordinators agree so.
CoordinatorProcess* AgreedLeader(std::vector<std::unique_ptr<CoordinatorProcess>>& coordinators) {
  CoordinatorProcess* leader = nullptr;
  std::vector<CoordinatorProcess::Answer> answers;
  for (auto& coordinator : coordinators) {
    answers.push_back(coordinator->alive() ? coordinator->Ask() : CoordinatorProcess::Answer{});
    if (coordinator->alive() && answers.back().status.ok()) {
      if (leader != nullptr) return nullptr;
      leader = coordinator.get();
    }
  }
  if (leader == nullptr) return nullptr;
  for (size_t i = 0; i < coordinators.size(); ++i) {
    if (!coordinators[i]->alive() || coordinators[i].get() == leader) continue;
    if (answers[i].leader != leader->address()) return nullptr;
  }
  return leader;
}

std::string RunCli(const std::string& args, int* exit_code) {
  const std::string command = std::string(BDCOORD_BINARY_DIR "/cli/bdcoord ") + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = ::pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

TEST(HaCoordinatorsTest, OneLeadsTheOthersReferToItAndAnotherTakesOverAfterKill9) {
  TempDir dir("ha");
  absl::StatusOr<std::unique_ptr<EtcdProcess>> etcd = EtcdProcess::Start(dir.path());
  ASSERT_TRUE(etcd.ok()) << etcd.status();
  const std::string store = (*etcd)->url() + "/ha";
  std::vector<std::unique_ptr<CoordinatorProcess>> coordinators;
  for (const char* name : {"a", "b", "c"}) {
    coordinators.push_back(std::make_unique<CoordinatorProcess>(dir.path(), name, store));
  }
  std::vector<std::string> addresses;
  for (auto& coordinator : coordinators) addresses.push_back(coordinator->address());

  CoordinatorProcess* leader = nullptr;
  ASSERT_TRUE(
      WaitFor([&] { return (leader = AgreedLeader(coordinators)) != nullptr; }, absl::Seconds(15)))
      << coordinators[0]->Log();

  // A standby refuses the CLI's calls and the agents' streams, naming the leader.
  CoordinatorProcess* standby =
      coordinators[0].get() == leader ? coordinators[1].get() : coordinators[0].get();
  const std::string refusal =
      "this coordinator is a standby; the leader is at " + leader->address();
  const CoordinatorProcess::Answer refused = standby->Ask();
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(refused.status.error_message(), refusal);
  {
    grpc::ClientContext context;
    auto stream = standby->agents()->Connect(&context);
    bdcoord::v1::CoordinatorMessage message;
    EXPECT_FALSE(stream->Read(&message));
    const grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(status.error_message(), refusal);
    const auto& trailers = context.GetServerTrailingMetadata();
    auto found = trailers.find("bdcoord-leader");
    ASSERT_NE(found, trailers.end());
    EXPECT_EQ(std::string(found->second.data(), found->second.size()), leader->address());
  }
  // The CLI given a standby alone says who leads; given every address, it finds the leader.
  int code = 0;
  std::string output = RunCli("hosts --coordinator " + standby->address(), &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(output.find(refusal), std::string::npos) << output;
  EXPECT_NE(output.find("hint: pass every coordinator's address"), std::string::npos) << output;
  output = RunCli("hosts --coordinator " + absl::StrJoin(addresses, ","), &code);
  EXPECT_EQ(code, 0) << output;

  // bdagent's link given every address finds the leader, and follows it after each failover.
  agent::CoordinatorLinkOptions link_options;
  link_options.address = addresses.front();
  link_options.addresses = addresses;
  link_options.host_name = "linked";
  link_options.heartbeat_interval = absl::Milliseconds(500);
  link_options.min_backoff = absl::Milliseconds(100);
  link_options.max_backoff = absl::Milliseconds(500);
  link_options.now = [] { return absl::Now(); };
  agent::CoordinatorLink link(link_options, [](const bdcoord::v1::DesiredState&) {});
  link.Start();
  EXPECT_TRUE(WaitFor([&] { return Connected(*leader, "linked"); }));

  // kill -9 of the leader, twice: each time another leads within the lease and a margin.
  std::vector<double> failovers;
  for (int round = 0; round < 2; ++round) {
    leader->Kill();
    const absl::Time killed = absl::Now();
    CoordinatorProcess* next = nullptr;
    ASSERT_TRUE(
        WaitFor([&] { return (next = AgreedLeader(coordinators)) != nullptr; }, absl::Seconds(8)))
        << "no new leader within 8 s of the kill";
    failovers.push_back(absl::ToDoubleSeconds(absl::Now() - killed));
    std::printf("failover %d: %s led again %.2f s after the kill -9 of %s\n", round + 1,
                next->address().c_str(), failovers.back(), leader->address().c_str());
    EXPECT_LT(failovers.back(), 2.0 * 2 + 1) << "lease 2 s";
    leader = next;
    EXPECT_TRUE(WaitFor([&] { return Connected(*leader, "linked"); }))
        << "the agent's link did not follow the leader";
    std::printf("  the agent's link was connected to it %.2f s after the kill\n",
                absl::ToDoubleSeconds(absl::Now() - killed));
  }
  std::sort(failovers.begin(), failovers.end());
  std::printf("failover over %zu rounds (lease %s): median %.2f s, max %.2f s\n", failovers.size(),
              kLease, (failovers[(failovers.size() - 1) / 2] + failovers[failovers.size() / 2]) / 2,
              failovers.back());

  // Agents on the new leader; an apply through the CLI given every address (two dead) completes.
  link.Stop();
  std::vector<std::unique_ptr<SimAgent>> agents;
  for (const char* host : {"h1", "h2"}) {
    agents.push_back(std::make_unique<SimAgent>(host, std::map<std::string, std::string>{}));
    agents.back()->Start(leader->agents());
  }
  const std::string spec = dir.path() + "/cluster.yaml";
  {
    FILE* out = std::fopen(spec.c_str(), "w");
    ASSERT_NE(out, nullptr);
    std::fputs(
        "cluster: ha\n"
        "domain: ha.lan\n"
        "networks:\n"
        "  lan: {driver: macvlan, parent: eth0, subnet: 10.64.0.0/24, gateway: 10.64.0.1}\n"
        "services:\n"
        "  web:\n"
        "    image: bdcoord/standin:latest\n"
        "    count: 4\n"
        "    resources: {cpus: 100m, memory: 64Mi}\n",
        out);
    std::fclose(out);
  }
  ASSERT_TRUE(WaitFor([&] {
    int listed = 0;
    const std::string hosts =
        RunCli("hosts --coordinator " + absl::StrJoin(addresses, ","), &listed);
    return listed == 0 && hosts.find("h1") != std::string::npos &&
           hosts.find("h2") != std::string::npos;
  }));
  output = RunCli("apply " + spec + " --coordinator " + absl::StrJoin(addresses, ","), &code);
  EXPECT_EQ(code, 0) << output;
  uint64_t running = 0;
  EXPECT_TRUE(WaitFor([&] {
    running = 0;
    for (auto& agent : agents) running += agent->counters().running;
    return running == 4;
  })) << running
      << " instances running\n"
      << output;
}

// A lease etcd cannot keep (under its 1 s granularity) or absurdly long is refused at start.
TEST(HaCoordinatorsTest, ALeaseOutOfRangeIsRefused) {
  const std::string command = std::string(BDCOORD_BINARY_DIR "/coordinator/bdcoordd") +
                              " --listen unix:///tmp/unused.sock --store etcd://127.0.0.1:1"
                              " --leader-lease 0.5s 2>&1; echo rc=$?";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  ::pclose(pipe);
  EXPECT_EQ(output,
            "--leader-lease: '0.5s' is not a duration between 1s and 1h (such as 5s)\n"
            "Run with --help for more information.\nrc=2\n");
}

}  // namespace
}  // namespace bdcoord::test_util
