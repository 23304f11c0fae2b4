#ifndef BDCOORD_TESTS_TESTING_FAKE_AGENT_SESSIONS_H_
#define BDCOORD_TESTS_TESTING_FAKE_AGENT_SESSIONS_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/desired_update.h"
#include "bdcoord/v1/agent.pb.h"
#include "coordinator/ops/agent_sessions.h"
#include "policy/spec_hash.h"

namespace bdcoord::test_util {

// AgentSessions in memory: records every message sent, and answers with the status reports and
// probe results the test scripts. Every host can be sent to unless the test cut it off.
class FakeAgentSessions final : public coordinator::AgentSessions {
 public:
  struct Sent {
    std::string host;
    bdcoord::v1::CoordinatorMessage message;
  };

  absl::Status Send(const std::string& host,
                    const bdcoord::v1::CoordinatorMessage& message) override {
    absl::MutexLock lock(&mu_);
    if (unreachable_.contains(host)) {
      return absl::UnavailableError(absl::StrCat("host '", host, "' is not connected"));
    }
    sent_.push_back({host, message});
    return absl::OkStatus();
  }

  std::optional<bdcoord::v1::StatusReport> LatestStatus(const std::string& host,
                                                        const std::string& cluster) const override {
    absl::MutexLock lock(&mu_);
    auto of_host = reports_.find(host);
    if (of_host == reports_.end()) return std::nullopt;
    auto report = of_host->second.find(cluster);
    if (report == of_host->second.end()) return std::nullopt;
    return report->second;
  }

  std::map<std::string, bdcoord::v1::StatusReport> LatestStatuses(
      const std::string& host) const override {
    absl::MutexLock lock(&mu_);
    auto of_host = reports_.find(host);
    if (of_host == reports_.end()) return {};
    return of_host->second;
  }

  absl::StatusOr<bdcoord::v1::CommandResult> RunProbe(const std::string& host,
                                                      bdcoord::v1::ProbeRequest request,
                                                      absl::Time) override {
    absl::MutexLock lock(&mu_);
    probes_.push_back({host, request});
    auto result = probe_results_.find(request.container());
    if (result == probe_results_.end()) {
      return absl::DeadlineExceededError(
          absl::StrCat("no answer from host '", host, "' to the probe"));
    }
    return result->second;
  }

  std::map<std::string, absl::StatusOr<bdcoord::v1::ImageList>> ListImages(
      const std::vector<std::string>& hosts, absl::Time) override {
    absl::MutexLock lock(&mu_);
    std::map<std::string, absl::StatusOr<bdcoord::v1::ImageList>> lists;
    for (const std::string& host : hosts) {
      if (unreachable_.contains(host)) {
        lists.insert_or_assign(
            host, absl::UnavailableError(absl::StrCat("host '", host, "' is not connected")));
        continue;
      }
      bdcoord::v1::ImageList list;
      for (const auto& image : images_[host]) *list.add_images() = image;
      lists.insert_or_assign(host, std::move(list));
    }
    return lists;
  }
  uint64_t ExpectResult(const std::string& host) override {
    absl::MutexLock lock(&mu_);
    expected_[next_request_] = host;
    return next_request_++;
  }
  // The scripted load result of the host (SetLoadResult), else ok.
  absl::StatusOr<bdcoord::v1::CommandResult> AwaitResult(uint64_t request_id, absl::Time) override {
    absl::MutexLock lock(&mu_);
    const std::string host = expected_[request_id];
    expected_.erase(request_id);
    auto scripted = load_results_.find(host);
    if (scripted != load_results_.end()) return scripted->second;
    bdcoord::v1::CommandResult result;
    result.set_request_id(request_id);
    result.set_ok(true);
    result.set_message("Loaded image: app:1");
    return result;
  }

  // Scripting.

  void AddImage(const std::string& host, bdcoord::v1::ImageSummary image) {
    absl::MutexLock lock(&mu_);
    images_[host].push_back(std::move(image));
  }
  void SetLoadResult(const std::string& host, absl::StatusOr<bdcoord::v1::CommandResult> result) {
    absl::MutexLock lock(&mu_);
    load_results_.insert_or_assign(host, std::move(result));
  }

