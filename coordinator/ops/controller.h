#ifndef BDCOORD_COORDINATOR_OPS_CONTROLLER_H_
#define BDCOORD_COORDINATOR_OPS_CONTROLLER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bdcoord/v1/agent.pb.h"
#include "bdcoord/v1/cluster.pb.h"
#include "bdcoord/v1/spec.pb.h"
#include "coordinator/ops/agent_sessions.h"
#include "coordinator/ops/controller_metrics.h"
#include "coordinator/plan/planner.h"
#include "coordinator/plan/reschedule.h"
#include "coordinator/render/desired_state.h"
#include "coordinator/state/event_bus.h"
#include "coordinator/state/inventory.h"
#include "coordinator/state/store.h"
#include "net/hosts_map.h"
#include "spdlog/spdlog.h"

namespace bdcoord::coordinator {

// Identifies one applied version (spec and placement) of a cluster.
std::string VersionKey(const bdcoord::v1::ClusterSpec& spec,
                       const bdcoord::v1::Placement& placement);

// The run-once instances of the cluster that ever completed, from the store.
std::set<std::string> CompletedInstances(Store& store, const bdcoord::v1::ClusterSpec& spec,
                                         const bdcoord::v1::Placement& placement);

// Keeps what the agents run in line with the store, in the background and from the store alone:
// every pass records the agents' status reports, releases services along depends_on, and sends
// each host its desired set of each cluster when that set changed or the host reconnected. So an
// apply does not depend on its client staying connected, and a restarted coordinator resumes
// where it was. Hosts still reporting instances of a cluster the store no longer has (taken
// down, or scaled or drained away while they were disconnected) are told to remove them.
// Reports are taken only when made against the desired state last sent (its generation).
class ClusterController {
 public:
  // `now` seeds the generations: distinct across coordinator restarts. `metrics`, when given,
  // outlives the controller; every pass sets its gauges.
  ClusterController(Inventory& inventory, AgentSessions& agents, Store& store,
                    std::shared_ptr<spdlog::logger> logger, std::function<absl::Time()> now,
                    absl::Duration period = absl::Milliseconds(200),
                    const ControllerMetrics* metrics = nullptr);
  ~ClusterController();  // stops the thread

  // Rollouts: each step is published on `events`; a rollout that halts on a service whose
  // on_failure is revert is handed to `revert` (cluster, why). Before Start.
  void SetRolloutHooks(EventBus* events,
                       std::function<void(const std::string&, const std::string&)> revert);

  // Host loss: each pass works out which instances leave a lost host now (DueReschedules) and
  // hands them to `reschedule` (ClusterOps::Reschedule: the cluster re-planned and stored, the
  // moved instances with their new hosts); each move is published as `rescheduled`. Before Start.
  using RescheduleFn = std::function<absl::StatusOr<std::vector<bdcoord::v1::MovedInstance>>(
      const std::string&, const RescheduleDecision&)>;
  void SetRescheduleHook(RescheduleFn reschedule);

  // Passes run only while `acting` says so (the coordinator leads; always without). Before Start.
  void SetActingGate(std::function<bool()> acting) { acting_ = std::move(acting); }

  void Start();  // passes every `period`, or at once after Wake()
  void Wake();
  void RunPass();  // one pass, on the caller's thread (tests)

  // How many passes have finished. Whatever a client follows (progress, removal) changes only
  // in a pass or is followed by one, so it waits for the next pass instead of polling.
  uint64_t Passes() const;
  // Waits until more than `seen` passes have finished or `timeout` passed; whether they had.
  bool AwaitPassAfter(uint64_t seen, absl::Duration timeout) const;

  // Whether no connected host reports instances of `cluster` any more, and which of the hosts
  // that ran it are not connected (they are cleared when they come back).
  struct Removal {
    bool done = false;
    std::set<std::string> disconnected;
  };
  Removal RemovalOf(const std::string& cluster, const std::set<std::string>& hosts) const;

  // Whether a pass has sent this version (spec and placement) of the cluster to every host of
  // the placement and recorded their reports on it (so the stored statuses describe what is
  // wanted now, not before).
  bool Settled(const std::string& cluster, const bdcoord::v1::ClusterSpec& spec,
               const bdcoord::v1::Placement& placement);

