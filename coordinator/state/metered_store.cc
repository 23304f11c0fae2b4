#include "coordinator/state/metered_store.h"

#include <utility>

namespace bdcoord::coordinator {

namespace {

// A status change is a millisecond on SQLite; a commit waiting for a busy disk a second or more.
const prometheus::Histogram::BucketBoundaries& Buckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
  return kBuckets;
}

const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}

bool StoreFailed(const absl::Status& status) {
  return !status.ok() && !absl::IsNotFound(status) && !absl::IsAlreadyExists(status) &&
         !absl::IsAborted(status) && !absl::IsInvalidArgument(status);
}

}  // namespace

MeteredStore::MeteredStore(Store& inner, prometheus::Registry& registry,
                           std::function<absl::Time()> now)
    : inner_(inner),
      now_(std::move(now)),
      durations_(prometheus::BuildHistogram()
                     .Name("bdcoord_store_operation_duration_seconds")
                     .Help("Time of one operation (one transaction) of the coordinator's store, "
                           "by operation")
                     .Register(registry)),
      errors_(prometheus::BuildCounter()
                  .Name("bdcoord_store_errors_total")
                  .Help("Store operations that failed (not counting answers such as not found "
                        "or a lost race), by operation")
                  .Register(registry)) {}

template <typename Operation>
auto MeteredStore::Timed(std::string_view name, Operation operation) -> decltype(operation()) {
  const absl::Time start = now_();
  auto result = operation();
  Record(name, now_() - start, StatusOf(result));
  return result;
}

void MeteredStore::Record(std::string_view name, absl::Duration took, const absl::Status& status) {
  const std::map<std::string, std::string> labels = {{"operation", std::string(name)}};
  durations_.Add(labels, Buckets()).Observe(absl::ToDoubleSeconds(took));
  if (StoreFailed(status)) errors_.Add(labels).Increment();
}

absl::Status MeteredStore::AdmitHost(const std::string& name, const bdcoord::v1::HostFacts& facts,
                                     absl::Time now) {
  return Timed("admit_host", [&] { return inner_.AdmitHost(name, facts, now); });
}

absl::Status MeteredStore::MarkHostSeen(const std::string& name, absl::Time now) {
  return Timed("mark_host_seen", [&] { return inner_.MarkHostSeen(name, now); });
}

absl::Status MeteredStore::SetHostDrained(const std::string& name, bool drained) {
  return Timed("set_host_drained", [&] { return inner_.SetHostDrained(name, drained); });
}

absl::StatusOr<std::vector<HostRecord>> MeteredStore::ListHosts() {
  return Timed("list_hosts", [&] { return inner_.ListHosts(); });
}

absl::Status MeteredStore::DrainHost(const std::string& name, const bdcoord::v1::HostFacts& facts,
                                     absl::Time now, bool drained,
                                     const std::vector<AppliedCluster>& replanned) {
  return Timed("drain_host",
               [&] { return inner_.DrainHost(name, facts, now, drained, replanned); });
}

absl::Status MeteredStore::ApplyCluster(const AppliedCluster& cluster) {
  return Timed("apply_cluster", [&] { return inner_.ApplyCluster(cluster); });
}

absl::StatusOr<AppliedCluster> MeteredStore::GetCluster(const std::string& name) {
  return Timed("get_cluster", [&] { return inner_.GetCluster(name); });
}

absl::Status MeteredStore::UpdateRollout(const std::string& cluster,
                                         const bdcoord::v1::Rollout& rollout) {
  return Timed("update_rollout", [&] { return inner_.UpdateRollout(cluster, rollout); });
}

absl::StatusOr<std::vector<std::string>> MeteredStore::ListClusters() {
  return Timed("list_clusters", [&] { return inner_.ListClusters(); });
}

absl::Status MeteredStore::DeleteCluster(const std::string& name) {
  return Timed("delete_cluster", [&] { return inner_.DeleteCluster(name); });
}

absl::StatusOr<std::map<std::string, IpOwner>> MeteredStore::AllocatedIps() {
  return Timed("allocated_ips", [&] { return inner_.AllocatedIps(); });
}

absl::Status MeteredStore::MarkInstances(const std::string& cluster, const std::string& host,
                                         const std::vector<bdcoord::v1::InstanceStatus>& statuses) {
  return Timed("mark_instances", [&] { return inner_.MarkInstances(cluster, host, statuses); });
}

absl::StatusOr<std::map<std::string, ReportedStatus>> MeteredStore::InstanceStatuses(
    const std::string& cluster) {
  return Timed("instance_statuses", [&] { return inner_.InstanceStatuses(cluster); });
}

absl::StatusOr<bool> MeteredStore::RunOnceCompleted(const std::string& cluster,
                                                    const std::string& instance) {
  return Timed("run_once_completed", [&] { return inner_.RunOnceCompleted(cluster, instance); });
}

}  // namespace bdcoord::coordinator
