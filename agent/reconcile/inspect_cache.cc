#include "agent/reconcile/inspect_cache.h"

#include <array>

#include "absl/strings/match.h"

namespace bdcoord::agent {
namespace {

// Container events that leave what an inspect shows as it was (a probe's exec, a log reader's
// attach, the agent reading /etc/passwd); any other action, known or not, forgets.
bool ChangesNothingInspected(absl::string_view action) {
  static constexpr std::array<absl::string_view, 9> kQuiet = {
      "attach", "detach", "resize", "archive-path", "extract-to-dir",
      "top",    "export", "copy",   "commit"};
  if (absl::StartsWith(action, "exec_") || absl::StartsWith(action, "health_status")) return true;
  for (absl::string_view quiet : kQuiet) {
    if (action == quiet) return true;
  }
  return false;
}

}  // namespace

std::optional<ContainerInfo> InspectCache::Get(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  if (!live_) return std::nullopt;
  auto it = seen_.find(id);
  if (it == seen_.end()) return std::nullopt;
  return it->second;
}

InspectCache::Ticket InspectCache::Before() const {
  absl::MutexLock lock(&mu_);
  return sequence_;
}

void InspectCache::Put(Ticket before, const ContainerInfo& info) {
  absl::MutexLock lock(&mu_);
  if (!live_ || live_since_ > before) return;
  if (auto changed = changed_at_.find(info.id); changed != changed_at_.end()) {
    if (changed->second > before) return;
  }
  seen_[info.id] = info;
}

void InspectCache::OnEvent(const std::string& id, absl::string_view action) {
  absl::MutexLock lock(&mu_);
  if (!live_) {
    // Changes before this cannot spoil an inspect begun after it: forget them.
    live_ = true;
    live_since_ = ++sequence_;
    seen_.clear();
    changed_at_.clear();
  }
  if (action == "destroy") {  // gone for good: nothing will ask about it again
    changed_at_.erase(id);
    seen_.erase(id);
  } else if (!ChangesNothingInspected(action)) {
    ChangedLocked(id);
  }
}

void InspectCache::Changed(const std::string& id) {
  absl::MutexLock lock(&mu_);
  ChangedLocked(id);
}

void InspectCache::ChangedLocked(const std::string& id) {
  if (!live_) return;  // nothing is kept, and going live forgets the changes before it
  changed_at_[id] = ++sequence_;
  seen_.erase(id);
}

void InspectCache::StreamLost() {
  absl::MutexLock lock(&mu_);
  live_ = false;
  seen_.clear();
}

}  // namespace bdcoord::agent
