#ifndef BDCOORD_COORDINATOR_STATE_STORE_H_
#define BDCOORD_COORDINATOR_STATE_STORE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bdcoord/v1/agent.pb.h"
#include "bdcoord/v1/cluster.pb.h"
#include "bdcoord/v1/spec.pb.h"
#include "coordinator/state/reported_status.h"

namespace bdcoord::coordinator {

// A Docker host that an agent announced.
struct HostRecord {
  std::string name;
  bdcoord::v1::HostFacts facts;
  absl::Time last_seen;
  bool drained = false;  // set by an operator: nothing new is placed on it
};

// A cluster as applied: its spec as written, as data, and where every instance went.
struct AppliedCluster {
  std::string name;       // the cluster's name (spec.cluster when that is set)
  std::string spec_file;  // the file the spec came from, for messages
  std::string spec_yaml;  // the text as applied
  bdcoord::v1::ClusterSpec spec;
  bdcoord::v1::Placement placement;  // every instance, in the planner's order
  absl::Time applied_at;             // set by the caller (the clock is injected)
  // Its latest rolling update (state unspecified: none), kept in step by the controller.
  bdcoord::v1::Rollout rollout;
  // The spec applied before this one, which `rollout undo` brings back; empty yaml: none.
  std::string previous_spec_file;
  std::string previous_spec_yaml;
  bdcoord::v1::ClusterSpec previous_spec;
};

// Who holds an IP.
struct IpOwner {
  std::string cluster;
  std::string instance;
};

// The coordinator's durable state: the host inventory, the applied clusters with their placements
// (one IP allocation across all clusters: an IP belongs to at most one instance of one cluster),
// the latest status of every instance, and the run-once instances that completed. Every
// operation is one transaction: after a crash at any moment it has happened entirely or not at
// all. Thread-safe. One real implementation (store_sqlite.h); fakes live in tests/.
//
// Errors: an unknown cluster or host is NotFound naming it; input that contradicts itself is
// InvalidArgument; storage failures carry the database path and the storage engine's message.
class Store {
 public:
  virtual ~Store() = default;

  // Hosts.

  // Inserts the host or updates its facts and last_seen; `drained` is kept.
  virtual absl::Status AdmitHost(const std::string& name, const bdcoord::v1::HostFacts& facts,
                                 absl::Time now) = 0;
  // NotFound for a host never admitted.
  virtual absl::Status MarkHostSeen(const std::string& name, absl::Time now) = 0;
  // NotFound for a host never admitted.
  virtual absl::Status SetHostDrained(const std::string& name, bool drained) = 0;
  // Every host, by name.
  virtual absl::StatusOr<std::vector<HostRecord>> ListHosts() = 0;
  // Drains the host (or takes it back with drained=false) in one transaction: admits it as
  // AdmitHost does, sets its drained flag, and stores every cluster of `replanned` (its new
  // placement, off the host) as ApplyCluster does. When any step fails nothing has changed.
  virtual absl::Status DrainHost(const std::string& name, const bdcoord::v1::HostFacts& facts,
                                 absl::Time now, bool drained,
                                 const std::vector<AppliedCluster>& replanned) = 0;

  // Clusters.

  // Replaces the cluster's spec and placement at once (inserts it when new). AlreadyExists
  // naming the instance, the IP and the other cluster's instance when another cluster holds one
  // of its IPs; nothing is changed then. The statuses of instances that keep their name are
  // kept, those of instances no longer placed are deleted. Run-once completions are kept (a
  // `namenode -format` that ran never runs again while the cluster exists).
  virtual absl::Status ApplyCluster(const AppliedCluster& cluster) = 0;
  virtual absl::StatusOr<AppliedCluster> GetCluster(const std::string& name) = 0;
  // Replaces the cluster's rollout with `rollout`, made from the stored one: Aborted (nothing
  // changed) when the stored revision is not rollout.revision (an apply or another change came
  // first); the stored one then has revision + 1. NotFound for an unknown cluster.
  virtual absl::Status UpdateRollout(const std::string& cluster,
                                     const bdcoord::v1::Rollout& rollout) = 0;
  // Every cluster's name, sorted.
  virtual absl::StatusOr<std::vector<std::string>> ListClusters() = 0;
  // Deletes the cluster with its placement, statuses and run-once completions.
  virtual absl::Status DeleteCluster(const std::string& name) = 0;
  // Every allocated IP across all clusters and who holds it. A planner re-planning cluster C
  // treats the IPs of the other clusters (owner.cluster != C) as taken.
  virtual absl::StatusOr<std::map<std::string, IpOwner>> AllocatedIps() = 0;

  // Instances.

  // Records the latest statuses of placed instances as `host` reported them, in one transaction:
  // all or none (NotFound for an unknown cluster or an instance not in its placement). A status
  // in INSTANCE_STATE_COMPLETED (a run-once instance that exited 0) also records the instance as
  // completed, for good: later statuses replace the status but never clear that.
  virtual absl::Status MarkInstances(const std::string& cluster, const std::string& host,
                                     const std::vector<bdcoord::v1::InstanceStatus>& statuses) = 0;
  absl::Status MarkInstance(const std::string& cluster, const std::string& host,
                            const bdcoord::v1::InstanceStatus& status) {
    return MarkInstances(cluster, host, {status});
  }
  // The latest status of every instance that reported one, by instance name, with the host that
  // reported it (StatusesOnPlacement keeps those of the hosts the instances are placed on now).
  virtual absl::StatusOr<std::map<std::string, ReportedStatus>> InstanceStatuses(
      const std::string& cluster) = 0;
  // Whether the instance ever reported INSTANCE_STATE_COMPLETED (NotFound for an unknown
  // cluster).
  virtual absl::StatusOr<bool> RunOnceCompleted(const std::string& cluster,
                                                const std::string& instance) = 0;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_STATE_STORE_H_