 private:
  absl::Time SyncAll();  // the pass itself; when the next one is due at the latest
  void SyncCluster(const std::string& cluster, const std::map<std::string, uint64_t>& connected,
                   const std::map<std::string, absl::Time>& lost);
  // Moves the cluster's instances that are due off their lost hosts; whether it did (the next
  // pass sends the new placement).
  bool RescheduleLost(const std::string& cluster, const RescheduleDecision& due)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pass_mu_);
  void ClearUnknown(const std::set<std::string>& clusters,
                    const std::map<std::string, uint64_t>& connected);
  // The hosts and the instances counted in this pass into the gauges; label sets of the last
  // pass that are gone (a cluster taken down, a state left) are removed.
  void PublishGauges(const std::vector<InventoryHost>& hosts);
  struct Rendered;
  // Sends the desired state of `cluster` that `build` makes unless the host already has exactly
  // that (in its current session), with the cluster's hosts map from `rendered` (null: none, the
  // cluster is gone) where it has instances: nothing of it when the host has this version, the
  // delta when it has the one before (and only that when nothing else changed: hosts_only), else
  // the whole map. `inputs` identifies what `build` reads (0: unknown): when it is the one of
  // what the host has, `build` is not called.
  void SendIfChanged(const std::string& host, uint64_t session, const std::string& cluster,
                     size_t inputs, absl::FunctionRef<bdcoord::v1::DesiredState()> build,
                     const Rendered* rendered);

  Inventory& inventory_;
  AgentSessions& agents_;
  Store& store_;
  std::shared_ptr<spdlog::logger> logger_;
  absl::Duration period_;

  absl::Mutex pass_mu_;  // one pass at a time
  struct Sent {
    uint64_t session = 0;
    // The hash of what was sent besides the generation and the hosts map (the state itself, with
    // the hosts file, was 750 KB per host at 20,000 instances; issue 13).
    size_t desired_hash = 0;
    size_t inputs = 0;            // what that state was built from (SendIfChanged's `inputs`)
    bool with_instances = false;  // it had some of the cluster's instances
    // The hosts map the host has, as far as this session's ordered stream goes (0: none sent);
    // whether it went as a delta; whether the host's report says it did not take it.
    uint64_t hosts_version = 0;
    bool hosts_delta = false;
    bool resync = false;
    uint64_t generation = 0;
    uint64_t recorded = 0;  // the generation whose report is in the store
  };
  std::map<std::pair<std::string, std::string>, Sent> sent_ ABSL_GUARDED_BY(pass_mu_);
  struct Rendered {
    std::string key;        // the spec and placement it was rendered from
    uint64_t revision = 0;  // distinct for each rendering in this controller's life
    Plan plan;
    std::map<std::string, HostShare> shares;         // each host's part of the plan
    std::map<std::string, std::string> target_hash;  // what each instance is to run, by name
    // The hosts map (a new version when its entries change), in its wire form, and the delta
    // from the version before (none after the first).
    net::HostsMap hosts;
    bdcoord::v1::HostsMap hosts_proto;
    std::optional<bdcoord::v1::HostsDelta> delta_proto;
  };
  // Moves the cluster's rollout on (stored, its steps published); false when it changed under
  // this pass (re-read next pass).
  bool AdvanceClusterRollout(AppliedCluster& applied, const Rendered& rendered,
                             const std::map<std::string, bdcoord::v1::InstanceStatus>& statuses)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pass_mu_);
  // A rollout that has just ended (done or halted) into bdcoord_rollout_duration_seconds.
  void ObserveRolloutEnd(const bdcoord::v1::Rollout& rollout);
  absl::Time next_pass_at_ ABSL_GUARDED_BY(pass_mu_) = absl::InfiniteFuture();
  // Which of `names` pass their service's leader probe, run now on their hosts.
  std::set<std::string> Leaders(const AppliedCluster& applied,
                                const std::vector<std::string>& names,
                                const std::map<std::string, bdcoord::v1::InstanceStatus>& statuses);
  static constexpr absl::Duration kLeaderProbeTimeout = absl::Seconds(5);
  EventBus* events_ = nullptr;
  std::function<void(const std::string&, const std::string&)> revert_;
  RescheduleFn reschedule_;
  std::function<bool()> acting_;
  // The last reschedule failure per cluster, said once (every pass would say it again).
  std::map<std::string, std::string> reschedule_failed_ ABSL_GUARDED_BY(pass_mu_);
  std::function<absl::Time()> now_;
  std::map<std::string, Rendered> rendered_ ABSL_GUARDED_BY(pass_mu_);
  uint64_t renders_ ABSL_GUARDED_BY(pass_mu_) = 0;
  uint64_t next_generation_ ABSL_GUARDED_BY(pass_mu_);
  uint64_t next_hosts_version_ ABSL_GUARDED_BY(pass_mu_);  // seeded like the generations
  const ControllerMetrics* metrics_;
  // Instances by cluster, service and state in this pass; those published by the last one.
  using InstanceLabels = std::map<std::string, std::string>;
  std::map<InstanceLabels, int> instances_ ABSL_GUARDED_BY(pass_mu_);
  std::set<InstanceLabels> published_instances_ ABSL_GUARDED_BY(pass_mu_);

  mutable absl::Mutex mu_;
  uint64_t passes_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time recheck_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::thread thread_;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_OPS_CONTROLLER_H_
