#include "coordinator/ops/cluster_ops.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/placement/placement_failures.h"
#include "coordinator/plan/orchestrator.h"
#include "coordinator/plan/rollout.h"
#include "coordinator/render/desired_state.h"
#include "coordinator/spec/diagnostics.h"
#include "coordinator/spec/instance_names.h"
#include "coordinator/state/reported_status.h"
#include "google/protobuf/util/message_differencer.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::InstanceStatus;

absl::Status WithDetail(absl::Status status, const google::protobuf::Message& detail) {
  status.SetPayload(absl::StrCat(kDetailTypeUrlPrefix, detail.GetDescriptor()->full_name()),
                    absl::Cord(detail.SerializeAsString()));
  return status;
}

int TotalInstances(const bdcoord::v1::ClusterSpec& spec) {
  int total = 0;
  for (const auto& service : spec.services()) total += service.count();
  return total;
}

// The plan's diagnostics or placement failures as an error with details, OK when it has none.
absl::Status Rejection(const Plan& plan, const LoadedSpec& loaded, const std::string& file_name) {
  if (!plan.diagnostics.empty()) {
    bdcoord::v1::SpecErrors errors;
    for (const Diagnostic& d : plan.diagnostics) {
      bdcoord::v1::SpecError* error = errors.add_errors();
      error->set_file(file_name);
      error->set_line(d.pos.line);
      error->set_column(d.pos.column);
      error->set_message(d.message);
      error->set_hint(d.hint);
    }
    return WithDetail(absl::InvalidArgumentError(FormatDiagnostics(file_name, plan.diagnostics)),
                      errors);
  }
  if (!plan.failures.empty()) {
    bdcoord::v1::PlacementFailures failures;
    for (const PlacementFailure& f : plan.failures) {
      bdcoord::v1::PlacementFailure* failure = failures.add_failures();
      failure->set_instance(f.instance);
      failure->set_service(f.service);
      failure->set_hosts_total(f.hosts_total);
      for (const RuleFilter& filter : f.filters) {
        bdcoord::v1::RuleFilter* out = failure->add_filters();
        out->set_rule(filter.rule);
        out->set_hosts_filtered(filter.hosts_filtered);
      }
      failure->set_hint(f.hint);
    }
    return WithDetail(absl::FailedPreconditionError(
                          FormatPlacementFailures(plan.failures, TotalInstances(loaded.spec))),
                      failures);
  }
  return absl::OkStatus();
}

// The stored placement as the planner's "previous": instances stay on their host and IP when
// they still fit.
PreviousPlacement PreviousOf(const bdcoord::v1::Placement& placement) {
  PreviousPlacement previous;
  for (const auto& instance : placement.instances()) {
    previous.host_of[instance.name()] = instance.host();
    previous.ip_of[instance.name()] = instance.ip();
  }
  for (const auto& shim : placement.shims()) {
    previous.shim_of[shim.network()][shim.host()] = shim.address();
  }
  return previous;
}

// The spec as applied (with earlier scales), with positions from its text for any message.
LoadedSpec AsLoaded(const AppliedCluster& applied) {
  LoadedSpec loaded = LoadSpec(applied.spec_yaml);
  loaded.diagnostics.clear();
  loaded.spec = applied.spec;
  return loaded;
}

SpecText TextOf(const AppliedCluster& applied) { return {applied.spec_file, applied.spec_yaml}; }

// What every instance runs at this version (pins aside).
ClusterVersion VersionOf(const bdcoord::v1::ClusterSpec& spec,
                         const bdcoord::v1::Placement& placement, const Plan* rendered) {
  Plan plan;
  if (rendered == nullptr) {
    LoadedSpec loaded;
    loaded.spec = spec;
    plan = RenderPlan(loaded, placement);
    rendered = &plan;
  }
  ClusterVersion version;
  std::map<std::string, bdcoord::v1::DesiredInstance> desired = DesiredInstances(spec, *rendered);
  for (const auto& instance : placement.instances()) {
    auto found = desired.find(instance.name());
    if (found == desired.end()) continue;
    version[instance.name()] = {instance.host(), std::move(found->second)};
  }
  return version;
}

// What Status and Progress show: the placement with every instance's status.
struct ClusterState {
  AppliedCluster applied;
  std::map<std::string, InstanceStatus> statuses;
  std::set<std::string> completed;
  Orchestration orchestration;
};

absl::StatusOr<ClusterState> ReadClusterState(Store& store, const std::string& name) {
  ClusterState state;
  auto applied = store.GetCluster(name);
  if (!applied.ok()) return applied.status();
  state.applied = std::move(*applied);
  auto statuses = store.InstanceStatuses(name);
  if (!statuses.ok()) return statuses.status();
  state.statuses = StatusesOnPlacement(state.applied.placement, *statuses);
  state.completed = CompletedInstances(store, state.applied.spec, state.applied.placement);
  OrchestratorInput input;
  input.spec = &state.applied.spec;
  input.placement = &state.applied.placement;
  input.statuses = &state.statuses;
  input.completed = &state.completed;
  state.orchestration = Orchestrate(input);
  return state;
}

