#ifndef BDCOORD_POLICY_FILE_ON_CHANGE_H_
#define BDCOORD_POLICY_FILE_ON_CHANGE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdcoord::policy {

// What a change of a file's content does to its instance's running container (File.on_change,
// like Nomad's template change_mode): restart replaces the container (the content is in the spec
// hash); signal and none rewrite the bind-mounted file in place, signal then sends the signal.
struct FileOnChange {
  enum class Mode { kRestart, kSignal, kNone };
  Mode mode = Mode::kRestart;
  std::string signal;  // kSignal: its name as Docker takes it, such as "SIGHUP"
};

// The signals a file change may send, by name ("SIGHUP", "SIGUSR1", ...).
const std::vector<std::string>& FileChangeSignals();

// Parses File.on_change: "" or "restart", "none", "signal:SIGNAME" (a name of
// FileChangeSignals()). nullopt when it is none of these. Pure.
std::optional<FileOnChange> ParseFileOnChange(std::string_view text);

// Whether a file's content is part of its instance's spec hash: only with on_change restart ("",
// the default; anything else, even unparsable, leaves it out).
inline bool ContentInSpecHash(std::string_view on_change) { return on_change.empty(); }

}  // namespace bdcoord::policy

#endif  // BDCOORD_POLICY_FILE_ON_CHANGE_H_
