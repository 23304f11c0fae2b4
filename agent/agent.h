#ifndef BDCOORD_AGENT_AGENT_H_
#define BDCOORD_AGENT_AGENT_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/agent_metrics.h"
#include "agent/docker/docker_client.h"
#include "agent/probes/prober.h"
#include "agent/reconcile/reconciler.h"
#include "agent/uplink.h"
#include "bdcoord/v1/agent.pb.h"
#include "net/hosts_map.h"

namespace bdcoord::agent {

struct AgentOptions {
  // Between passes when no readiness probe is due sooner.
  absl::Duration interval = absl::Seconds(10);
  // Named in the log when Docker goes away or comes back.
  std::string docker_socket;
  // How long the agent's end waits for probe requests still running.
  absl::Duration probe_drain_timeout = absl::Seconds(15);
  // The clock: required (main wires absl::Now; tests a FakeClock, so they need no sleeps).
  std::function<absl::Time()> now;
  // Each pass's duration and instances by state (none without); outlives the agent.
  const AgentMetrics* metrics = nullptr;
};

// What one pass did to one cluster.
struct ClusterPass {
  std::string cluster;
  ReconcileResult result;
  bool forgotten = false;  // taken down, reported, and no longer kept
};

struct PassSummary {
  std::vector<ClusterPass> clusters;
  bool docker_unavailable = false;
};

// Before every pass (e.g. re-read a desired-state file): an error is logged and skips the pass.
using RefreshDesired = std::function<absl::Status()>;

// The agent's runtime: the desired state of every cluster on this host, a reconcile pass over all
// of them at the interval (sooner when a readiness probe is due, at once on a new desired state or
// a Docker event), a status report per cluster after every pass, and a cluster forgotten once its
// take-down was reported. A lost coordinator changes nothing here: the last desired states keep
// being reconciled.
class Agent {
 public:
  Agent(DockerClient* docker, Reconciler* reconciler, Prober* prober, AgentOptions options = {});
  // Stop(), then waits (up to probe_drain_timeout) for the probe requests still running.
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Before the first pass; null: reports go nowhere. With an uplink, instances with fence_after
  // are fenced (stopped) once the coordinator has not been heard for that long (Contact).
  void SetUplink(Uplink* uplink);

  // The coordinator was heard from (any message, a heartbeat's answer included): fencing counts
  // from the last time, or from the agent's start.
  void Contact();

  // Replaces the desired state of its cluster and wakes the loop. An instance the last pass left
  // behind its gate that this state no longer holds, and that is otherwise as that pass had it
  // (spec, files, the cluster's hosts file: what the pass writes before it releases), is
  // released at once (Reconciler::ReleaseEarly): its program need not wait for the pass in
  // hand. Any other change leaves the release to the pass.
  void SetDesired(const bdcoord::v1::DesiredState& desired);

  // `desired` becomes the only desired state (from a file: it is the whole truth). Does not wake
  // the loop: it is meant to be called just before a pass.
  void SetSoleDesired(const bdcoord::v1::DesiredState& desired);

  // One pass over every cluster: reconcile, report, forget what was taken down and reported, then
  // remove the networks no cluster wants.
  PassSummary RunPass();

  // Between passes, when only readiness checks are due: runs those (no list, no inspect, no
  // network) on the statuses of the last pass of each cluster, and reports a cluster at once
  // when one of its instances became ready or failed, so its dependents are released without
  // waiting for a pass. A cluster whose desired state changed since its last pass is left to the
  // next pass.
  void RunDueProbes();

  // `refresh` then RunPass; the refresh's error when it fails.
  absl::StatusOr<PassSummary> RunOnce(const RefreshDesired& refresh);

  // Passes until Stop(), and RunDueProbes between them when only a readiness check is due.
  // `on_ready` runs once, after the first pass that found Docker reachable.
  void Run(const RefreshDesired& refresh, const std::function<void()>& on_ready);

  // How long until the next pass is due: the interval, or sooner for a readiness probe.
  absl::Duration UntilNextPass() const;

  // Waits until the next pass is due, Wake() or Stop(); false once stopped.
  bool WaitForNextPass();

  // Whether what is due now is only readiness checks (RunDueProbes), not a pass: nothing woke the
  // loop since the last wait, no restart is due, and the interval since the last pass has not
  // passed.
  bool OnlyProbesDue() const;

  void Wake();
  void Stop();

  // Watches Docker's events of our containers on a thread of its own: a start or a death wakes
  // the loop (Docker rewrites /etc/hosts when it restarts a container; the pass puts the current
  // map back). The stream is re-opened with backoff when it drops.
  void WatchDockerEvents();

