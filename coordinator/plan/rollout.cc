#include "coordinator/plan/rollout.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "policy/spec_hash.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::Rollout;
using bdcoord::v1::RolloutStep;
using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp Stamp(absl::Time time) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
}

absl::Time TimeOf(const google::protobuf::Timestamp& stamp) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(stamp));
}

absl::Duration DurationOf(const google::protobuf::Duration& duration) {
  return absl::Microseconds(TimeUtil::DurationToMicroseconds(duration));
}

// Whether the instance reports the new spec and is as ready as its service can say.
bool ReadyWith(const bdcoord::v1::InstanceStatus& status, const std::string& hash,
               const RollingPolicy& policy) {
  return status.spec_hash() == hash && status.state() == bdcoord::v1::INSTANCE_STATE_RUNNING &&
         (status.ready() || !policy.has_probe);
}

// Moves the updating step on by its instance's status; whether it changed.
bool UpdateStep(const bdcoord::v1::InstanceStatus* status, const std::string& hash,
                const RollingPolicy& policy, absl::Time now, RolloutStep* step,
                RolloutAdvance* advance) {
  if (hash.empty()) return false;
  auto fail = [&](std::string message) {
    step->set_phase(RolloutStep::PHASE_FAILED);
    step->set_message(std::move(message));
    step->clear_ready_since();
    advance->events.push_back({step->instance(), "rollout-failed",
                               absl::StrCat("the new spec failed: ", step->message())});
    return true;
  };
  if (status != nullptr && status->spec_hash() == hash &&
      status->state() == bdcoord::v1::INSTANCE_STATE_FAILED) {
    return fail(status->message().empty() ? "failed" : status->message());
  }
  if (status == nullptr || !ReadyWith(*status, hash, policy)) {
    // Not waited for forever: a host that went down (no status at all), an image that never
    // comes, a probe that never passes.
    if (step->has_released_at()) {
      const absl::Time deadline = TimeOf(step->released_at()) + policy.progress_deadline;
      if (now >= deadline) {
        return fail(absl::StrCat("not ready within ",
                                 absl::FormatDuration(policy.progress_deadline),
                                 " of its release (update.progress_deadline)"));
      }
      advance->recheck_at = std::min(advance->recheck_at, deadline);
    }
    if (status == nullptr || !step->has_ready_since()) return false;
    step->clear_ready_since();  // min_healthy counts again from the next time it is ready
    return true;
  }
  bool changed = false;
  if (!step->has_ready_since()) {
    *step->mutable_ready_since() = Stamp(now);
    changed = true;
  }
  if (const absl::Time healthy_at = TimeOf(step->ready_since()) + policy.min_healthy;
      now < healthy_at) {
    advance->recheck_at = std::min(advance->recheck_at, healthy_at);
  } else {
    step->set_phase(RolloutStep::PHASE_DONE);
    advance->events.push_back(
        {step->instance(), "rollout-updated",
         policy.has_probe ? "runs the new spec and is ready" : "runs the new spec"});
    changed = true;
  }
  return changed;
}

}  // namespace

std::optional<RollingPolicy> RollingPolicyOf(const bdcoord::v1::Service& service) {
  // A run-once job that completed never runs again; one that did not is replaced at once.
  if (service.run_once() || (!service.has_update() && !service.has_ready())) return std::nullopt;
  RollingPolicy policy;
  policy.has_probe = service.has_ready();
  const bdcoord::v1::UpdatePolicy& update = service.update();
  if (update.max_parallel() > 0) policy.max_parallel = update.max_parallel();
  if (update.has_min_healthy()) policy.min_healthy = DurationOf(update.min_healthy());
  if (update.has_progress_deadline()) {
    policy.progress_deadline = DurationOf(update.progress_deadline());
  }
  policy.revert = update.on_failure() == bdcoord::v1::UpdatePolicy::ON_FAILURE_REVERT;
  policy.leader_last = update.order() == bdcoord::v1::UpdatePolicy::ORDER_LEADER_LAST;
  return policy;
}

