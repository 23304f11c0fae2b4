// bdagent's command line: parsing, what CLI11 cannot check, the coordinator channel and link.
#include "agent/flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace bdcoord::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Parses `args` as bdagent would; returns the flags.
AgentFlags Parse(std::vector<const char*> args) {
  CLI::App app;
  AgentFlags flags;
  AddAgentFlags(&app, &flags);
  args.insert(args.begin(), "bdagent");
  app.parse(static_cast<int>(args.size()), const_cast<char**>(args.data()));
  return flags;
}

TEST(AgentFlags, DefaultsAndValues) {
  AgentFlags flags = Parse({});
  EXPECT_EQ(flags.docker_socket, "/var/run/docker.sock");
  EXPECT_EQ(flags.coordinator, "unix:///run/bdcoord/bdcoordd.sock");
  flags = Parse({"--desired", "d.json", "--once", "--label", "rack=r1", "--interval", "3"});
  EXPECT_EQ(flags.desired_file, "d.json");
  EXPECT_TRUE(flags.once);
  EXPECT_EQ(flags.labels, std::vector<std::string>{"rack=r1"});
  EXPECT_EQ(flags.interval_seconds, 3);
}

TEST(AgentFlags, DesiredExcludesTheCoordinatorFlags) {
  EXPECT_THROW(Parse({"--desired", "d.json", "--token-file", "t"}), CLI::ExcludesError);
  EXPECT_THROW(Parse({"--parallelism", "65"}), CLI::ValidationError);
}

DockerInfo Cpus(uint32_t cpus) {
  DockerInfo info;
  info.cpus = cpus;
  return info;
}

TEST(AgentFlags, ParallelismComesFromDockersCpusUnlessGiven) {
  EXPECT_EQ(Parse({}).parallelism, 0);
  EXPECT_EQ(ParallelismFor(6, Cpus(32)), 6);
  EXPECT_EQ(ParallelismFor(0, Cpus(8)), 16);
  EXPECT_EQ(ParallelismFor(0, Cpus(2)), 4);
  EXPECT_EQ(ParallelismFor(0, Cpus(1)), 4);
  EXPECT_EQ(ParallelismFor(0, Cpus(64)), 32);
  EXPECT_EQ(ParallelismFor(0, Cpus(0)), 4) << "dockerd did not say";
  EXPECT_EQ(ParallelismFor(0, absl::UnavailableError("no dockerd")), 4);
}

TEST(GateBinaryFor, BesideTheAgentThenTheDebsLibexecUnlessGivenOrNone) {
  std::vector<std::string> there;
  auto executable = [&](const std::string& path) {
    return std::find(there.begin(), there.end(), path) != there.end();
  };
  EXPECT_EQ(GateBinaryFor("", "/usr/bin/bdagent", executable).value(), "") << "none found";
  there = {"/usr/bin/../libexec/bdcoord/bdgate"};
  EXPECT_EQ(GateBinaryFor("", "/usr/bin/bdagent", executable).value(),
            "/usr/bin/../libexec/bdcoord/bdgate");
  there.push_back("/build/agent/bdgate");
  EXPECT_EQ(GateBinaryFor("", "/build/agent/bdagent", executable).value(), "/build/agent/bdgate");
  EXPECT_EQ(GateBinaryFor("none", "/build/agent/bdagent", executable).value(), "");
  EXPECT_EQ(GateBinaryFor("/build/agent/bdgate", "/usr/bin/bdagent", executable).value(),
            "/build/agent/bdgate");
  EXPECT_EQ(Parse({"--gate", "none"}).gate, "none");
  for (const char* wrong : {"/opt/bdgate", "bdgate"}) {
    const absl::StatusOr<std::string> gate = GateBinaryFor(wrong, "/usr/bin/bdagent", executable);
    ASSERT_FALSE(gate.ok()) << wrong;
    EXPECT_EQ(gate.status().message(),
              absl::StrCat("--gate ", wrong,
                           ": not an executable file given by its absolute path (build it with "
                           "the agent: target bdgate; or --gate none)"));
  }
}