  // Waits up to `timeout` for the event watcher's thread to end after Stop(); false if it did
  // not. It cannot end while blocked on Docker's event stream: the agent never waits for it.
  bool WaitForEventWatcher(absl::Duration timeout);

  // Runs a coordinator's probe request on a thread of its own (a probe may take its timeout) and
  // sends the result up.
  void HandleProbeRequest(const bdcoord::v1::ProbeRequest& request);

  // Waits, up to probe_drain_timeout, until no probe request is running.
  void WaitForProbeRequests();

  // The clusters whose desired state is kept, sorted.
  std::vector<std::string> clusters() const;

 private:
  // Stop and wake flags, shared with the event watcher's thread, which may outlive the agent
  // while it is blocked on Docker's event stream.
  struct Signals {
    absl::Mutex mu;
    bool stop ABSL_GUARDED_BY(mu) = false;
    bool wake ABSL_GUARDED_BY(mu) = false;
    int probes_running ABSL_GUARDED_BY(mu) = 0;
    bool watching ABSL_GUARDED_BY(mu) = false;
  };

  // Logs Docker going away or coming back (once per change) and what a pass changed.
  void LogPass(const std::string& cluster, const ReconcileResult& result);
  // The pass's duration, and its instances by cluster and state into the gauge (a cluster no
  // longer kept, or a state no longer seen, leaves it).
  void RecordPass(absl::Duration took);

  DockerClient* docker_;
  Reconciler* reconciler_;
  Prober* prober_;
  AgentOptions options_;
  std::shared_ptr<Signals> signals_ = std::make_shared<Signals>();
  std::atomic<Uplink*> uplink_{nullptr};  // read by probe-request threads
  bool docker_was_down_ = false;          // only on the loop's thread
  bool ready_ = false;                    // only on the loop's thread
  // The last pass's statuses per cluster, and the generation they were made against, for
  // RunDueProbes; when the next regular pass is due; whether the last wait was woken. Only on
  // the loop's thread.
  struct LastPass {
    uint64_t generation = 0;
    std::vector<bdcoord::v1::InstanceStatus> statuses;
  };
  std::map<std::string, LastPass> last_pass_;
  // Per cluster, the instances fenced and the generation of the desired state they were fenced
  // under: they stay fenced until a newer desired state comes (the coordinator's word after it is
  // back, which no longer has those it moved away). Only on the loop's thread.
  struct Fenced {
    uint64_t generation = 0;
    std::set<std::string> instances;
  };
  std::map<std::string, Fenced> fenced_;
  std::set<std::map<std::string, std::string>> published_instances_;  // the gauge's label sets
  absl::Time next_pass_ = absl::InfiniteFuture();
  bool woken_ = true;

  // How long the coordinator has not been heard from (zero without an uplink: no fencing).
  absl::Duration LostFor() const;
  // When the soonest fence is due if the coordinator stays silent (InfiniteFuture: none).
  absl::Time NextFenceDue() const;

  mutable absl::Mutex contact_mu_;
  absl::Time last_contact_ ABSL_GUARDED_BY(contact_mu_) = absl::InfinitePast();
  bool lost_logged_ ABSL_GUARDED_BY(contact_mu_) = false;  // a fence was logged since contact

  mutable absl::Mutex desired_mu_;
  std::map<std::string, bdcoord::v1::DesiredState> desired_by_cluster_ ABSL_GUARDED_BY(desired_mu_);
  // Each cluster's hosts map, which the next delta applies to (its text is the desired state's
  // hosts_file).
  std::map<std::string, net::HostsMap> hosts_by_cluster_ ABSL_GUARDED_BY(desired_mu_);
  // Per cluster, what its last pass left behind their gates (what SetDesired may release early):
  // each such instance as that pass had it (held), and the hosts file it wrote.
  struct BehindGate {
    std::map<std::string, bdcoord::v1::DesiredInstance> instances;
    std::string hosts_file;
  };
  std::map<std::string, BehindGate> behind_gate_ ABSL_GUARDED_BY(desired_mu_);
  // The instances of the cluster's desired state that SetDesired releases now (see there), taken
  // out of behind_gate_.
  std::vector<bdcoord::v1::DesiredInstance> ReleasableNow(const std::string& cluster)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(desired_mu_);
  // After a pass of `desired`: which of its instances are behind their gates now.
  void NoteBehindGate(const bdcoord::v1::DesiredState& desired, const ReconcileResult& result);
};

// The event stream's backoff after `current`: doubled, at most 30 s.
absl::Duration NextEventBackoff(absl::Duration current);

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_AGENT_H_
