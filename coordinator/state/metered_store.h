#ifndef BDCOORD_COORDINATOR_STATE_METERED_STORE_H_
#define BDCOORD_COORDINATOR_STATE_METERED_STORE_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "coordinator/state/store.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace bdcoord::coordinator {

// A Store that times every operation of the store it wraps for Prometheus
// (bdcoord_store_operation_duration_seconds{operation}) and counts its failures
// (bdcoord_store_errors_total{operation}). Answers the caller expects are not failures of the
// store: NotFound, AlreadyExists, Aborted (a lost optimistic race) and InvalidArgument.
class MeteredStore final : public Store {
 public:
  // `inner` must outlive this; `now` times the operations.
  MeteredStore(Store& inner, prometheus::Registry& registry, std::function<absl::Time()> now);

  absl::Status AdmitHost(const std::string& name, const bdcoord::v1::HostFacts& facts,
                         absl::Time now) override;
  absl::Status MarkHostSeen(const std::string& name, absl::Time now) override;
  absl::Status SetHostDrained(const std::string& name, bool drained) override;
  absl::StatusOr<std::vector<HostRecord>> ListHosts() override;
  absl::Status DrainHost(const std::string& name, const bdcoord::v1::HostFacts& facts,
                         absl::Time now, bool drained,
                         const std::vector<AppliedCluster>& replanned) override;
  absl::Status ApplyCluster(const AppliedCluster& cluster) override;
  absl::StatusOr<AppliedCluster> GetCluster(const std::string& name) override;
  absl::Status UpdateRollout(const std::string& cluster,
                             const bdcoord::v1::Rollout& rollout) override;
  absl::StatusOr<std::vector<std::string>> ListClusters() override;
  absl::Status DeleteCluster(const std::string& name) override;
  absl::StatusOr<std::map<std::string, IpOwner>> AllocatedIps() override;
  absl::Status MarkInstances(const std::string& cluster, const std::string& host,
                             const std::vector<bdcoord::v1::InstanceStatus>& statuses) override;
  absl::StatusOr<std::map<std::string, ReportedStatus>> InstanceStatuses(
      const std::string& cluster) override;
  absl::StatusOr<bool> RunOnceCompleted(const std::string& cluster,
                                        const std::string& instance) override;

 private:
  // Runs `operation` on the inner store, observing its duration and counting a failure.
  template <typename Operation>
  auto Timed(std::string_view name, Operation operation) -> decltype(operation());
  void Record(std::string_view name, absl::Duration took, const absl::Status& status);

  Store& inner_;
  std::function<absl::Time()> now_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Family<prometheus::Counter>& errors_;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_STATE_METERED_STORE_H_
