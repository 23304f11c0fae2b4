#ifndef BDCOORD_COORDINATOR_OPS_CLUSTER_OPS_H_
#define BDCOORD_COORDINATOR_OPS_CLUSTER_OPS_H_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bdcoord/v1/cluster.pb.h"
#include "coordinator/ops/agent_sessions.h"
#include "coordinator/ops/controller.h"
#include "coordinator/ops/image_push.h"
#include "coordinator/plan/planner.h"
#include "coordinator/plan/reschedule.h"
#include "coordinator/spec/host_policy.h"
#include "coordinator/spec/spec_loader.h"
#include "coordinator/state/event_bus.h"
#include "coordinator/state/inventory.h"
#include "coordinator/state/store.h"

namespace bdcoord::coordinator {

// A spec as a client sends it.
struct SpecText {
  std::string file_name;  // for messages
  std::string yaml;
};

// The application layer behind ClusterService: what the public API does, in plain C++ over the
// store, the live inventory, the agents (AgentSessions) and the controller. Place, Apply, Scale
// and DrainHost plan on the live inventory (drained and down hosts left out, current placements
// kept, other clusters' IPs taken); Apply, Scale, DrainHost and Down change the store in one
// operation each and wake the controller, which brings the agents there.
//
// Errors are absl::Status. An invalid spec is InvalidArgument and an impossible placement
// FailedPrecondition; both carry their details for tools as a payload (see kDetailTypeUrlPrefix):
// a bdcoord.v1.SpecErrors or a bdcoord.v1.PlacementFailures.
class ClusterOps {
 public:
  // Every collaborator is required and must outlive this. `policy` is what specs may do to the
  // hosts (deny by default).
  ClusterOps(Inventory& inventory, Store& store, AgentSessions& agents, EventBus& events,
             ClusterController& controller, std::function<absl::Time()> now, HostPolicy policy = {},
             const ControllerMetrics* metrics = nullptr);

  // Validates and plans the spec on the live hosts.
  absl::StatusOr<Plan> PlanLive(const SpecText& spec);
  // Validates, plans and stores the spec; the cluster's name.
  absl::StatusOr<std::string> Apply(const SpecText& spec);
  // Re-plans the cluster (`requested`, or the only one) with `count` instances of the service
  // and stores it; the cluster's name.
  absl::StatusOr<std::string> Scale(const std::string& requested, const std::string& service,
                                    uint32_t count);

  struct DrainResult {
    uint32_t moved = 0;                                 // instances that left the host
    std::vector<std::string> clusters;                  // the clusters re-planned
    std::vector<bdcoord::v1::MovedInstance> instances;  // the moved ones, with their new hosts
  };
  // Marks the host drained and moves every instance off it, all or nothing; with `undo`, takes
  // the drain back (nothing moves back).
  absl::StatusOr<DrainResult> DrainHost(const std::string& host, bool undo);

  // Moves the instances `due` names off their lost hosts as DrainHost moves them (same names and
  // IPs, placed on the live hosts), while every other instance on those hosts stays placed there;
  // one store operation. The moved instances with their new hosts; FailedPrecondition, nothing
  // moved, when they do not fit elsewhere. Called by the controller's pass.
  absl::StatusOr<std::vector<bdcoord::v1::MovedInstance>> Reschedule(const std::string& cluster,
                                                                     const RescheduleDecision& due);

  struct DownResult {
    uint32_t removed = 0;
    std::vector<std::string> disconnected_hosts;  // ran some of it, not connected now
  };
  // Deletes the cluster from the store, then waits until no connected host runs any of it, or
  // `cancelled` says so (Cancelled then).
  absl::StatusOr<DownResult> Down(const std::string& requested,
                                  const std::function<bool()>& cancelled);

  // The cluster's progress now; `done` only once the controller has brought this version to
  // every host and every service is done or one failed.
  absl::StatusOr<bdcoord::v1::ApplyProgress> Progress(const std::string& cluster);
  // Hands every new progress to `write` until done. Aborted when the cluster is taken down
  // meanwhile, Cancelled when `write` returns false or `cancelled` says so.
  absl::Status FollowProgress(const std::string& cluster,
                              const std::function<bool(const bdcoord::v1::ApplyProgress&)>& write,
                              const std::function<bool()>& cancelled);

  // Pauses or resumes the cluster's rollout (`requested`, or the only cluster), or undoes it:
  // the spec applied before comes back as a rollout of its own. The cluster's name.
  // FailedPrecondition when there is nothing to pause, resume or undo.
  absl::StatusOr<std::string> ChangeRollout(const std::string& requested,
                                            bdcoord::v1::ChangeRolloutRequest::Action action);
  // Brings back the spec applied before the cluster's current one (rolling, the rollout marked
  // undo with `why`, default: by `bdcoord rollout undo`); the cluster's name.
  absl::StatusOr<std::string> Undo(const std::string& cluster, std::string why);

