#ifndef BDCOORD_AGENT_RECONCILE_RECONCILER_H_
#define BDCOORD_AGENT_RECONCILE_RECONCILER_H_

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/docker/docker_client.h"
#include "agent/docker/labels.h"
#include "agent/probes/prober.h"
#include "agent/reconcile/container_user.h"
#include "agent/reconcile/decide.h"
#include "agent/reconcile/host_files.h"
#include "agent/reconcile/inspect_cache.h"
#include "bdcoord/v1/agent.pb.h"
#include "net/arp_prober.h"
#include "net/link_manager.h"
#include "policy/host_policy.h"

namespace bdcoord::agent {

struct ReconcilerOptions {
  int parallelism = 4;  // instances worked on at once (dockerd and runc are CPU-bound)
  // A container's grace between SIGTERM and SIGKILL when its instance sets none.
  int stop_timeout_seconds = 10;
  int failure_log_lines = 20;  // last log lines reported for a failed instance
  // How long a network found as wanted (or a prune that left nothing behind) is trusted before
  // Docker is asked again; a failed create asks again at once.
  absl::Duration network_recheck = absl::Seconds(30);
  // Readiness probe defaults when the spec gives none: a check is bounded by the timeout, retries
  // come on a short backoff up to the interval, and an instance still not ready retries x
  // interval after its first check is FAILED (probe_schedule.h).
  absl::Duration probe_timeout = absl::Seconds(1);
  absl::Duration probe_interval = absl::Seconds(2);
  uint32_t probe_retries = 30;
  // The clock: required (main wires absl::Now; tests a FakeClock, so they need no sleeps).
  std::function<absl::Time()> now;
  // Runs the readiness checks; null: the real probes (DockerProber) over the reconciler's Docker.
  Prober* prober = nullptr;
  // This host's own policy (bdagent --allow-root, --allow-host-path), enforced again whatever
  // the coordinator allowed: an instance that breaches it is refused before anything is made.
  policy::HostPolicy policy = {};
  std::string host_name = "this host";  // in the refusals' messages
  // Where the instances' files and each cluster's hosts map are kept on this host, bind-mounted
  // into the containers (bdagent --state-dir): STATE/clusters/CLUSTER/{hosts,instances/NAME/}.
  std::string state_dir = "/var/lib/bdagent";
  // Duplicate address detection (null: none): before an instance of a service with reschedule
  // starts on this host for the first time (it may have been moved off a lost host that still
  // runs it), its IP is probed on its network's parent, all such instances of a pass at once,
  // for `address_probe_wait`; one whose IP answers is not started (FAILED, retried next pass).
  net::AddressProber* address_prober = nullptr;
  absl::Duration address_probe_wait = absl::Seconds(1);
  // bdgate on this host (bdagent --gate). Set: a held instance's container is created and
  // started at once behind it, and its program runs the moment the instance is released (a
  // write to its release file) instead of after a Docker start then. Empty: a held instance's
  // container is only created, and started when released.
  std::string gate_binary = {};
};

// An instance's failure when its image is not on this host: names the image and how to get it
// there without a registry.
std::string MissingImageMessage(const std::string& image);

// What a pass did with one desired instance.
struct InstanceOutcome {
  InstanceAction action = InstanceAction::kKeep;  // what was decided
  bool created = false;   // a new container was created and did not fail (not for a replacement)
  bool replaced = false;  // the old container was removed to make way for a new one
  bool hosts_file_rewritten = false;
  // Files with on_change signal or none (their content is not in the spec hash) rewritten in
  // place in the kept container, by path in the container; and the signals sent to it for them.
  std::vector<std::string> files_rewritten;
  std::vector<std::string> signals_sent;
  // Held, its container started behind its gate and not released: Reconciler::ReleaseEarly can
  // release it the moment a desired state lifts its hold.
  bool behind_gate = false;
  // False: the pass stopped before this instance (PassHooks::interrupted); its status says
  // nothing, the next pass takes it up.
  bool reached = true;
};

// What the agent hears from a pass while it runs.
struct PassHooks {
  // Each instance's status as soon as it is done (called from the pass's workers; `index` in
  // the desired state's instances), so that dependents need not wait for the whole pass.
  std::function<void(int index, const bdcoord::v1::InstanceStatus& status)> on_instance;
  // Asked before each instance: true ends the pass early (a newer desired state is waiting),
  // leaving the instances not reached, and the removals, to the next pass.
  std::function<bool()> interrupted;
};

// What the agent fences in a pass: the instances (FencedNow: the agent has not heard from the
// coordinator for their fence_after) are stopped, not removed, and nothing is started for them;
// one fenced by the cluster's previous pass and not by this one is started again.
struct Fencing {
  std::set<std::string> instances;
  absl::Duration lost_for = absl::ZeroDuration();  // for the messages
};

struct ReconcileResult {
  std::vector<bdcoord::v1::InstanceStatus> statuses;  // one per desired instance, in order
  // One per desired instance, in order; none when Docker was unavailable (nothing was decided).
  std::vector<InstanceOutcome> outcomes;
  // Sums of the outcomes, and the managed containers removed for no longer being desired.
  int created = 0;
  int replaced = 0;
  int removed = 0;
  int hosts_files_updated = 0;
  int files_rewritten = 0;          // in place, for on_change signal or none (InstanceOutcome)
  std::vector<std::string> errors;  // problems not tied to one instance (e.g. a network)
  // Not OK (Unavailable) when Docker could not be asked for the current state: nothing changed.
  absl::Status docker;

