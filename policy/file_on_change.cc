#include "policy/file_on_change.h"

#include <algorithm>

namespace bdcoord::policy {

const std::vector<std::string>& FileChangeSignals() {
  static const std::vector<std::string> signals = {"SIGHUP",  "SIGINT",  "SIGQUIT", "SIGUSR1",
                                                   "SIGUSR2", "SIGTERM", "SIGKILL", "SIGALRM",
                                                   "SIGCONT", "SIGSTOP", "SIGWINCH"};
  return signals;
}

std::optional<FileOnChange> ParseFileOnChange(std::string_view text) {
  if (text.empty() || text == "restart") return FileOnChange{};
  if (text == "none") return FileOnChange{.mode = FileOnChange::Mode::kNone, .signal = ""};
  constexpr std::string_view kSignal = "signal:";
  if (text.substr(0, kSignal.size()) != kSignal) return std::nullopt;
  const std::string_view name = text.substr(kSignal.size());
  const auto& signals = FileChangeSignals();
  if (std::find(signals.begin(), signals.end(), name) == signals.end()) return std::nullopt;
  return FileOnChange{.mode = FileOnChange::Mode::kSignal, .signal = std::string(name)};
}

}  // namespace bdcoord::policy