  // A restarted coordinator's inventory: every host that a placed instance is on enters it as
  // down, counted lost from now (its last heartbeat before the restart is not known), with the
  // facts it last said hello with; the controller then reschedules off those that never come
  // back as off any lost host. Call before serving. The hosts restored, sorted.
  absl::StatusOr<std::vector<std::string>> RestoreHosts();
  // An agent said hello: its facts are stored for RestoreHosts (only when they changed).
  absl::Status RememberHost(const std::string& name, const bdcoord::v1::HostFacts& facts);

  // Every host of the inventory with its drain flag and instance count.
  std::vector<bdcoord::v1::HostView> Hosts();
  // Removes from the inventory the hosts disconnected for at least `after` (by their last
  // heartbeat) that no placed instance of any cluster refers to; the store is read only when
  // there is such a host. Returns their names, sorted.
  std::vector<std::string> ForgetGoneHosts(absl::Duration after);
  // `requested` (every cluster when empty), each instance with its status; with `probe`, every
  // running instance's readiness probe runs on its host now.
  absl::StatusOr<std::vector<bdcoord::v1::ClusterStatus>> Status(const std::string& requested,
                                                                 bool probe);

  // `requested`, or the only applied cluster when it is empty.
  absl::StatusOr<std::string> ResolveCluster(const std::string& requested);

  // One container whose logs a client asked for.
  struct LogTarget {
    std::string instance;
    std::string host;
    std::string container;  // its ID when the agent reported one, else the instance's name
  };
  // The instance named `target`, else every instance of the service named so, each on a
  // connected host.
  absl::StatusOr<std::vector<LogTarget>> LogTargets(const std::string& requested_cluster,
                                                    const std::string& target);

  // Images (`bdcoord images`): a push of one archive, with the limits SetImagePushLimits set
  // (bdcoordd --max-image-size), and each host's images, asked of its agent now (those named,
  // else every connected host; errors as ImageHosts').
  std::unique_ptr<ImagePush> NewImagePush() {
    return std::make_unique<ImagePush>(inventory_, agents_, now_, image_push_limits_);
  }
  void SetImagePushLimits(ImagePushLimits limits) { image_push_limits_ = limits; }
  absl::StatusOr<std::vector<bdcoord::v1::HostImages>> HostImages(
      const google::protobuf::RepeatedPtrField<std::string>& hosts);

  // How often waits look whether their client went away.
  static constexpr absl::Duration kCancelCheckPeriod = absl::Milliseconds(100);
  static constexpr absl::Duration kProbeTimeout = absl::Seconds(5);

 private:
  // Plans on the live hosts minus `draining`. With `moving_off` (service -> lost hosts it
  // leaves), the lost hosts are listed too, so that only those services leave them.
  absl::StatusOr<Plan> PlanOn(
      const LoadedSpec& loaded, const std::string& file_name, const std::string& draining,
      const std::map<std::string, std::set<std::string>>* moving_off = nullptr);
  // Connected hosts that are not down or drained (`draining` counts as drained); `with_lost`:
  // also those not connected or down (not drained), as they last said hello.
  std::vector<bdcoord::v1::Host> LiveHosts(const bdcoord::v1::ClusterSpec& spec,
                                           const std::string& draining, bool with_lost = false);
  absl::StatusOr<AppliedCluster> FindCluster(const std::string& requested);
  // The cluster to store for `plan`; with `before` (the stored one), the rollout from it to this
  // and the spec to undo to.
  AppliedCluster Applied(const LoadedSpec& loaded, const SpecText& spec, const Plan& plan,
                         const AppliedCluster* before);
  // After a change is stored: wakes the controller and publishes `placed`.
  void Placed(const AppliedCluster& applied);
  void ProbeNow(const bdcoord::v1::ClusterSpec& spec, bdcoord::v1::ClusterStatus* cluster);

  Inventory& inventory_;
  Store& store_;
  AgentSessions& agents_;
  ImagePushLimits image_push_limits_;
  EventBus& events_;
  ClusterController& controller_;
  std::function<absl::Time()> now_;
  const HostPolicy policy_;
  const ControllerMetrics* metrics_;  // bdcoord_placement_duration_seconds; none when null
  absl::Mutex stored_facts_mu_;
  // host -> the facts the store has, so that a hello with the same facts writes nothing.
  std::map<std::string, bdcoord::v1::HostFacts> stored_facts_ ABSL_GUARDED_BY(stored_facts_mu_);
};

// Payloads of an error Status are keyed by this prefix and the detail's full proto name (as
// google.protobuf.Any type URLs), and their values are the serialized message.
inline constexpr char kDetailTypeUrlPrefix[] = "type.googleapis.com/";

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_OPS_CLUSTER_OPS_H_
