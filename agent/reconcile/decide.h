#ifndef BDCOORD_AGENT_RECONCILE_DECIDE_H_
#define BDCOORD_AGENT_RECONCILE_DECIDE_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agent/docker/docker_client.h"
#include "bdcoord/v1/agent.pb.h"
#include "policy/spec_hash.h"

namespace bdcoord::agent {

using policy::SpecHash;  // the label its container gets

// What a pass does with one desired instance, given the managed containers of its cluster.
enum class InstanceAction {
  kReportCompleted,  // a run-once job that did its work: report it, never run it again
  kKeep,             // its container has its spec (held: perhaps only created): report it
  kStart,   // its container has its spec but was only created (held: only behind bdgate): start it,
            // then as kKeep
  kCreate,  // no container: create and start one (held: create only)
  kReplace,  // its container has another spec: remove it, then as kCreate
  // Fenced: the agent has not heard from the coordinator for the instance's fence_after, which
  // may be starting it elsewhere with the same IP: its container is stopped (not removed) and
  // nothing is created or started.
  kFence,
};

struct InstanceDecision {
  InstanceAction action = InstanceAction::kCreate;
  std::string spec_hash;                  // the label its container has or gets
  std::optional<ContainerInfo> existing;  // its current container
};

struct Decision {
  std::vector<InstanceDecision> instances;  // one per desired instance, in order
  std::vector<ContainerInfo> remove;        // managed containers that no instance wants
};

// The pure diff of one cluster on this host: desired instances against the containers that carry
// the cluster's label (found by label, never by name). No I/O: the reconciler acts on it.
// `fenced`: the instances to fence now (FencedNow); `unfenced`: those fenced by an earlier pass
// and not now, whose stopped container is started again (kStart) when it still has its spec.
Decision Decide(const bdcoord::v1::DesiredState& desired, const std::vector<ContainerInfo>& managed,
                const std::set<std::string>& fenced = {},
                const std::set<std::string>& unfenced = {});

// The instances of `desired` to fence when the agent has not heard from the coordinator for
// `lost_for`: those whose fence_after is set and at most `lost_for`. Pure.
std::set<std::string> FencedNow(const bdcoord::v1::DesiredState& desired, absl::Duration lost_for);

// Whether the container's first process is bdgate (kGateLabel): a held instance's, started early.
bool Gated(const ContainerInfo& container);

// The spec hash the instance's container has or gets: the coordinator's when it set one, else
// the agent's own (policy::SpecHash).
std::string SpecHashOf(const bdcoord::v1::DesiredInstance& instance);

// The instance's fence_after; absl::InfiniteDuration() when it has none.
absl::Duration FenceOf(const bdcoord::v1::DesiredInstance& instance);

// The shortest fence_after of `desired`'s instances; absl::InfiniteDuration() when none has one.
absl::Duration ShortestFence(const bdcoord::v1::DesiredState& desired);

// A container restarted this often (by Docker's restart policy and by the agent) and that is still
// failing is reported failed and stopped, whatever its restart policy: crash loops are surfaced,
// not retried forever.
inline constexpr int kCrashLoopRestarts = 5;
// The agent's own restarts of one container wait 1 s, 2 s, 4 s... at most 30 s after the previous
// one; a container the agent restarted 10 minutes ago or more starts a new count.
inline constexpr absl::Duration kFirstRestartBackoff = absl::Seconds(1);
inline constexpr absl::Duration kMaxRestartBackoff = absl::Seconds(30);
inline constexpr absl::Duration kRestartCountReset = absl::Minutes(10);

// What the agent remembers of its restarts of one container. It has to count them itself: a start
// through the API resets Docker's RestartCount to 0 (dockerd 20.10, checked on the testbed).
struct RestartHistory {
  int restarts = 0;         // in all (Docker's and the agent's) up to the agent's last start
  int docker_baseline = 0;  // Docker's RestartCount just after that start
  absl::Time last_start = absl::InfinitePast();
  absl::Duration backoff = absl::ZeroDuration();  // from last_start to the next agent restart
};

enum class RestartAction {
  kNone,     // running, or its policy leaves it exited: report it as it is
  kWait,     // restart it once its backoff has passed
  kRestart,  // start it again now
  kGiveUp,   // a crash loop: stop it and report it failed
};

struct RestartDecision {
  RestartAction action = RestartAction::kNone;
  int restarts = 0;                         // so far, Docker's and the agent's
  absl::Time due = absl::InfiniteFuture();  // kWait: when the restart is due
};

// Whether and when the agent starts an exited container of a desired instance again: Docker gives
// up on `docker kill`, `docker stop` (manual stops) and on-failure:N, the desired state does not.
// Follows the instance's policy (always, unless-stopped: any exit; on-failure: a non-zero code;
// no: never; run-once jobs: never). `container` is an inspect; `now` the agent's clock.
RestartDecision DecideRestart(const bdcoord::v1::DesiredInstance& instance,
                              const ContainerInfo& container, const RestartHistory& history,
                              absl::Time now);

// The history after the agent started the container at `now` for `decision`;
// `docker_restart_count` is Docker's count just after that start.
RestartHistory AfterRestart(const RestartHistory& history, const RestartDecision& decision,
                            int docker_restart_count, absl::Time now);

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_RECONCILE_DECIDE_H_