  bool docker_unavailable() const { return docker.code() == absl::StatusCode::kUnavailable; }
  // Some instances were not reached (PassHooks::interrupted; see InstanceOutcome::reached).
  bool interrupted() const {
    return std::any_of(outcomes.begin(), outcomes.end(), [](const auto& o) { return !o.reached; });
  }
};

// Turns the desired set of one cluster on this host into containers: decides (Decide, a pure
// diff), then acts: creates what is missing,
// replaces what changed, removes managed containers no longer desired, starts an exited container
// of a desired instance again as its restart policy says (DecideRestart), keeps every container's
// /etc/hosts equal to the cluster's hosts map, and keeps a host shim (with a /32 route per local
// container) on networks that ask for one. Idempotent: a second pass does nothing. Running
// containers that match are left alone (an agent restart restarts nothing). Run-once instances
// run to completion once. Per-instance errors are reported and never stop the others.
class Reconciler {
 public:
  // `links` may be null when no network asks for a host shim.
  Reconciler(DockerClient* docker, HostFiles* host_files, net::LinkManager* links = nullptr,
             ReconcilerOptions options = {});

  ReconcileResult Reconcile(const bdcoord::v1::DesiredState& desired, const PassHooks& hooks = {},
                            const Fencing& fencing = {});

  // The soonest moment a readiness probe or a restart is due (absl::InfiniteFuture() when none):
  // the agent runs its next pass then rather than at its regular interval.
  absl::Time NextDue() const;
  // The soonest readiness check due, and the soonest restart due (absl::InfiniteFuture() when
  // none): NextDue() is the sooner of the two.
  absl::Time NextProbeDue() const;
  absl::Time NextRestartDue() const;

  // Runs the readiness checks that are due for the instances `statuses` shows running and not
  // ready (or failed for want of readiness), `statuses` being the last pass's of `desired`:
  // only the probes, no list, no inspect, no network. Updates those statuses; whether one became
  // ready or failed (worth a report now).
  bool CheckDueProbes(const bdcoord::v1::DesiredState& desired,
                      std::vector<bdcoord::v1::InstanceStatus>* statuses);

  // Releases a held instance that the last pass left behind its gate (InstanceOutcome::
  // behind_gate), outside a pass: the desired state that lifts its hold has just arrived
  // (Agent::SetDesired), and the pass in hand may take a while. Writes its release file only
  // when this agent made the instance's gated container with `spec_hash` and the file is still
  // empty (FailedPrecondition otherwise: left to the pass); a pass that makes a new container
  // meanwhile cannot have it released. The next pass reports it running once bdgate has exec'd.
  absl::Status ReleaseEarly(const bdcoord::v1::DesiredInstance& instance,
                            const std::string& spec_hash);

  // Removes the networks (and their host shims) that bdcoord created and no cluster on this
  // host wants any more. A network that still has containers attached stays. Returns what could
  // not be removed. Skipped while the wanted networks are those of a prune that left nothing
  // behind less than network_recheck ago.
  std::vector<std::string> PruneNetworks(std::vector<std::string> wanted);

  // What the passes inspected of the containers, for the agent's watcher of Docker's events to
  // invalidate (shared: that thread may outlive the reconciler).
  std::shared_ptr<InspectCache> inspect_cache() const { return inspect_cache_; }

