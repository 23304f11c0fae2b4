#ifndef BDCOORD_TESTS_TESTING_FORWARDING_STORE_H_
#define BDCOORD_TESTS_TESTING_FORWARDING_STORE_H_

#include <map>
#include <string>
#include <vector>

#include "coordinator/state/store.h"

namespace bdcoord::test_util {

// A Store that passes every call to another (a real one): a test overrides the calls it wants to
// watch or interleave with something else, and the rest behaves as the real store does.
class ForwardingStore : public coordinator::Store {
 public:
  explicit ForwardingStore(coordinator::Store& inner) : inner_(inner) {}

  absl::Status AdmitHost(const std::string& name, const bdcoord::v1::HostFacts& facts,
                         absl::Time now) override {
    return inner_.AdmitHost(name, facts, now);
  }
  absl::Status MarkHostSeen(const std::string& name, absl::Time now) override {
    return inner_.MarkHostSeen(name, now);
  }
  absl::Status SetHostDrained(const std::string& name, bool drained) override {
    return inner_.SetHostDrained(name, drained);
  }
  absl::StatusOr<std::vector<coordinator::HostRecord>> ListHosts() override {
    return inner_.ListHosts();
  }
  absl::Status DrainHost(const std::string& name, const bdcoord::v1::HostFacts& facts,
                         absl::Time now, bool drained,
                         const std::vector<coordinator::AppliedCluster>& replanned) override {
    return inner_.DrainHost(name, facts, now, drained, replanned);
  }
  absl::Status ApplyCluster(const coordinator::AppliedCluster& cluster) override {
    return inner_.ApplyCluster(cluster);
  }
  absl::StatusOr<coordinator::AppliedCluster> GetCluster(const std::string& name) override {
    return inner_.GetCluster(name);
  }
  absl::Status UpdateRollout(const std::string& cluster,
                             const bdcoord::v1::Rollout& rollout) override {
    return inner_.UpdateRollout(cluster, rollout);
  }
  absl::StatusOr<std::vector<std::string>> ListClusters() override { return inner_.ListClusters(); }
  absl::Status DeleteCluster(const std::string& name) override {
    return inner_.DeleteCluster(name);
  }
  absl::StatusOr<std::map<std::string, coordinator::IpOwner>> AllocatedIps() override {
    return inner_.AllocatedIps();
  }
  absl::Status MarkInstances(const std::string& cluster, const std::string& host,
                             const std::vector<bdcoord::v1::InstanceStatus>& statuses) override {
    return inner_.MarkInstances(cluster, host, statuses);
  }
  absl::StatusOr<std::map<std::string, coordinator::ReportedStatus>> InstanceStatuses(
      const std::string& cluster) override {
    return inner_.InstanceStatuses(cluster);
  }
  absl::StatusOr<bool> RunOnceCompleted(const std::string& cluster,
                                        const std::string& instance) override {
    return inner_.RunOnceCompleted(cluster, instance);
  }

 private:
  coordinator::Store& inner_;
};

}  // namespace bdcoord::test_util

#endif  // BDCOORD_TESTS_TESTING_FORWARDING_STORE_H_
