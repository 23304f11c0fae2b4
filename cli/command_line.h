#ifndef BDCOORD_CLI_COMMAND_LINE_H_
#define BDCOORD_CLI_COMMAND_LINE_H_

#include <CLI/CLI.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/cluster_commands.h"
#include "cli/hosts_command.h"
#include "cli/images_command.h"
#include "cli/place_command.h"
#include "cli/rollout_command.h"
#include "cli/watch_commands.h"

namespace bdcoord::cli {

// bdcoord's subcommands: each one's flags on the app, and running the one the command line gave.
class CommandLine {
 public:
  // `now`: the clock of the commands that show ages (hosts).
  CommandLine(CLI::App* app, std::function<absl::Time()> now);

  // Parses `args` (the words after the program's name). Returns the exit code when there is
  // nothing to run: after --help or --version (0), or an error, printed to `err` (2); a missing
  // or unknown command gets the list of commands and the nearest one.
  std::optional<int> Parse(std::vector<std::string> args, std::ostream& out, std::ostream& err);

  // After Parse: runs the subcommand and returns its exit code.
  int Run(std::ostream& out, std::ostream& err);

 private:
  CLI::App* app_ = nullptr;
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
  RolloutOptions rollout_;
  CLI::App* rollout_cmd_ = nullptr;
  LogsOptions logs_;
  CLI::App* logs_cmd_ = nullptr;
  EventsOptions events_;
  CLI::App* events_cmd_ = nullptr;
  ImagesOptions images_;
  CLI::App* images_cmd_ = nullptr;
  CLI::App* images_push_cmd_ = nullptr;
  CLI::App* images_ls_cmd_ = nullptr;
  std::string completion_shell_;
  CLI::App* completion_cmd_ = nullptr;
};

// The error for a command line without a known command: what is wrong (the nearest command to an
// unknown word), then every command with its one-line description. `unparsed`: the words the
// parser could not place, e.g. {"stauts"}.
std::string MissingCommandMessage(const CLI::App& app, const std::vector<std::string>& unparsed);

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_COMMAND_LINE_H_
