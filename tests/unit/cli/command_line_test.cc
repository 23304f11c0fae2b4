#include "cli/command_line.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "cli/exit_codes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace bdcoord::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The parse of one command line, as `bdcoord ARGS...` would do it.
struct Parsed {
  std::optional<int> exit_code;
  std::string out;
  std::string err;
};

Parsed Parse(std::vector<std::string> args) {
  CLI::App app{"bdcoord", "bdcoord"};
  CommandLine commands(&app, [] { return absl::Now(); });
  std::ostringstream out, err;
  Parsed parsed;
  parsed.exit_code = commands.Parse(std::move(args), out, err);
  parsed.out = out.str();
  parsed.err = err.str();
  return parsed;
}

constexpr char kCommandList[] =
    "\n"
    "Commands:\n"
    "  place       Validate a spec and show where each instance would run, on which IP\n"
    "  hosts       List the coordinator's hosts: connected or not, labels, capacity\n"
    "  apply       Place and start a cluster on the live hosts, with progress until it is "
    "ready\n"
    "  status      Every placed instance of a cluster (or of all): host, IP and state\n"
    "  scale       Run N instances of a service; the others stay where they are\n"
    "  down        Remove a cluster's containers, networks and shims everywhere; forget it\n"
    "  drain       Move a host's instances to other hosts; --undo makes it placeable again\n"
    "  rollout     Show, pause, resume or undo a cluster's rolling update\n"
    "  logs        Print the container logs of an instance, or of a whole service merged\n"
    "  events      Watch instances and hosts change from now on, until Ctrl-C\n"
    "  images      Push images to the hosts without a registry; list which host has which\n"
    "  completion  Print the shell completion script (bash)\n"
    "\n"
    "Run `bdcoord COMMAND --help` for a command's options.\n";

TEST(CommandLineTest, NoCommandListsTheCommands) {
  const Parsed parsed = Parse({});
  EXPECT_EQ(parsed.exit_code, kExitInvalidInput);
  EXPECT_EQ(parsed.err, std::string("bdcoord: a command is required\n") + kCommandList);
  EXPECT_EQ(parsed.out, "");
}

TEST(CommandLineTest, AMistypedCommandSuggestsTheNearestOne) {
  const Parsed status = Parse({"stauts"});
  EXPECT_EQ(status.exit_code, kExitInvalidInput);
  EXPECT_EQ(status.err, std::string("bdcoord: unknown command 'stauts'; did you mean 'status'?\n") +
                            kCommandList);

  const Parsed place = Parse({"plcae", "x.yaml"});
  EXPECT_EQ(place.exit_code, kExitInvalidInput);
  EXPECT_THAT(place.err, StartsWith("bdcoord: unknown command 'plcae'; did you mean 'place'?\n"));
  EXPECT_THAT(place.err, HasSubstr(kCommandList));
}

TEST(CommandLineTest, AnUnknownCommandFarFromAnyOneIsListedWithoutAGuess) {
  const Parsed parsed = Parse({"deploy", "x.yaml"});
  EXPECT_EQ(parsed.exit_code, kExitInvalidInput);
  EXPECT_EQ(parsed.err, std::string("bdcoord: unknown command 'deploy'\n") + kCommandList);
}

TEST(CommandLineTest, AnOptionWithoutACommandIsNamed) {
  const Parsed parsed = Parse({"--bogus"});
  EXPECT_EQ(parsed.exit_code, kExitInvalidInput);
  EXPECT_EQ(parsed.err,
            std::string("bdcoord: unknown option '--bogus' before the command\n") + kCommandList);
}

TEST(CommandLineTest, HelpListsTheSameOneLineDescriptionsAndExitsZero) {
  const Parsed parsed = Parse({"--help"});
  EXPECT_EQ(parsed.exit_code, kExitOk);
  EXPECT_THAT(parsed.out,
              HasSubstr("Watch instances and hosts change from now on, until Ctrl-C\n"));
  EXPECT_EQ(parsed.err, "");
}

TEST(CommandLineTest, ACommandsHelpEndsWithItsDetails) {
  const Parsed parsed = Parse({"place", "--help"});
  EXPECT_EQ(parsed.exit_code, kExitOk);
  EXPECT_THAT(parsed.out, HasSubstr("Usage: bdcoord place [OPTIONS] spec"));
  EXPECT_THAT(parsed.out, HasSubstr("Changes nothing: offline from the spec's own hosts"));
}

