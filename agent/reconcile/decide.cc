#include "agent/reconcile/decide.h"

#include <algorithm>
#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "agent/docker/labels.h"
#include "policy/spec_hash.h"

namespace bdcoord::agent {

absl::Duration FenceOf(const bdcoord::v1::DesiredInstance& instance) {
  if (!instance.has_fence_after()) return absl::InfiniteDuration();
  const absl::Duration fence = absl::Seconds(instance.fence_after().seconds()) +
                               absl::Nanoseconds(instance.fence_after().nanos());
  return fence > absl::ZeroDuration() ? fence : absl::InfiniteDuration();
}

bool Gated(const ContainerInfo& container) { return container.labels.contains(kGateLabel); }

std::string SpecHashOf(const bdcoord::v1::DesiredInstance& instance) {
  return instance.spec_hash().empty() ? policy::SpecHash(instance) : instance.spec_hash();
}

namespace {

std::string LabelOf(const ContainerInfo& container, const std::string& key) {
  auto label = container.labels.find(key);
  return label == container.labels.end() ? "" : label->second;
}

InstanceDecision DecideInstance(const bdcoord::v1::DesiredInstance& instance,
                                const std::vector<ContainerInfo>& managed, bool fenced,
                                bool unfenced) {
  InstanceDecision decision;
  decision.spec_hash = SpecHashOf(instance);
  for (const ContainerInfo& container : managed) {
    if (LabelOf(container, kInstanceLabel) == instance.name()) decision.existing = container;
  }
  if (instance.completed()) {
    decision.action = InstanceAction::kReportCompleted;
  } else if (fenced) {
    decision.action = InstanceAction::kFence;
  } else if (!decision.existing) {
    decision.action = InstanceAction::kCreate;
  } else if (LabelOf(*decision.existing, kSpecHashLabel) != decision.spec_hash) {
    decision.action = InstanceAction::kReplace;
  } else {
    const bool stopped_by_fence = unfenced && decision.existing->state == "exited";
    // A gated container starts whether held or not: held, it runs only bdgate.
    decision.action = (decision.existing->state == "created" || stopped_by_fence) &&
                              (!instance.hold() || Gated(*decision.existing))
                          ? InstanceAction::kStart
                          : InstanceAction::kKeep;
  }
  return decision;
}

}  // namespace

Decision Decide(const bdcoord::v1::DesiredState& desired, const std::vector<ContainerInfo>& managed,
                const std::set<std::string>& fenced, const std::set<std::string>& unfenced) {
  Decision decision;
  absl::flat_hash_set<std::string> wanted;
  for (const auto& instance : desired.instances()) {
    decision.instances.push_back(DecideInstance(instance, managed, fenced.contains(instance.name()),
                                                unfenced.contains(instance.name())));
    wanted.insert(instance.name());
  }
  for (const ContainerInfo& container : managed) {
    auto label = container.labels.find(kInstanceLabel);
    if (label != container.labels.end() && !wanted.contains(label->second)) {
      decision.remove.push_back(container);
    }
  }
  return decision;
}

std::set<std::string> FencedNow(const bdcoord::v1::DesiredState& desired, absl::Duration lost_for) {
  std::set<std::string> fenced;
  for (const auto& instance : desired.instances()) {
    if (!instance.completed() && !instance.run_once() && FenceOf(instance) <= lost_for) {
      fenced.insert(instance.name());
    }
  }
  return fenced;
}

absl::Duration ShortestFence(const bdcoord::v1::DesiredState& desired) {
  absl::Duration shortest = absl::InfiniteDuration();
  for (const auto& instance : desired.instances()) shortest = std::min(shortest, FenceOf(instance));
  return shortest;
}

namespace {

bool PolicyRestarts(const bdcoord::v1::RestartPolicy& policy, int exit_code) {
  switch (policy.mode()) {
    case bdcoord::v1::RestartPolicy::MODE_ALWAYS:
    case bdcoord::v1::RestartPolicy::MODE_UNLESS_STOPPED:
      return true;
    case bdcoord::v1::RestartPolicy::MODE_ON_FAILURE:
      return exit_code != 0;
    default:
      return false;
  }
}

// The count starts afresh once the agent's last restart is old enough.
RestartHistory Current(const RestartHistory& history, absl::Time now) {
  if (history.last_start == absl::InfinitePast() || now - history.last_start < kRestartCountReset) {
    return history;
  }
  return RestartHistory{.docker_baseline = history.docker_baseline};
}

}  // namespace

RestartDecision DecideRestart(const bdcoord::v1::DesiredInstance& instance,
                              const ContainerInfo& container, const RestartHistory& history,
                              absl::Time now) {
  const RestartHistory current = Current(history, now);
  RestartDecision decision;
  decision.restarts =
      current.restarts + std::max(0, container.restart_count - current.docker_baseline);
  const bool exited =
      !container.running && (container.state == "exited" || container.state == "dead");
  const bool crashing = container.state == "restarting" || (exited && container.exit_code != 0);
  const bool restartable =
      exited && !instance.run_once() && PolicyRestarts(instance.restart(), container.exit_code);
  if ((crashing || restartable) && decision.restarts >= kCrashLoopRestarts) {
    decision.action = RestartAction::kGiveUp;
  } else if (restartable) {
    decision.due = current.last_start + current.backoff;
    decision.action = now < decision.due ? RestartAction::kWait : RestartAction::kRestart;
  }
  return decision;
}

RestartHistory AfterRestart(const RestartHistory& history, const RestartDecision& decision,
                            int docker_restart_count, absl::Time now) {
  RestartHistory next;
  next.restarts = decision.restarts + 1;
  next.docker_baseline = docker_restart_count;
  next.last_start = now;
  const RestartHistory current = Current(history, now);
  next.backoff = current.backoff == absl::ZeroDuration()
                     ? kFirstRestartBackoff
                     : std::min(current.backoff * 2, kMaxRestartBackoff);
  return next;
}

}  // namespace bdcoord::agent