// `message`, with a "did you mean" hint among `names` when one fits.
std::string WithHint(std::string message, const std::string& word,
                     const std::vector<std::string>& names) {
  if (std::string hint = SuggestionHint(word, names); !hint.empty()) {
    absl::StrAppend(&message, "; ", hint);
  }
  return message;
}

std::set<std::string> HostsOf(const bdcoord::v1::Placement& placement) {
  std::set<std::string> hosts;
  for (const auto& instance : placement.instances()) hosts.insert(instance.host());
  return hosts;
}

}  // namespace

ClusterOps::ClusterOps(Inventory& inventory, Store& store, AgentSessions& agents, EventBus& events,
                       ClusterController& controller, std::function<absl::Time()> now,
                       HostPolicy policy, const ControllerMetrics* metrics)
    : inventory_(inventory),
      store_(store),
      agents_(agents),
      events_(events),
      controller_(controller),
      now_(std::move(now)),
      policy_(std::move(policy)),
      metrics_(metrics) {}

std::vector<bdcoord::v1::Host> ClusterOps::LiveHosts(const bdcoord::v1::ClusterSpec& spec,
                                                     const std::string& draining, bool with_lost) {
  std::set<std::string> drained = {draining};
  if (auto records = store_.ListHosts(); records.ok()) {
    for (const HostRecord& record : *records) {
      if (record.drained) drained.insert(record.name);
    }
  }
  // Connected hosts that are not down or drained, with their labels and capacity from their
  // facts; per-network parents from the spec's host of the same name.
  std::vector<bdcoord::v1::Host> hosts;
  for (const InventoryHost& live : inventory_.Hosts()) {
    if ((!with_lost && (!live.connected || live.down)) || drained.contains(live.name)) continue;
    bdcoord::v1::Host host;
    host.set_name(live.name);
    for (const auto& [key, value] : live.labels) (*host.mutable_labels())[key] = value;
    host.mutable_capacity()->set_millicpus(int64_t{live.facts.cpus()} * 1000);
    host.mutable_capacity()->set_memory_bytes(live.facts.memory_bytes());
    for (const auto& spec_host : spec.hosts()) {
      if (spec_host.name() == live.name) {
        *host.mutable_parents() = spec_host.parents();
        host.set_address(spec_host.address());
      }
    }
    hosts.push_back(std::move(host));
  }
  return hosts;
}

absl::StatusOr<Plan> ClusterOps::PlanLive(const SpecText& spec) {
  return PlanOn(LoadSpec(spec.yaml), spec.file_name, /*draining=*/"");
}

absl::StatusOr<Plan> ClusterOps::PlanOn(
    const LoadedSpec& loaded, const std::string& file_name, const std::string& draining,
    const std::map<std::string, std::set<std::string>>* moving_off) {
  const std::vector<bdcoord::v1::Host> hosts =
      LiveHosts(loaded.spec, draining, /*with_lost=*/moving_off != nullptr);
  const std::string& cluster = loaded.spec.cluster();
  PreviousPlacement previous;
  bool has_previous = false;
  absl::flat_hash_map<std::string, std::string> taken;  // other clusters' IPs
  std::map<std::string, std::vector<bdcoord::v1::Network>> other_networks;
  if (auto stored = store_.GetCluster(cluster); !cluster.empty() && stored.ok()) {
    previous = PreviousOf(stored->placement);
    has_previous = true;
  }
  auto names = store_.ListClusters();
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    if (name == cluster) continue;
    auto other = store_.GetCluster(name);
    if (!other.ok()) continue;  // taken down meanwhile
    other_networks[name].assign(other->spec.networks().begin(), other->spec.networks().end());
  }
  auto allocated = store_.AllocatedIps();
  if (!allocated.ok()) return allocated.status();
  for (const auto& [ip, owner] : *allocated) {
    if (owner.cluster == cluster) continue;
    taken[ip] = absl::StrCat("instance ", owner.instance, " of cluster '", owner.cluster, "'");
  }
  PlanOptions options;
  options.inventory = &hosts;
  options.previous = has_previous ? &previous : nullptr;
  options.taken_ips = &taken;
  options.other_networks = &other_networks;
  options.moving_off = moving_off;
  const absl::Time placing = now_();
  Plan plan = MakePlan(loaded, options);
  if (metrics_ != nullptr) {
    metrics_->placement_duration.Observe(absl::ToDoubleSeconds(now_() - placing));
  }
  for (Diagnostic& d : CheckHostPolicy(loaded.spec, loaded.positions, policy_)) {
    plan.diagnostics.push_back(std::move(d));
  }
  if (absl::Status rejected = Rejection(plan, loaded, file_name); !rejected.ok()) return rejected;
  return plan;
}