  void SetReport(const std::string& host, bdcoord::v1::StatusReport report) {
    absl::MutexLock lock(&mu_);
    reports_[host][report.cluster()] = std::move(report);
  }
  void ClearReports(const std::string& host) {
    absl::MutexLock lock(&mu_);
    reports_.erase(host);
  }
  // Answers the latest desired state each host received for each cluster with a report of its
  // instances in `state` (ready when running), made against that desired state's generation.
  void AnswerEveryDesiredState(bdcoord::v1::InstanceState state) {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, kept] : KeptDesiredStates()) {
      const bdcoord::v1::DesiredState* desired = &kept.desired;
      bdcoord::v1::StatusReport report;
      report.set_cluster(desired->cluster());
      report.set_generation(desired->generation());
      report.set_hosts_version(desired->hosts_map().version());
      for (const auto& instance : desired->instances()) {
        bdcoord::v1::InstanceStatus* status = report.add_instances();
        status->set_name(instance.name());
        status->set_service(instance.service());
        // Held instances are created and not started, as an agent does.
        const bdcoord::v1::InstanceState shown =
            instance.hold() ? bdcoord::v1::INSTANCE_STATE_CREATED : state;
        status->set_state(shown);
        status->set_ready(shown == bdcoord::v1::INSTANCE_STATE_RUNNING);
        status->set_container_id("c-" + instance.name());
        status->set_spec_hash(policy::SpecHash(instance));  // as the agent labels its container
        if (answer_hook_) answer_hook_(instance, status);
      }
      reports_[key.first][key.second] = std::move(report);
    }
  }
  // Called on each status AnswerEveryDesiredState makes, to change it (e.g. fail one spec).
  void SetAnswerHook(
      std::function<void(const bdcoord::v1::DesiredInstance&, bdcoord::v1::InstanceStatus*)> hook) {
    absl::MutexLock lock(&mu_);
    answer_hook_ = std::move(hook);
  }
  void SetProbeResult(const std::string& container, bdcoord::v1::CommandResult result) {
    absl::MutexLock lock(&mu_);
    probe_results_[container] = std::move(result);
  }
  void SetUnreachable(const std::string& host) {
    absl::MutexLock lock(&mu_);
    unreachable_.insert(host);
  }

  std::vector<Sent> sent() const {
    absl::MutexLock lock(&mu_);
    return sent_;
  }
  // The desired state the host has for the cluster after every message sent to it, as the
  // agent keeps it (hosts_only and hosts deltas applied, hosts_file rendered), if any.
  std::optional<bdcoord::v1::DesiredState> LatestDesired(const std::string& host,
                                                         const std::string& cluster) const {
    absl::MutexLock lock(&mu_);
    const auto kept = KeptDesiredStates();
    auto it = kept.find({host, cluster});
    if (it == kept.end()) return std::nullopt;
    return it->second.desired;
  }
  std::vector<std::pair<std::string, bdcoord::v1::ProbeRequest>> probes() const {
    absl::MutexLock lock(&mu_);
    return probes_;
  }

 private:
  // Every desired-state message sent, applied in order per host and cluster as an agent does.
  std::map<std::pair<std::string, std::string>, agent::KeptDesired> KeptDesiredStates() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::map<std::pair<std::string, std::string>, agent::KeptDesired> kept;
    for (const Sent& sent : sent_) {
      if (!sent.message.has_desired()) continue;
      const std::pair<std::string, std::string> key{sent.host, sent.message.desired().cluster()};
      auto it = kept.find(key);
      agent::DesiredUpdate update =
          agent::UpdateDesired(it == kept.end() ? nullptr : &it->second, sent.message.desired());
      if (!update.unusable) kept[key] = std::move(update.kept);
    }
    return kept;
  }

  mutable absl::Mutex mu_;
  std::vector<Sent> sent_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::map<std::string, bdcoord::v1::StatusReport>> reports_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, bdcoord::v1::CommandResult> probe_results_ ABSL_GUARDED_BY(mu_);
  std::function<void(const bdcoord::v1::DesiredInstance&, bdcoord::v1::InstanceStatus*)>
      answer_hook_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, bdcoord::v1::ProbeRequest>> probes_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> unreachable_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<bdcoord::v1::ImageSummary>> images_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::string> expected_ ABSL_GUARDED_BY(mu_);
  uint64_t next_request_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::string, absl::StatusOr<bdcoord::v1::CommandResult>> load_results_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace bdcoord::test_util

#endif  // BDCOORD_TESTS_TESTING_FAKE_AGENT_SESSIONS_H_
