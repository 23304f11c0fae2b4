#ifndef BDCOORD_CLI_COMMAND_LINE_H_
#define BDCOORD_CLI_COMMAND_LINE_H_

#include <CLI/CLI.hpp>
#include <ostream>

#include "cli/cluster_commands.h"
#include "cli/hosts_command.h"
#include "cli/place_command.h"
#include "cli/watch_commands.h"

namespace bdcoord::cli {

// bdcoord's subcommands: each one's flags on the app, and running the one the command line gave.
class CommandLine {
 public:
  // `now`: the clock of the commands that show ages (hosts).
  CommandLine(CLI::App* app, std::function<absl::Time()> now);

  // After the app parsed the command line: runs the subcommand and returns its exit code.
  int Run(std::ostream& out, std::ostream& err);

 private:
  PlaceOptions place_;
  CLI::App* place_cmd_ = nullptr;
  HostsOptions hosts_;
  CLI::App* hosts_cmd_ = nullptr;
  ApplyOptions apply_;
  CLI::App* apply_cmd_ = nullptr;
  StatusOptions status_;
  CLI::App* status_cmd_ = nullptr;
  ScaleOptions scale_;
  CLI::App* scale_cmd_ = nullptr;
  DownOptions down_;
  CLI::App* down_cmd_ = nullptr;
  DrainOptions drain_;
  CLI::App* drain_cmd_ = nullptr;
  LogsOptions logs_;
  CLI::App* logs_cmd_ = nullptr;
  EventsOptions events_;
  CLI::App* events_cmd_ = nullptr;
};

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_COMMAND_LINE_H_