AppliedCluster ClusterOps::Applied(const LoadedSpec& loaded, const SpecText& spec, const Plan& plan,
                                   const AppliedCluster* before) {
  AppliedCluster applied;
  applied.name = loaded.spec.cluster();
  applied.spec_file = spec.file_name;
  applied.spec_yaml = spec.yaml;
  applied.spec = loaded.spec;
  applied.placement = plan.placement;
  applied.applied_at = now_();
  if (before == nullptr) return applied;
  applied.rollout =
      PlanRollout(applied.spec, VersionOf(before->spec, before->placement, nullptr),
                  before->rollout, VersionOf(applied.spec, applied.placement, &plan), now_());
  // What `rollout undo` brings back: the spec before this change (kept when it is the same).
  const bool same = before->spec.SerializeAsString() == applied.spec.SerializeAsString();
  applied.previous_spec_file = same ? before->previous_spec_file : before->spec_file;
  applied.previous_spec_yaml = same ? before->previous_spec_yaml : before->spec_yaml;
  applied.previous_spec = same ? before->previous_spec : before->spec;
  return applied;
}

void ClusterOps::Placed(const AppliedCluster& applied) {
  controller_.Wake();
  bdcoord::v1::Event event;
  event.set_cluster(applied.name);
  event.set_kind(kEventPlaced);
  event.set_message(absl::StrCat(applied.placement.instances_size(), " instances on ",
                                 HostsOf(applied.placement).size(), " hosts"));
  events_.Publish(std::move(event));
}

absl::StatusOr<std::string> ClusterOps::Apply(const SpecText& spec) {
  const LoadedSpec loaded = LoadSpec(spec.yaml);
  absl::StatusOr<Plan> plan = PlanOn(loaded, spec.file_name, /*draining=*/"");
  if (!plan.ok()) return plan.status();
  absl::StatusOr<AppliedCluster> before = store_.GetCluster(loaded.spec.cluster());
  if (!before.ok() && !absl::IsNotFound(before.status())) return before.status();
  const AppliedCluster applied = Applied(loaded, spec, *plan, before.ok() ? &*before : nullptr);
  if (absl::Status stored = store_.ApplyCluster(applied); !stored.ok()) return stored;
  Placed(applied);
  return applied.name;
}

absl::StatusOr<std::string> ClusterOps::Scale(const std::string& requested,
                                              const std::string& service_name, uint32_t count) {
  absl::StatusOr<AppliedCluster> found = FindCluster(requested);
  if (!found.ok()) return found.status();
  const std::string& cluster = found->name;
  LoadedSpec loaded = AsLoaded(*found);
  bdcoord::v1::Service* service = nullptr;
  std::vector<std::string> names;
  for (auto& candidate : *loaded.spec.mutable_services()) {
    names.push_back(candidate.name());
    if (candidate.name() == service_name) service = &candidate;
  }
  if (service == nullptr) {
    return absl::NotFoundError(
        WithHint(absl::StrCat("cluster '", cluster, "' has no service '", service_name, "'"),
                 service_name, names));
  }
  if (service->ips_size() > 0 && static_cast<uint32_t>(service->ips_size()) != count) {
    return absl::InvalidArgumentError(absl::StrCat(
        "service '", service->name(), "' pins ", service->ips_size(), " IPs, so it cannot run ",
        count, " instances; change `ips` in the spec and apply it instead"));
  }
  service->set_count(count);
  absl::StatusOr<Plan> plan = PlanOn(loaded, found->spec_file, /*draining=*/"");
  if (!plan.ok()) return plan.status();
  AppliedCluster applied = Applied(loaded, TextOf(*found), *plan, &*found);
  // Not a new apply: the agents keep their give-ups, and a host whose instances stay as they
  // were is sent only the hosts map's delta (a new applied_at would be news to every host).
  applied.applied_at = found->applied_at;
  if (absl::Status stored = store_.ApplyCluster(applied); !stored.ok()) return stored;
  Placed(applied);
  return applied.name;
}

