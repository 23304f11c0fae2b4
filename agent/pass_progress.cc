#include "agent/pass_progress.h"

#include "absl/container/flat_hash_map.h"
#include "agent/reconcile/decide.h"

namespace bdcoord::agent {

PassProgress::PassProgress(const bdcoord::v1::DesiredState& desired,
                           const std::vector<bdcoord::v1::InstanceStatus>& last_reported,
                           uint64_t last_generation) {
  header_.set_cluster(desired.cluster());
  header_.set_generation(desired.generation());
  header_.set_hosts_version(desired.hosts_map().version());  // the kept map's (UpdateDesired)
  absl::flat_hash_map<std::string, const bdcoord::v1::InstanceStatus*> last;
  for (const auto& status : last_reported) last[status.name()] = &status;
  // The same desired state as the last pass's: the same specs, no hash to compare.
  const bool same_state = last_generation == desired.generation();
  size_t still_desired = 0;  // of the instances last reported
  statuses_.reserve(desired.instances_size());
  for (const auto& instance : desired.instances()) {
    auto it = last.find(instance.name());
    if (it != last.end()) ++still_desired;
    // A status of another spec than the one wanted now would say "running" (or "ready") of what
    // is about to be replaced.
    if (it != last.end() && (same_state || it->second->spec_hash().empty() ||
                             it->second->spec_hash() == SpecHashOf(instance))) {
      statuses_.push_back(*it->second);
      continue;
    }
    bdcoord::v1::InstanceStatus pending;
    pending.set_name(instance.name());
    pending.set_service(instance.service());
    pending.set_state(bdcoord::v1::INSTANCE_STATE_PENDING);
    pending.set_message(it == last.end()
                            ? "waiting for this host's agent"
                            : "changing to its new spec: waiting for this host's agent");
    statuses_.push_back(std::move(pending));
  }
  // Not when some are no longer desired: a report is whole, and would say they are gone before
  // the pass removed them (`bdcoord down` waits for that).
  coordinator_waits_ = !last_reported.empty() && !same_state && still_desired == last.size();
}

bool PassProgress::Update(int index, const bdcoord::v1::InstanceStatus& status) {
  if (index < 0 || index >= static_cast<int>(statuses_.size())) return false;
  bdcoord::v1::InstanceStatus& kept = statuses_[index];
  const bool news = kept.state() != status.state() || kept.ready() != status.ready() ||
                    kept.container_id() != status.container_id();
  kept = status;
  return news;
}

bdcoord::v1::StatusReport PassProgress::Report() const {
  bdcoord::v1::StatusReport report = header_;
  for (const auto& status : statuses_) *report.add_instances() = status;
  return report;
}

}  // namespace bdcoord::agent
