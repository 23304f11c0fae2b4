#ifndef BDCOORD_CLI_EXIT_CODES_H_
#define BDCOORD_CLI_EXIT_CODES_H_

namespace bdcoord::cli {

// The documented exit codes of every bdcoord command (README, "Exit codes").
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntimeError = 1;     // I/O, connection, internal
inline constexpr int kExitInvalidInput = 2;     // invalid spec or command line; nothing applied
inline constexpr int kExitPlacementFailed = 3;  // no host satisfies an instance's rules

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_EXIT_CODES_H_