absl::StatusOr<ClusterOps::DrainResult> ClusterOps::DrainHost(const std::string& host_name,
                                                              bool undo) {
  const auto host = inventory_.Find(host_name);
  if (!host.has_value()) {
    std::vector<std::string> names;
    for (const InventoryHost& known : inventory_.Hosts()) names.push_back(known.name);
    return absl::NotFoundError(
        WithHint(absl::StrCat("no host named '", host_name, "'"), host_name, names));
  }
  DrainResult result;
  if (undo) {
    if (absl::Status undone = store_.DrainHost(host->name, host->facts, now_(), false, {});
        !undone.ok()) {
      return undone;
    }
    return result;
  }
  // Re-plan every cluster with instances there, without it; all or nothing: an impossible
  // re-plan changes nothing and says why.
  auto names = store_.ListClusters();
  if (!names.ok()) return names.status();
  std::vector<AppliedCluster> replanned;
  for (const std::string& name : *names) {
    auto applied = store_.GetCluster(name);
    if (!applied.ok()) return applied.status();
    std::set<std::string> moving;  // its instances on the host
    for (const auto& instance : applied->placement.instances()) {
      if (instance.host() == host->name) moving.insert(instance.name());
    }
    if (moving.empty()) continue;
    const LoadedSpec loaded = AsLoaded(*applied);
    absl::StatusOr<Plan> plan = PlanOn(loaded, applied->spec_file, host->name);
    if (!plan.ok()) {
      return absl::Status(plan.status().code(),
                          absl::StrCat("cannot drain '", host->name, "': cluster '", name,
                                       "' does not fit on the other hosts; nothing moved\n",
                                       plan.status().message()));
    }
    result.moved += static_cast<uint32_t>(moving.size());
    result.clusters.push_back(name);
    for (const auto& instance : plan->placement.instances()) {
      if (!moving.contains(instance.name())) continue;
      bdcoord::v1::MovedInstance& out = result.instances.emplace_back();
      out.set_cluster(name);
      out.set_instance(instance.name());
      out.set_host(instance.host());
    }
    replanned.push_back(Applied(loaded, TextOf(*applied), *plan, &*applied));
  }
  if (absl::Status drained = store_.DrainHost(host->name, host->facts, now_(), true, replanned);
      !drained.ok()) {
    return drained;
  }
  for (const AppliedCluster& applied : replanned) Placed(applied);
  return result;
}

absl::StatusOr<std::vector<bdcoord::v1::MovedInstance>> ClusterOps::Reschedule(
    const std::string& cluster, const RescheduleDecision& due) {
  auto applied = store_.GetCluster(cluster);
  if (!applied.ok()) return applied.status();
  const LoadedSpec loaded = AsLoaded(*applied);
  const std::string what = absl::StrCat("cannot reschedule ", due.instances.size(),
                                        due.instances.size() == 1 ? " instance" : " instances",
                                        " of cluster '", cluster, "' off lost hosts: ");
  absl::StatusOr<Plan> plan = PlanOn(loaded, applied->spec_file, /*draining=*/"", &due.moving_off);
  if (!plan.ok()) {
    return absl::Status(plan.status().code(),
                        absl::StrCat(what, "they do not fit on the other hosts; nothing moved\n",
                                     plan.status().message()));
  }
  std::map<std::string, std::string> host_of;
  for (const auto& instance : plan->placement.instances()) {
    host_of[instance.name()] = instance.host();
  }
  // Only the due instances may move: one without reschedule that a rule makes follow them
  // (colocate_with) may still run on the lost host, and its IP must not run twice.
  std::set<std::string> leaving_names;
  for (const RescheduledInstance& leaving : due.instances) leaving_names.insert(leaving.instance);
  for (const auto& instance : applied->placement.instances()) {
    auto to = host_of.find(instance.name());
    if (leaving_names.contains(instance.name()) || to == host_of.end() ||
        to->second == instance.host()) {
      continue;
    }
    return absl::FailedPreconditionError(
        absl::StrCat(what, instance.name(), " would have to move too (from ", instance.host(),
                     " to ", to->second, "), and its service '", instance.service(),
                     "' has no reschedule; nothing moved"));
  }
  std::vector<bdcoord::v1::MovedInstance> moved;
  for (const RescheduledInstance& leaving : due.instances) {
    auto to = host_of.find(leaving.instance);
    if (to == host_of.end() || to->second == leaving.from) continue;
    bdcoord::v1::MovedInstance& out = moved.emplace_back();
    out.set_cluster(cluster);
    out.set_instance(leaving.instance);
    out.set_host(to->second);
  }
  AppliedCluster next = Applied(loaded, TextOf(*applied), *plan, &*applied);
  // Not a new apply: the agents keep their give-ups.
  next.applied_at = applied->applied_at;
  if (absl::Status stored = store_.ApplyCluster(next); !stored.ok()) return stored;
  Placed(next);
  return moved;
}

absl::StatusOr<ClusterOps::DownResult> ClusterOps::Down(const std::string& requested,
                                                        const std::function<bool()>& cancelled) {
  absl::StatusOr<AppliedCluster> applied = FindCluster(requested);
  if (!applied.ok()) return applied.status();
  const std::string& cluster = applied->name;
  const std::set<std::string> hosts = HostsOf(applied->placement);
  // Deleted first: from now on the controller tells every host still running some of it to
  // remove it, also after a coordinator restart.
  if (absl::Status deleted = store_.DeleteCluster(cluster); !deleted.ok()) return deleted;
  controller_.Wake();
  bdcoord::v1::Event event;
  event.set_cluster(cluster);
  event.set_kind(kEventDown);
  event.set_message(absl::StrCat(applied->placement.instances_size(), " instances to remove"));
  events_.Publish(std::move(event));
  DownResult result;
  result.removed = static_cast<uint32_t>(applied->placement.instances_size());
  while (true) {
    const uint64_t seen = controller_.Passes();
    const ClusterController::Removal removal = controller_.RemovalOf(cluster, hosts);
    if (removal.done) {
      result.disconnected_hosts.assign(removal.disconnected.begin(), removal.disconnected.end());
      return result;
    }
    if (cancelled()) return absl::CancelledError("cancelled");
    controller_.AwaitPassAfter(seen, kCancelCheckPeriod);
  }
}

