#ifndef BDCOORD_COORDINATOR_PLAN_ROLLOUT_H_
#define BDCOORD_COORDINATOR_PLAN_ROLLOUT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bdcoord/v1/agent.pb.h"
#include "bdcoord/v1/cluster.pb.h"
#include "bdcoord/v1/spec.pb.h"

namespace bdcoord::coordinator {

// How the changed instances of one service are replaced, defaults applied.
struct RollingPolicy {
  uint32_t max_parallel = 1;
  absl::Duration min_healthy = absl::ZeroDuration();
  bool revert = false;       // on_failure: revert
  bool has_probe = false;    // ready means its probe passed; without one, running
  bool leader_last = false;  // its leader (by its leader probe) is replaced last
  // A released step not ready with the new spec within this fails.
  absl::Duration progress_deadline = absl::Minutes(10);
};

// The service's rolling policy; nullopt when its changed instances are replaced at once (no
// `update` block and no readiness probe).
std::optional<RollingPolicy> RollingPolicyOf(const bdcoord::v1::Service& service);

// What every instance of one version of a cluster runs: placed where, with which spec.
struct InstanceVersion {
  std::string host;
  bdcoord::v1::DesiredInstance desired;
};
using ClusterVersion = std::map<std::string, InstanceVersion>;  // by instance name

// The rollout that moving a cluster from `before` (with `before_rollout`: its instances still
// waiting keep running their previous spec) to `after` makes: a step, waiting, for every instance
// of a service that rolls (per `spec`, the new one) that stays on its host and whose spec
// changes; per service in spec order, by index. Instances that are new, moved or of services that
// do not roll are replaced at once and are not steps. With no step: `before_rollout` when it is
// finished (kept for `status`), else none. Pure.
bdcoord::v1::Rollout PlanRollout(const bdcoord::v1::ClusterSpec& spec, const ClusterVersion& before,
                                 const bdcoord::v1::Rollout& before_rollout,
                                 const ClusterVersion& after, absl::Time now);

// The instances a rollout holds on their previous spec (its waiting steps), by name.
std::map<std::string, bdcoord::v1::DesiredInstance> PinnedInstances(
    const bdcoord::v1::Rollout& rollout);

// What AdvanceRollout did, for events.
struct RolloutEvent {
  std::string instance;  // empty for the rollout as a whole
  std::string kind;      // rollout-step, rollout-updated, rollout-halted, rollout-done
  std::string message;
};

struct RolloutAdvance {
  std::vector<RolloutEvent> events;
  bool changed = false;           // the rollout must be stored again
  bool revert_requested = false;  // it halted on a service whose on_failure is revert
  // When a step ready since less than min_healthy will have been ready long enough: the
  // controller looks again then (InfiniteFuture: nothing to wait for).
  absl::Time recheck_at = absl::InfiniteFuture();
  // A leader_last service is to release one of these (its turn, a free slot, more than one
  // left) and `leaders` was not given: run their leader probe, then call again with the result.
  std::vector<std::string> probe_leaders;
};

// One step of the controller: updating steps whose instance reports the new spec (`target_hash`
// by instance) ready for its service's min_healthy become done, or failed when it reports FAILED
// or is not ready within its service's progress_deadline of its release (the rollout halts); then,
// while rolling, each service releases waiting steps up to its max_parallel, the services one after
// another in spec order (a later service waits until every step of the earlier ones is done); a
// leader_last service releases the instances in `leaders` (whose leader probe passed) only when no
// other is waiting, and nothing while `leaders` is null (see probe_leaders). Every step done: the
// rollout is done. Pure; `now` is given.
RolloutAdvance AdvanceRollout(const bdcoord::v1::ClusterSpec& spec,
                              const std::map<std::string, std::string>& target_hash,
                              const std::map<std::string, bdcoord::v1::InstanceStatus>& statuses,
                              const std::set<std::string>* leaders, absl::Time now,
                              bdcoord::v1::Rollout* rollout);

// The rollout as replies show it: without the previous specs.
bdcoord::v1::Rollout RolloutForReply(const bdcoord::v1::Rollout& rollout);

// Whether the rollout still has steps to take (rolling or paused).
bool RolloutUnderway(const bdcoord::v1::Rollout& rollout);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLAN_ROLLOUT_H_