Rollout PlanRollout(const bdcoord::v1::ClusterSpec& spec, const ClusterVersion& before,
                    const Rollout& before_rollout, const ClusterVersion& after, absl::Time now) {
  const std::map<std::string, bdcoord::v1::DesiredInstance> pinned =
      PinnedInstances(before_rollout);
  Rollout rollout;
  for (const auto& service : spec.services()) {
    if (!RollingPolicyOf(service).has_value()) continue;
    // Placement order is by index within a service; a map is by name ("zk10" < "zk2").
    std::vector<std::pair<uint32_t, const std::string*>> names;
    for (const auto& [name, version] : after) {
      if (version.desired.service() == service.name()) {
        names.emplace_back(version.desired.index(), &name);
      }
    }
    std::sort(names.begin(), names.end());
    for (const auto& [index, name] : names) {
      const InstanceVersion& next = after.at(*name);
      auto old = before.find(*name);
      if (old == before.end() || old->second.host != next.host) continue;  // new or moved
      auto pin = pinned.find(*name);
      const bdcoord::v1::DesiredInstance& running =
          pin != pinned.end() ? pin->second : old->second.desired;
      if (policy::SpecHash(running) == policy::SpecHash(next.desired)) continue;
      RolloutStep* step = rollout.add_steps();
      step->set_instance(*name);
      step->set_service(service.name());
      step->set_phase(RolloutStep::PHASE_WAITING);
      *step->mutable_previous() = running;
      step->mutable_previous()->clear_hold();
      step->mutable_previous()->clear_completed();
    }
  }
  if (rollout.steps_size() == 0) {
    // A finished rollout stays for `status`; one halted or underway has nothing left to do.
    rollout = before_rollout.state() == Rollout::STATE_DONE ? before_rollout : Rollout();
  } else {
    rollout.set_state(Rollout::STATE_ROLLING);
    *rollout.mutable_started_at() = Stamp(now);
  }
  // Newer than anything stored before: a controller's write made against the old one fails.
  rollout.set_revision(before_rollout.revision() + 1);
  return rollout;
}

std::map<std::string, bdcoord::v1::DesiredInstance> PinnedInstances(const Rollout& rollout) {
  std::map<std::string, bdcoord::v1::DesiredInstance> pinned;
  for (const RolloutStep& step : rollout.steps()) {
    if (step.phase() == RolloutStep::PHASE_WAITING) pinned[step.instance()] = step.previous();
  }
  return pinned;
}

namespace {

std::map<std::string, RollingPolicy> PoliciesOf(const bdcoord::v1::ClusterSpec& spec) {
  std::map<std::string, RollingPolicy> policies;
  for (const auto& service : spec.services()) {
    // A service that no longer rolls (its block removed meanwhile) goes one at a time.
    policies[service.name()] = RollingPolicyOf(service).value_or(RollingPolicy());
  }
  return policies;
}

// The steps of the service whose turn it is (every step of the earlier services done), as
// [begin, end) into rollout.steps; begin == end when every step is done.
std::pair<int, int> CurrentService(const Rollout& rollout) {
  for (int begin = 0; begin < rollout.steps_size();) {
    int end = begin;
    bool done = true;
    while (end < rollout.steps_size() &&
           rollout.steps(end).service() == rollout.steps(begin).service()) {
      done = done && rollout.steps(end).phase() == RolloutStep::PHASE_DONE;
      ++end;
    }
    if (!done) return {begin, end};
    begin = end;
  }
  return {rollout.steps_size(), rollout.steps_size()};
}

// Its waiting steps in the order they go (leader_last: the leaders after the others), and how
// many more may go now.
std::vector<int> ReleaseOrder(const Rollout& rollout, std::pair<int, int> range,
                              const RollingPolicy& policy, const std::set<std::string>& leaders,
                              uint32_t* free_slots) {
  uint32_t in_flight = 0;
  std::vector<int> waiting, last;
  for (int i = range.first; i < range.second; ++i) {
    const RolloutStep& step = rollout.steps(i);
    in_flight += step.phase() == RolloutStep::PHASE_UPDATING;
    if (step.phase() != RolloutStep::PHASE_WAITING) continue;
    (policy.leader_last && leaders.contains(step.instance()) ? last : waiting).push_back(i);
  }
  waiting.insert(waiting.end(), last.begin(), last.end());
  *free_slots = policy.max_parallel > in_flight ? policy.max_parallel - in_flight : 0;
  return waiting;
}

}  // namespace