absl::StatusOr<bdcoord::v1::ApplyProgress> ClusterOps::Progress(const std::string& cluster) {
  auto read = [&]() -> absl::StatusOr<ClusterState> {
    auto state = ReadClusterState(store_, cluster);
    if (absl::IsNotFound(state.status())) {
      return absl::AbortedError(absl::StrCat("cluster '", cluster, "' was taken down meanwhile"));
    }
    return state;
  };
  auto state = read();
  if (!state.ok()) return state.status();
  bool settled = controller_.Settled(cluster, state->applied.spec, state->applied.placement);
  if (settled) {
    // The statuses read before may predate the reports that settled this version (a pass can
    // come between the read and the question): an instance's failure with the spec before would
    // end an apply that is about to replace it. Read again, after; a version applied meanwhile
    // is not the one settled.
    auto again = read();
    if (!again.ok()) return again.status();
    settled = VersionKey(again->applied.spec, again->applied.placement) ==
              VersionKey(state->applied.spec, state->applied.placement);
    state = std::move(again);
  }
  const Orchestration& o = state->orchestration;
  bdcoord::v1::ApplyProgress progress;
  progress.set_cluster(cluster);
  for (const auto& service : o.services) *progress.add_services() = service;
  const bdcoord::v1::Rollout& rollout = state->applied.rollout;
  // A rollout halted on a failure has its failed instance among the failures.
  progress.set_done(settled && (o.failed || (o.done && !RolloutUnderway(rollout))));
  for (const auto& failure : o.failures) *progress.add_failures() = failure;
  if (rollout.state() != bdcoord::v1::Rollout::STATE_UNSPECIFIED) {
    *progress.mutable_rollout() = RolloutForReply(rollout);
  }
  return progress;
}

absl::StatusOr<std::string> ClusterOps::ChangeRollout(
    const std::string& requested, bdcoord::v1::ChangeRolloutRequest::Action action) {
  using bdcoord::v1::Rollout;
  // Another change may come between the read and the write (the controller's pass): then the
  // write is refused (Aborted) and this reads again.
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<AppliedCluster> found = FindCluster(requested);
    if (!found.ok()) return found.status();
    const std::string& cluster = found->name;
    if (action == bdcoord::v1::ChangeRolloutRequest::ACTION_UNDO) return Undo(cluster, "");
    Rollout rollout = found->rollout;
    const bool pause = action == bdcoord::v1::ChangeRolloutRequest::ACTION_PAUSE;
    if (!pause && action != bdcoord::v1::ChangeRolloutRequest::ACTION_RESUME) {
      return absl::InvalidArgumentError("say what to do with the rollout: pause, resume or undo");
    }
    if (rollout.state() == Rollout::STATE_HALTED) {
      // Not resumable: the failed instance's last status is the failure, and a report made
      // before a retry could not be told from one made after it. A new apply plans afresh.
      return absl::FailedPreconditionError(
          absl::StrCat("the rollout of cluster '", cluster, "' halted (", rollout.message(),
                       "): apply a mended spec, or `bdcoord rollout undo`"));
    }
    if (!RolloutUnderway(rollout)) {
      return absl::FailedPreconditionError(
          absl::StrCat("cluster '", cluster, "' has no rollout underway",
                       rollout.state() == Rollout::STATE_DONE ? " (the last one is done)" : ""));
    }
    const Rollout::State wanted = pause ? Rollout::STATE_PAUSED : Rollout::STATE_ROLLING;
    if (rollout.state() == wanted) return cluster;  // already so
    rollout.set_state(wanted);
    const absl::Status stored = store_.UpdateRollout(cluster, rollout);
    if (absl::IsAborted(stored) && attempt < 3) continue;
    if (!stored.ok()) return stored;
    controller_.Wake();
    bdcoord::v1::Event event;
    event.set_cluster(cluster);
    event.set_kind(pause ? "rollout-paused" : "rollout-resumed");
    events_.Publish(std::move(event));
    return cluster;
  }
}

