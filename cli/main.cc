// bdcoord: the command line of the cluster coordinator.
#include <CLI/CLI.hpp>
#include <iostream>

#include "absl/time/clock.h"
#include "cli/command_line.h"
#include "cli/exit_codes.h"

int main(int argc, char** argv) {
  CLI::App app{
      "bdcoord: deploy multi-container clusters with static IPs and a shared /etc/hosts on "
      "macvlan/ipvlan networks\n\nExit codes: 0 ok, 1 runtime or connection error, 2 invalid "
      "spec or command line (nothing applied), 3 placement impossible"};
  app.set_version_flag("--version", "bdcoord 0.1.0");
  app.require_subcommand(1);
  bdcoord::cli::CommandLine commands(&app, [] { return absl::Now(); });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? bdcoord::cli::kExitOk : bdcoord::cli::kExitInvalidInput;
  }
  return commands.Run(std::cout, std::cerr);
}