TEST(AgentFlags, TheHostsOwnPolicyDeniesByDefault) {
  AgentFlags flags = Parse({});
  EXPECT_FALSE(flags.policy.allow_root);
  EXPECT_TRUE(flags.policy.allowed_host_paths.empty());
  flags = Parse({"--allow-root", "--allow-host-path", "/srv/data", "--allow-host-path", "/logs"});
  EXPECT_TRUE(flags.policy.allow_root);
  EXPECT_EQ(flags.policy.allowed_host_paths, (std::vector<std::string>{"/srv/data", "/logs"}));
  try {
    Parse({"--allow-host-path", "srv/data"});
    ADD_FAILURE() << "a relative prefix was accepted";
  } catch (const CLI::ValidationError& e) {
    EXPECT_THAT(e.what(), HasSubstr("--allow-host-path: must be an absolute path"));
  }
}

TEST(ValidateAgentFlags, OnceNeedsADesiredFile) {
  EXPECT_EQ(ValidateAgentFlags(Parse({"--once"})),
            absl::InvalidArgumentError("--once needs --desired FILE.json"));
  EXPECT_TRUE(ValidateAgentFlags(Parse({"--once", "--desired", "d.json"})).ok());
  EXPECT_TRUE(ValidateAgentFlags(Parse({})).ok());
}

TEST(ValidateAgentFlags, MetricsOnLoopbackOnly) {
  EXPECT_TRUE(ValidateAgentFlags(Parse({"--metrics-listen", "127.0.0.1:9465"})).ok());
  const absl::Status refused = ValidateAgentFlags(Parse({"--metrics-listen", "0.0.0.0:9465"}));
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(),
              HasSubstr("refusing to serve metrics on '0.0.0.0:9465': not a loopback address"));
}

TEST(CoordinatorChannel, NamesTheTokenFileThatCannotBeRead) {
  AgentFlags flags = Parse({"--token-file", "/nonexistent/token"});
  const auto channel = CoordinatorChannel(&flags);
  EXPECT_EQ(channel.status().message(),
            "--token-file: cannot read '/nonexistent/token': No such file or directory");
  flags = Parse({"--coordinator", "unix:///tmp/none.sock"});
  ASSERT_TRUE(CoordinatorChannel(&flags).ok());
  EXPECT_EQ(flags.channel.address, "unix:///tmp/none.sock");
}

TEST(LinkOptions, TheHostNameDefaultsToTheHostname) {
  AgentFlags flags = Parse({"--host-name", "w7", "--heartbeat-interval", "2"});
  CoordinatorLinkOptions options = LinkOptions(flags, nullptr);
  EXPECT_EQ(options.host_name, "w7");
  EXPECT_EQ(options.heartbeat_interval, absl::Seconds(2));
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  EXPECT_EQ(LinkOptions(Parse({}), nullptr).host_name, name);
}

TEST(ValidateAgentFlags, SeveralCoordinatorsSeparatedByCommas) {
  AgentFlags flags = Parse({"--coordinator", "unix:///tmp/a.sock,unix:///tmp/b.sock"});
  EXPECT_TRUE(ValidateAgentFlags(flags).ok());
  ASSERT_TRUE(CoordinatorChannel(&flags).ok());
  EXPECT_EQ(flags.channel.address, "unix:///tmp/a.sock");
  const CoordinatorLinkOptions options = LinkOptions(flags, nullptr);
  EXPECT_EQ(options.address, "unix:///tmp/a.sock");
  EXPECT_THAT(options.addresses, ElementsAre("unix:///tmp/a.sock", "unix:///tmp/b.sock"));
  EXPECT_NE(options.dial("unix:///tmp/b.sock"), nullptr);
  EXPECT_EQ(ValidateAgentFlags(Parse({"--coordinator", "unix:///tmp/a.sock,"})),
            absl::InvalidArgumentError(
                "--coordinator 'unix:///tmp/a.sock,' has an empty address: give one or more "
                "addresses separated by commas (such as unix:///run/a.sock,10.0.0.2:7443)"));
}

}  // namespace
}  // namespace bdcoord::agent
