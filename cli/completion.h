#ifndef BDCOORD_CLI_COMPLETION_H_
#define BDCOORD_CLI_COMPLETION_H_

#include <CLI/CLI.hpp>
#include <string>

namespace bdcoord::cli {

// The bash completion script of `app` (`bdcoord completion bash`): its commands, then each
// command's options, and file names where a command takes a file. Generated from the app itself,
// so it never falls behind the commands. Pure.
std::string BashCompletion(const CLI::App& app);

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_COMPLETION_H_