absl::StatusOr<std::string> ClusterOps::Undo(const std::string& cluster, std::string why) {
  absl::StatusOr<AppliedCluster> found = store_.GetCluster(cluster);
  if (!found.ok()) return found.status();
  const AppliedCluster& current = *found;
  if (current.previous_spec_yaml.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cluster '", current.name, "' has no earlier spec to go back to: it was applied once"));
  }
  AppliedCluster previous;
  previous.spec_file = current.previous_spec_file;
  previous.spec_yaml = current.previous_spec_yaml;
  previous.spec = current.previous_spec;
  const LoadedSpec loaded = AsLoaded(previous);
  absl::StatusOr<Plan> plan = PlanOn(loaded, previous.spec_file, /*draining=*/"");
  if (!plan.ok()) return plan.status();
  AppliedCluster applied = Applied(loaded, TextOf(previous), *plan, &current);
  applied.rollout.set_undo(true);
  if (why.empty()) why = "undone by `bdcoord rollout undo`";
  applied.rollout.set_message(std::move(why));
  if (absl::Status stored = store_.ApplyCluster(applied); !stored.ok()) return stored;
  Placed(applied);
  bdcoord::v1::Event event;
  event.set_cluster(applied.name);
  event.set_kind("rollout-undo");
  event.set_message(applied.rollout.message());
  events_.Publish(std::move(event));
  return applied.name;
}

absl::Status ClusterOps::FollowProgress(
    const std::string& cluster, const std::function<bool(const bdcoord::v1::ApplyProgress&)>& write,
    const std::function<bool()>& cancelled) {
  std::string last_progress;
  while (true) {
    const uint64_t seen = controller_.Passes();
    absl::StatusOr<bdcoord::v1::ApplyProgress> progress = Progress(cluster);
    if (!progress.ok()) return progress.status();
    if (std::string text = progress->SerializeAsString(); text != last_progress) {
      if (!write(*progress)) return absl::CancelledError("cancelled");
      last_progress = std::move(text);
    }
    if (progress->done()) return absl::OkStatus();
    if (cancelled()) return absl::CancelledError("cancelled");
    controller_.AwaitPassAfter(seen, kCancelCheckPeriod);
  }
}

absl::StatusOr<std::string> ClusterOps::ResolveCluster(const std::string& requested) {
  auto names = store_.ListClusters();
  if (!names.ok()) return names.status();
  if (requested.empty()) {
    if (names->size() == 1) return names->front();
    if (names->empty()) return absl::NotFoundError("no cluster is applied");
    return absl::InvalidArgumentError(absl::StrCat(names->size(), " clusters are applied (",
                                                   absl::StrJoin(*names, ", "),
                                                   "): name one with -c/--cluster"));
  }
  if (std::find(names->begin(), names->end(), requested) == names->end()) {
    return absl::NotFoundError(
        WithHint(absl::StrCat("no cluster named '", requested, "'"), requested, *names));
  }
  return requested;
}

absl::StatusOr<AppliedCluster> ClusterOps::FindCluster(const std::string& requested) {
  absl::StatusOr<std::string> cluster = ResolveCluster(requested);
  if (!cluster.ok()) return cluster.status();
  return store_.GetCluster(*cluster);
}

std::vector<bdcoord::v1::HostView> ClusterOps::Hosts() {
  std::set<std::string> drained;
  std::map<std::string, uint32_t> instances;  // per host, across clusters
  if (auto records = store_.ListHosts(); records.ok()) {
    for (const HostRecord& record : *records) {
      if (record.drained) drained.insert(record.name);
    }
  }
  if (auto names = store_.ListClusters(); names.ok()) {
    for (const std::string& name : *names) {
      auto cluster = store_.GetCluster(name);
      if (!cluster.ok()) continue;
      for (const auto& instance : cluster->placement.instances()) ++instances[instance.host()];
    }
  }
  std::vector<bdcoord::v1::HostView> views;
  for (const InventoryHost& host : inventory_.Hosts()) {
    bdcoord::v1::HostView& view = views.emplace_back();
    view.set_name(host.name);
    *view.mutable_facts() = host.facts;
    view.set_connected(host.connected);
    view.set_drained(drained.contains(host.name));
    view.set_instances(instances[host.name]);
    if (host.last_heartbeat != absl::InfinitePast()) {
      const int64_t nanos = absl::ToUnixNanos(host.last_heartbeat);
      view.mutable_last_heartbeat()->set_seconds(nanos / 1000000000);
      view.mutable_last_heartbeat()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
    }
  }
  return views;
}

absl::StatusOr<std::vector<std::string>> ClusterOps::RestoreHosts() {
  absl::StatusOr<std::vector<HostRecord>> records = store_.ListHosts();
  if (!records.ok()) return records.status();
  std::map<std::string, bdcoord::v1::HostFacts> facts;
  {
    absl::MutexLock lock(&stored_facts_mu_);
    for (const HostRecord& record : *records) {
      facts[record.name] = record.facts;
      stored_facts_[record.name] = record.facts;
    }
  }
  absl::StatusOr<std::vector<std::string>> names = store_.ListClusters();
  if (!names.ok()) return names.status();
  std::set<std::string> placed;
  for (const std::string& name : *names) {
    absl::StatusOr<AppliedCluster> cluster = store_.GetCluster(name);
    if (!cluster.ok()) return cluster.status();
    placed.merge(HostsOf(cluster->placement));
  }
  const absl::Time now = now_();
  std::vector<std::string> restored;
  for (const std::string& host : placed) {
    if (inventory_.Remember(host, facts[host], now)) restored.push_back(host);
  }
  return restored;
}

