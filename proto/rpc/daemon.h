#ifndef BDCOORD_PROTO_RPC_DAEMON_H_
#define BDCOORD_PROTO_RPC_DAEMON_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "spdlog/spdlog.h"

namespace bdcoord::rpc {

// The set-up bdcoordd and bdagent share: the --log-level flag, parsing the command line, and the
// program's logger.

// --version: prints "PROGRAM VERSION" (the project's version) and exits 0.
void AddVersionFlag(CLI::App* app, const std::string& program);

// --log-level: trace, debug, info (the default in `level`), warn, error.
void AddLogLevelFlag(CLI::App* app, std::string* level);

// Parses the command line. Returns the exit code to leave with (0 after --help, 2 for a bad
// command line, CLI11's message printed), or nullopt to go on.
std::optional<int> ParseCommandLine(CLI::App* app, int argc, char** argv);

// Logs go to stderr (journald under systemd; stdout stays for the program's own output) under the
// program's name at `level`, through the default logger, which it becomes and returns.
std::shared_ptr<spdlog::logger> SetUpDaemonLogger(const std::string& program,
                                                  const std::string& level);

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts afterwards, so that
// only WaitForStopSignal takes them. Call before any thread starts (gRPC's, curl's, ours).
void BlockStopSignals();

// Waits for SIGTERM or SIGINT (blocked with BlockStopSignals) and returns its number.
int WaitForStopSignal();

// Calls `stop` from a thread of its own at the first SIGTERM or SIGINT (see BlockStopSignals).
void StopOnSignal(std::function<void()> stop);

}  // namespace bdcoord::rpc

#endif  // BDCOORD_PROTO_RPC_DAEMON_H_