RolloutAdvance AdvanceRollout(const bdcoord::v1::ClusterSpec& spec,
                              const std::map<std::string, std::string>& target_hash,
                              const std::map<std::string, bdcoord::v1::InstanceStatus>& statuses,
                              const std::set<std::string>* leaders, absl::Time now,
                              Rollout* rollout) {
  RolloutAdvance advance;
  if (!RolloutUnderway(*rollout)) return advance;
  std::map<std::string, RollingPolicy> policies = PoliciesOf(spec);
  auto policy_of = [&](const RolloutStep& step) -> const RollingPolicy& {
    return policies[step.service()];
  };

  const RolloutStep* failed = nullptr;
  for (RolloutStep& step : *rollout->mutable_steps()) {
    if (step.phase() == RolloutStep::PHASE_UPDATING) {
      auto status = statuses.find(step.instance());
      auto hash = target_hash.find(step.instance());
      advance.changed |= UpdateStep(status == statuses.end() ? nullptr : &status->second,
                                    hash == target_hash.end() ? "" : hash->second, policy_of(step),
                                    now, &step, &advance);
    }
    if (step.phase() == RolloutStep::PHASE_FAILED && failed == nullptr) failed = &step;
  }
  if (failed != nullptr && rollout->state() == Rollout::STATE_ROLLING) {
    rollout->set_state(Rollout::STATE_HALTED);
    *rollout->mutable_finished_at() = Stamp(now);
    rollout->set_message(absl::StrCat("instance ", failed->instance(),
                                      " failed with the new spec: ", failed->message()));
    advance.revert_requested = policy_of(*failed).revert && !rollout->undo();
    advance.events.push_back({"", "rollout-halted", rollout->message()});
    advance.changed = true;
    return advance;
  }
  if (rollout->state() != Rollout::STATE_ROLLING) return advance;

  // Services one after another, in the order of the steps (spec order).
  const std::pair<int, int> range = CurrentService(*rollout);
  if (range.first == range.second) {
    rollout->set_state(Rollout::STATE_DONE);
    *rollout->mutable_finished_at() = Stamp(now);
    advance.events.push_back(
        {"", "rollout-done", absl::StrCat(rollout->steps_size(), " instances updated")});
    advance.changed = true;
    return advance;
  }
  const RollingPolicy& policy = policy_of(rollout->steps(range.first));
  static const std::set<std::string> kNone;
  uint32_t free_slots = 0;
  const std::vector<int> order =
      ReleaseOrder(*rollout, range, policy, leaders == nullptr ? kNone : *leaders, &free_slots);
  if (policy.leader_last && leaders == nullptr && free_slots > 0 && order.size() > 1) {
    for (int i : order) advance.probe_leaders.push_back(rollout->steps(i).instance());
    return advance;  // which one is the leader decides which goes
  }
  for (int i : order) {
    if (free_slots == 0) break;
    --free_slots;
    RolloutStep& step = *rollout->mutable_steps(i);
    step.set_phase(RolloutStep::PHASE_UPDATING);
    *step.mutable_released_at() = Stamp(now);
    advance.events.push_back({step.instance(), "rollout-step",
                              leaders != nullptr && leaders->contains(step.instance())
                                  ? "replacing the leader with the new spec, last"
                                  : "replacing it with the new spec"});
    advance.changed = true;
  }
  return advance;
}

Rollout RolloutForReply(const Rollout& rollout) {
  Rollout reply = rollout;
  for (RolloutStep& step : *reply.mutable_steps()) step.clear_previous();
  return reply;
}

bool RolloutUnderway(const Rollout& rollout) {
  return rollout.state() == Rollout::STATE_ROLLING || rollout.state() == Rollout::STATE_PAUSED;
}

}  // namespace bdcoord::coordinator
