// bdcoord: the command line of the cluster coordinator.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "cli/command_line.h"
#include "proto/rpc/daemon.h"

int main(int argc, char** argv) {
  CLI::App app{
      "bdcoord: deploy multi-container clusters with static IPs and a shared /etc/hosts on "
      "macvlan/ipvlan networks\n\nExit codes: 0 ok, 1 runtime or connection error, 2 invalid "
      "spec or command line (nothing applied), 3 placement impossible",
      "bdcoord"};
  bdcoord::rpc::AddVersionFlag(&app, "bdcoord");
  bdcoord::cli::CommandLine commands(&app, [] { return absl::Now(); });
  if (std::optional<int> code =
          commands.Parse(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr)) {
    return *code;
  }
  return commands.Run(std::cout, std::cerr);
}