TEST(CommandLineTest, DrainSaysItWaitsAndWhatUndoDoes) {
  const Parsed parsed = Parse({"drain", "--help"});
  EXPECT_EQ(parsed.exit_code, kExitOk);
  EXPECT_THAT(parsed.out, HasSubstr("--undo                      Make the host placeable again "
                                    "(nothing moves back by itself)\n"));
  EXPECT_THAT(parsed.out, HasSubstr("Seconds to wait for the moved instances to be ready\n"));
  EXPECT_THAT(parsed.out,
              HasSubstr("The instances keep their names and IPs; nothing new goes to the host "
                        "until --undo.\nShows their progress as apply does and exits 0 once "
                        "every moved instance is ready on its\nnew host; 1 when one failed there "
                        "or --timeout passed (they keep moving all the same).\n--undo: new "
                        "instances may go to the host again; nothing moves back by itself.\n"));
  EXPECT_EQ(Parse({"drain", "h4", "--timeout", "60"}).exit_code, std::nullopt);
  const Parsed zero = Parse({"drain", "h4", "--timeout", "0"});
  EXPECT_EQ(zero.exit_code, kExitInvalidInput);
  EXPECT_THAT(zero.err, HasSubstr("--timeout"));
}

TEST(CommandLineTest, AKnownCommandsOwnErrorsStayCli11s) {
  const Parsed parsed = Parse({"place"});
  EXPECT_EQ(parsed.exit_code, kExitInvalidInput);
  EXPECT_THAT(parsed.err, HasSubstr("spec is required"));
  EXPECT_THAT(parsed.err, Not(HasSubstr("Commands:")));
}

TEST(CommandLineTest, AValidCommandLineLeavesTheRunToRun) {
  EXPECT_EQ(Parse({"place", "x.yaml"}).exit_code, std::nullopt);
}

// What bash offers for `bdcoord WORDS<Tab>` with the generated script, run in a real bash.
std::string Complete(const std::string& script_path, const std::string& words) {
  const std::string command = "bash -c 'source " + script_path + "; COMP_WORDS=(bdcoord " + words +
                              "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _bdcoord; "
                              "echo \"${COMPREPLY[*]}\"' 2>&1";
  std::string output;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
    pclose(pipe);
  }
  return output;
}

TEST(CommandLineTest, TheBashCompletionCompletesCommandsOptionsAndSpecFiles) {
  CLI::App app{"bdcoord", "bdcoord"};
  CommandLine commands(&app, [] { return absl::Now(); });
  std::ostringstream out, err;
  ASSERT_EQ(commands.Parse({"completion", "bash"}, out, err), std::nullopt) << err.str();
  ASSERT_EQ(commands.Run(out, err), kExitOk);
  const test_util::TempDir dir("command_line_test");
  const std::string script = dir.path() + "/bdcoord.bash";
  std::ofstream(script) << out.str();
  std::ofstream(dir.path() + "/cluster.yaml") << "cluster: x\n";

  EXPECT_EQ(Complete(script, "st"), "status\n");
  EXPECT_EQ(Complete(script, "status --w"), "--watch\n");
  EXPECT_EQ(Complete(script, "logs -"),
            "-h --help -f --follow --tail -c --cluster --coordinator --tls-cert --tls-key "
            "--tls-ca --tls-server-name --token-file\n");
  EXPECT_EQ(Complete(script, "apply " + dir.path() + "/clu"), dir.path() + "/cluster.yaml\n");
  EXPECT_EQ(Complete(script, "status " + dir.path() + "/clu"), "\n") << "status takes no file";
  EXPECT_EQ(Complete(script, "status --tls-cert " + dir.path() + "/clu"),
            dir.path() + "/cluster.yaml\n")
      << "an option's file";

  const Parsed zsh = Parse({"completion", "zsh"});
  EXPECT_EQ(zsh.exit_code, kExitInvalidInput);
  EXPECT_THAT(zsh.err, HasSubstr("zsh not in {bash}"));
}

}  // namespace
}  // namespace bdcoord::cli