 private:
  struct Acted {
    bdcoord::v1::InstanceStatus status;
    InstanceOutcome outcome;
  };
  // Each image a pass creates containers from, inspected once for the whole pass.
  using ImageInspections = absl::flat_hash_map<std::string, absl::StatusOr<ImageInfo>>;
  ImageInspections InspectImages(const bdcoord::v1::DesiredState& desired,
                                 const std::vector<InstanceDecision>& decisions);
  // What every instance of a pass shares.
  struct Pass {
    absl::flat_hash_map<std::string, std::string> network_errors;  // by network
    ImageInspections images;
    std::string hosts_error;     // why the cluster's hosts file could not be written
    bool hosts_changed = false;  // the cluster's hosts file was rewritten by this pass
    // The host's volumes, listed once when a container to create mounts a named one (nullopt:
    // not listed, or the list failed: each volume is then asked about).
    std::optional<absl::flat_hash_set<std::string>> volumes;
    // Instances not started because their IP answers on the LAN (or could not be probed): why.
    absl::flat_hash_map<std::string, std::string> address_refusals;
  };
  // Probes the IPs of the instances about to start here for the first time that have a
  // fence_after (their service reschedules), each network's parent in parallel; why each one
  // that must not start now may not.
  absl::flat_hash_map<std::string, std::string> RefusedAddresses(
      const bdcoord::v1::DesiredState& desired, const std::vector<InstanceDecision>& decisions);
  Acted Act(const bdcoord::v1::DesiredState& desired, const bdcoord::v1::DesiredInstance& instance,
            const InstanceDecision& decision, const Pass& pass);
  // Stops the fenced instance's container if it runs (docker stop, kept for when the coordinator
  // is back); its status says so.
  Acted Fence(const bdcoord::v1::DesiredInstance& instance, const InstanceDecision& decision,
              absl::Duration lost_for);
  // Sets the instance's CPU limit on its container (none: nothing to do). Failing, the container
  // is stopped: it must not run without it.
  absl::Status LimitCpu(const bdcoord::v1::DesiredInstance& instance, const std::string& id);
  // Starts the instance's created container, then sets its CPU limit: RUNNING as Docker's answer
  // says (no inspect), or FAILED with why.
  bdcoord::v1::InstanceStatus Start(const bdcoord::v1::DesiredInstance& instance,
                                    const std::string& id);
  // Creates the instance's container and starts it, unless the instance is held.
  bdcoord::v1::InstanceStatus CreateAndStart(const bdcoord::v1::DesiredState& desired,
                                             const bdcoord::v1::DesiredInstance& instance,
                                             const std::string& hash, const ImageInfo& image,
                                             const Pass& pass);
  // The volumes on this host when one of the containers to create mounts a named one.
  std::optional<absl::flat_hash_set<std::string>> ListVolumesIfNeeded(
      const bdcoord::v1::DesiredState& desired, const std::vector<InstanceDecision>& decisions);
  // Creates the container under the instance's name, or INSTANCE.CLUSTER when another cluster
  // on this host has a container of that name; a name taken by a container bdcoord does not
  // manage is an error (that container is never touched).
  absl::StatusOr<std::string> CreateNamed(const bdcoord::v1::DesiredInstance& instance,
                                          ContainerConfig config);
  // A kept container's files with on_change signal or none whose content changed: rewritten in
  // place on the host (the same inode: the container sees them through their bind mounts), then,
  // when `running`, each signal they ask for sent once. Appends what it did, or why it could not,
  // to the status message.
  void UpdateFilesInPlace(const bdcoord::v1::DesiredInstance& instance,
                          const ContainerInfo& container, bool running, Acted* acted);
  // Writes the cluster's hosts map to its file (created once, then rewritten in place so the
  // bind mounts see it). Returns whether an existing file changed.
  absl::StatusOr<bool> SyncClusterHosts(const bdcoord::v1::DesiredState& desired);
  // Removes the files of instances no longer here (and the cluster's directory once it has no
  // instance and no container left on this host).
  void PruneInstanceFiles(const bdcoord::v1::DesiredState& desired,
                          const std::vector<std::string>& still_there, ReconcileResult* result);
  std::string ClusterDir(const std::string& cluster) const;
  // The file bind-mounted read-only into a gated container: empty while the instance is held.
  std::string ReleaseFileOf(const bdcoord::v1::DesiredInstance& instance) const;
  bool Released(const bdcoord::v1::DesiredInstance& instance);
  // A gated container's instance no longer held: writes its release file (once).
  absl::Status ReleaseIfDue(const bdcoord::v1::DesiredInstance& instance,
                            const ContainerInfo& container);
  // A gated container not released yet is CREATED (its program has not run), not RUNNING.
  void ShowHeldBehindGate(const bdcoord::v1::DesiredInstance& instance,
                          bdcoord::v1::InstanceStatus* status);
  std::string InstanceDir(const bdcoord::v1::DesiredInstance& instance) const;
  // Why this host's policy refuses `instance` (empty when it does not): "refused by host H's
  // policy: ..." naming the rule. `image_user`: the image's default user, when the instance
  // has none.
  std::string Refusal(const bdcoord::v1::DesiredInstance& instance,
                      const std::optional<std::string>& image_user = std::nullopt) const;
  // The numbers of `user` in the created container (from its image's /etc/passwd, /etc/group),
  // remembered per image: an image's files are read once, not once per container.
  absl::StatusOr<NumericUser> UserOf(const std::string& container_id, const ImageInfo& image,
                                     const std::string& user);
  // The numbers when they are known without reading the image: given as numbers, or remembered.
  std::optional<NumericUser> KnownUser(const ImageInfo& image, const std::string& user);
  bdcoord::v1::InstanceStatus StatusOf(const bdcoord::v1::DesiredInstance& instance,
                                       const std::string& container_id);
  // The container as last inspected, when nothing happened to it since (InspectCache), or as
  // Docker says now.
  absl::StatusOr<ContainerInfo> Inspect(const std::string& container_id);
  // A container made by an older agent: Docker's own /etc/hosts, rewritten in place.
  bool SyncDockersHostsFile(const std::string& container_id, const std::string& hosts_file);
  // Stops the container with its own stop timeout (SIGTERM first: a JVM flushes, a member hands
  // over), then removes it; a container that will not stop is removed by force anyway.
  absl::Status StopAndRemove(const std::string& container_id);
  std::vector<std::string> LastLogLines(const std::string& container_id);
  void CheckReadiness(const bdcoord::v1::DesiredInstance& instance,
                      bdcoord::v1::InstanceStatus* status);
  void SyncShims(const bdcoord::v1::DesiredState& desired, ReconcileResult* result);
  // EnsureNetwork, unless the same network was found as wanted less than network_recheck ago.
  absl::Status EnsureNetworkRecently(const NetworkConfig& config);