absl::Status ClusterOps::RememberHost(const std::string& name,
                                      const bdcoord::v1::HostFacts& facts) {
  absl::MutexLock lock(&stored_facts_mu_);
  if (auto it = stored_facts_.find(name);
      it != stored_facts_.end() &&
      google::protobuf::util::MessageDifferencer::Equals(it->second, facts)) {
    return absl::OkStatus();
  }
  if (absl::Status admitted = store_.AdmitHost(name, facts, now_()); !admitted.ok()) {
    return admitted;
  }
  stored_facts_[name] = facts;
  return absl::OkStatus();
}

std::vector<std::string> ClusterOps::ForgetGoneHosts(absl::Duration after) {
  const absl::Time now = now_();
  std::vector<std::string> gone = inventory_.GoneFor(now, after);
  if (gone.empty()) return {};
  auto names = store_.ListClusters();
  if (!names.ok()) return {};  // cannot tell which are in use: keep them all
  std::set<std::string> placed;
  for (const std::string& name : *names) {
    auto cluster = store_.GetCluster(name);
    if (!cluster.ok()) return {};
    for (const auto& instance : cluster->placement.instances()) placed.insert(instance.host());
  }
  std::erase_if(gone, [&placed](const std::string& host) { return placed.contains(host); });
  return inventory_.Forget(gone, now, after);
}

absl::StatusOr<std::vector<bdcoord::v1::ClusterStatus>> ClusterOps::Status(
    const std::string& requested, bool probe) {
  std::vector<std::string> names;
  if (requested.empty()) {
    auto all = store_.ListClusters();
    if (!all.ok()) return all.status();
    names = std::move(*all);
  } else {
    absl::StatusOr<std::string> cluster = ResolveCluster(requested);
    if (!cluster.ok()) return cluster.status();
    names.push_back(*cluster);
  }
  std::map<std::string, absl::Time> lost;  // host -> its last heartbeat
  for (const InventoryHost& host : inventory_.Hosts()) {
    if (!host.connected || host.down) lost[host.name] = host.last_heartbeat;
  }
  const absl::Time now = now_();
  std::vector<bdcoord::v1::ClusterStatus> clusters;
  for (const std::string& name : names) {
    auto state = ReadClusterState(store_, name);
    if (absl::IsNotFound(state.status())) continue;  // taken down meanwhile
    if (!state.ok()) return state.status();
    bdcoord::v1::ClusterStatus& out = clusters.emplace_back();
    out.set_cluster(name);
    for (const auto& instance : state->applied.placement.instances()) {
      bdcoord::v1::InstanceView* view = out.add_instances();
      *view->mutable_placed() = instance;
      if (auto it = state->statuses.find(instance.name()); it != state->statuses.end()) {
        *view->mutable_status() = it->second;
      } else {
        view->mutable_status()->set_name(instance.name());
        view->mutable_status()->set_service(instance.service());
        view->mutable_status()->set_state(state->completed.contains(instance.name())
                                              ? bdcoord::v1::INSTANCE_STATE_COMPLETED
                                              : bdcoord::v1::INSTANCE_STATE_PENDING);
      }
      if (auto down = lost.find(instance.host()); down != lost.end()) {
        // What its host last said is old news: say why, and whether it will move.
        const bdcoord::v1::Service* service = FindService(state->applied.spec, instance.service());
        const absl::Duration after =
            service == nullptr ? absl::ZeroDuration() : RescheduleAfter(*service);
        view->mutable_status()->set_message(absl::StrCat(
            "host ", instance.host(), " is down: no heartbeat for ",
            absl::FormatDuration(absl::Trunc(now - down->second, absl::Seconds(1))),
            after > absl::ZeroDuration()
                ? absl::StrCat("; rescheduled elsewhere once it is lost for ",
                               absl::FormatDuration(after))
                : absl::StrCat("; '", instance.service(),
                               "' has no reschedule: it stays placed there until the host is "
                               "back")));
      }
    }
    for (const auto& progress : state->orchestration.services) *out.add_services() = progress;
    *out.mutable_shims() = state->applied.placement.shims();
    if (state->applied.rollout.state() != bdcoord::v1::Rollout::STATE_UNSPECIFIED) {
      *out.mutable_rollout() = RolloutForReply(state->applied.rollout);
    }
    if (probe) ProbeNow(state->applied.spec, &out);
  }
  return clusters;
}

