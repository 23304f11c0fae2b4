#include "coordinator/plan/orchestrator.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/spec/instance_names.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::Dependency;
using bdcoord::v1::InstanceState;
using bdcoord::v1::InstanceStatus;

const char* ConditionName(Dependency::Condition condition) {
  switch (condition) {
    case Dependency::CONDITION_READY:
      return "ready";
    case Dependency::CONDITION_COMPLETED:
      return "completed";
    default:
      return "started";
  }
}

// The instance's status, COMPLETED when it ever completed, or an empty (PENDING) one.
InstanceStatus StatusOf(const OrchestratorInput& input, const std::string& name) {
  InstanceStatus status;
  status.set_name(name);
  if (input.statuses != nullptr) {
    if (auto it = input.statuses->find(name); it != input.statuses->end()) status = it->second;
  }
  if (input.completed != nullptr && input.completed->contains(name) &&
      status.state() != bdcoord::v1::INSTANCE_STATE_COMPLETED) {
    status.set_state(bdcoord::v1::INSTANCE_STATE_COMPLETED);
  }
  return status;
}

}  // namespace

bool ConditionHolds(Dependency::Condition condition, const InstanceStatus& status) {
  const bool completed = status.state() == bdcoord::v1::INSTANCE_STATE_COMPLETED;
  const bool running = status.state() == bdcoord::v1::INSTANCE_STATE_RUNNING;
  switch (condition) {
    case Dependency::CONDITION_READY:
      return (running && status.ready()) || completed;
    case Dependency::CONDITION_COMPLETED:
      return completed;
    default:
      return running || completed;
  }
}

Orchestration Orchestrate(const OrchestratorInput& input) {
  Orchestration result;
  if (input.spec == nullptr) return result;
  std::map<std::string, const bdcoord::v1::Service*> by_name;
  for (const auto& service : input.spec->services()) by_name[service.name()] = &service;
  std::map<std::string, uint32_t> placed;
  if (input.placement != nullptr) {
    for (const auto& instance : input.placement->instances()) ++placed[instance.service()];
  }

  bool all_ready = true;
  for (const auto& service : input.spec->services()) {
    std::vector<std::string> waiting;
    for (const auto& dependency : service.depends_on()) {
      auto it = by_name.find(dependency.service());
      bool holds = true;
      if (it != by_name.end()) {
        for (uint64_t i = 1; i <= it->second->count(); ++i) {
          if (!ConditionHolds(dependency.condition(),
                              StatusOf(input, InstanceName(*it->second, i)))) {
            holds = false;
            break;
          }
        }
      }
      if (!holds)
        waiting.push_back(
            absl::StrCat(dependency.service(), " ", ConditionName(dependency.condition())));
    }
    if (waiting.empty()) result.released.push_back(service.name());
    if (!waiting.empty()) {
      for (uint64_t i = 1; i <= service.count(); ++i) result.held.insert(InstanceName(service, i));
    }

    bdcoord::v1::ServiceProgress progress;
    progress.set_service(service.name());
    progress.set_desired(service.count());
    progress.set_run_once(service.run_once());
    progress.set_placed(placed[service.name()]);
    progress.set_waiting_for(absl::StrJoin(waiting, ", "));
    for (uint64_t i = 1; i <= service.count(); ++i) {
      const InstanceStatus status = StatusOf(input, InstanceName(service, i));
      const InstanceState state = status.state();
      const bool completed = state == bdcoord::v1::INSTANCE_STATE_COMPLETED;
      const bool running = state == bdcoord::v1::INSTANCE_STATE_RUNNING;
      if (completed || running || state == bdcoord::v1::INSTANCE_STATE_CREATED) {
        progress.set_created(progress.created() + 1);
      }
      if (completed || running) progress.set_started(progress.started() + 1);
      if (completed || (running && status.ready())) {
        progress.set_ready(progress.ready() + 1);
      } else {
        all_ready = false;
      }
      if (state == bdcoord::v1::INSTANCE_STATE_FAILED) {
        progress.set_failed(progress.failed() + 1);
        result.failed = true;
        InstanceStatus failure = status;
        if (failure.service().empty()) failure.set_service(service.name());
        result.failures.push_back(std::move(failure));
      }
    }
    result.services.push_back(std::move(progress));
  }
  result.done = all_ready && !result.failed;
  return result;
}

}  // namespace bdcoord::coordinator