  // Readiness progress per container id: once ready, a container is not probed again until it
  // starts again.
  struct Readiness {
    int64_t started_ns = 0;  // of the run it is about
    bool ready = false;
    uint32_t failures = 0;
    absl::Time first_check = absl::InfinitePast();  // the grace runs from it (probe_schedule.h)
    absl::Time next_check = absl::InfinitePast();
    bool given_up = false;  // not ready at the end of the grace: FAILED
    std::string last_error;
  };
  const std::shared_ptr<InspectCache> inspect_cache_ = std::make_shared<InspectCache>();
  mutable absl::Mutex mu_;  // guards what the reconciler remembers per container
  absl::flat_hash_map<std::string, Readiness> readiness_ ABSL_GUARDED_BY(mu_);
  // The agent's own restarts per container id, and when a restart waiting for its backoff is due.
  struct Restarts {
    RestartHistory history;
    absl::Time due = absl::InfiniteFuture();
    // What `status` shows, which never goes down (the history's count starts afresh after a
    // quiet while or a new apply): restarts up to history.docker_baseline, Docker's since then
    // are added.
    int shown = 0;
    std::optional<int> last_exit_code;  // as last seen exited
  };
  absl::flat_hash_map<std::string, Restarts> restarts_ ABSL_GUARDED_BY(mu_);
  // When each network was last found as wanted (EnsureNetworkRecently), and when the last prune
  // of these wanted networks left nothing behind.
  absl::flat_hash_map<std::string, std::pair<NetworkConfig, absl::Time>> networks_ensured_
      ABSL_GUARDED_BY(mu_);
  std::optional<std::pair<std::vector<std::string>, absl::Time>> networks_pruned_
      ABSL_GUARDED_BY(mu_);
  // The release files ReleaseEarly wrote, and when, whose exec the next pass has yet to see.
  absl::flat_hash_map<std::string, absl::Time> released_early_ ABSL_GUARDED_BY(mu_);
  // Per release file, the spec hash of the gated container this agent made for it (set before
  // the container's files are made, erased when a container without a gate is made).
  absl::flat_hash_map<std::string, std::string> gated_spec_ ABSL_GUARDED_BY(mu_);
  // The numbers of a `user:` per image id and user (see UserOf).
  absl::flat_hash_map<std::string, NumericUser> users_ ABSL_GUARDED_BY(mu_);
  // The instances each cluster's last pass fenced (PassHooks::fenced).
  absl::flat_hash_map<std::string, std::set<std::string>> fenced_ ABSL_GUARDED_BY(mu_);
  // The desired state's applied_at per cluster: when it changes, the give-ups are forgotten.
  absl::flat_hash_map<std::string, std::string> applied_at_ ABSL_GUARDED_BY(mu_);
  // On a new apply of the cluster (its applied_at changed): its containers' restart counts start
  // afresh, so instances given up on (crash loops) are retried.
  void RetryGiveUpsOnNewApply(const bdcoord::v1::DesiredState& desired,
                              const std::vector<ContainerInfo>& managed);

  DockerClient* docker_;
  std::unique_ptr<Prober> own_prober_;  // when none was given
  Prober* prober_;
  HostFiles* host_files_;
  net::LinkManager* links_;
  ReconcilerOptions options_;
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_RECONCILE_RECONCILER_H_