void ClusterOps::ProbeNow(const bdcoord::v1::ClusterSpec& spec,
                          bdcoord::v1::ClusterStatus* cluster) {
  std::map<std::string, const bdcoord::v1::Service*> services;
  for (const auto& service : spec.services()) services[service.name()] = &service;
  // All at once, each on its host: the slowest probe bounds the call, not their sum.
  const absl::Time deadline = now_() + kProbeTimeout + absl::Seconds(1);
  std::vector<std::thread> probes;
  for (bdcoord::v1::InstanceView& view : *cluster->mutable_instances()) {
    auto service = services.find(view.placed().service());
    if (service == services.end() || !service->second->has_ready() ||
        view.status().state() != bdcoord::v1::INSTANCE_STATE_RUNNING) {
      continue;
    }
    bdcoord::v1::ProbeRequest request;
    request.set_container(view.status().container_id().empty() ? view.placed().name()
                                                               : view.status().container_id());
    request.set_ip(view.placed().ip());
    *request.mutable_probe() = service->second->ready();
    request.mutable_timeout()->set_seconds(absl::ToInt64Seconds(kProbeTimeout));
    probes.emplace_back([this, &view, request, deadline] {
      auto result = agents_.RunProbe(view.placed().host(), request, deadline);
      if (!result.ok()) {
        view.set_probe(std::string(result.status().message()));
      } else {
        view.set_probe(result->ok() ? "ok" : result->message());
      }
    });
  }
  for (std::thread& probe : probes) probe.join();
}

absl::StatusOr<std::vector<ClusterOps::LogTarget>> ClusterOps::LogTargets(
    const std::string& requested_cluster, const std::string& target) {
  if (target.empty()) {
    return absl::InvalidArgumentError("name an instance or a service whose logs to stream");
  }
  absl::StatusOr<std::string> cluster_name = ResolveCluster(requested_cluster);
  if (!cluster_name.ok()) return cluster_name.status();
  auto cluster = store_.GetCluster(*cluster_name);
  if (!cluster.ok()) return cluster.status();

  // The target: one instance, else every instance of a service.
  std::vector<bdcoord::v1::PlacedInstance> placed;
  std::vector<std::string> names;
  std::set<std::string> services;
  for (const auto& instance : cluster->placement.instances()) {
    if (instance.name() == target) placed = {instance};
    names.push_back(instance.name());
    services.insert(instance.service());
  }
  if (placed.empty()) {
    for (const auto& instance : cluster->placement.instances()) {
      if (instance.service() == target) placed.push_back(instance);
    }
  }
  if (placed.empty()) {
    names.insert(names.end(), services.begin(), services.end());
    const std::string closest = ClosestMatch(target, names);
    return absl::NotFoundError(absl::StrCat(
        "no instance or service named '", target, "' in cluster '", *cluster_name, "'",
        closest.empty() ? "" : "; did you mean '", closest, closest.empty() ? "" : "'?"));
  }
  std::map<std::string, InstanceStatus> statuses;
  if (auto stored = store_.InstanceStatuses(*cluster_name); stored.ok()) {
    statuses = StatusesOnPlacement(cluster->placement, *stored);
  }
  std::vector<LogTarget> targets;
  for (const auto& instance : placed) {
    const auto host = inventory_.Find(instance.host());
    if (!host.has_value() || !host->connected || host->down) {
      return absl::UnavailableError(absl::StrCat("instance '", instance.name(), "' is on host '",
                                                 instance.host(), "', which is not connected"));
    }
    // The container by its ID when the agent reported one: its name is the instance's unless
    // another cluster on that host has an instance of the same name (then INSTANCE.CLUSTER).
    LogTarget& out = targets.emplace_back();
    out.instance = instance.name();
    out.host = instance.host();
    out.container = instance.name();
    if (auto it = statuses.find(instance.name());
        it != statuses.end() && !it->second.container_id().empty()) {
      out.container = it->second.container_id();
    }
  }
  return targets;
}

absl::StatusOr<std::vector<bdcoord::v1::HostImages>> ClusterOps::HostImages(
    const google::protobuf::RepeatedPtrField<std::string>& hosts) {
  absl::StatusOr<std::vector<std::string>> names = ImageHosts(inventory_, hosts);
  if (!names.ok()) return names.status();
  std::map<std::string, absl::StatusOr<bdcoord::v1::ImageList>> lists =
      agents_.ListImages(*names, now_() + ImagePushLimits().list_timeout);
  std::vector<bdcoord::v1::HostImages> out;
  for (const std::string& name : *names) {
    bdcoord::v1::HostImages& host = out.emplace_back();
    host.set_host(name);
    const absl::StatusOr<bdcoord::v1::ImageList>& images = lists.at(name);
    if (!images.ok()) {
      host.set_error(std::string(images.status().message()));
      continue;
    }
    host.set_error(images->error());
    *host.mutable_images() = images->images();
  }
  return out;
}

}  // namespace bdcoord::coordinator
