#include "coordinator/ops/controller.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "coordinator/plan/orchestrator.h"
#include "coordinator/plan/rollout.h"
#include "coordinator/spec/instance_names.h"
#include "coordinator/state/reported_status.h"
#include "google/protobuf/util/time_util.h"
#include "policy/spec_hash.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::InstanceStatus;

// "running" for INSTANCE_STATE_RUNNING: the state as a metric label; "unknown" for a number
// this coordinator has no name for (a newer agent's).
std::string StateLabel(bdcoord::v1::InstanceState state) {
  const std::string& name = bdcoord::v1::InstanceState_Name(state);
  if (name.empty()) return "unknown";
  return absl::AsciiStrToLower(absl::StripPrefix(name, "INSTANCE_STATE_"));
}

}  // namespace

std::string VersionKey(const bdcoord::v1::ClusterSpec& spec,
                       const bdcoord::v1::Placement& placement) {
  return absl::StrCat(spec.SerializeAsString(), "\n", placement.SerializeAsString());
}

std::set<std::string> CompletedInstances(Store& store, const bdcoord::v1::ClusterSpec& spec,
                                         const bdcoord::v1::Placement& placement) {
  std::set<std::string> completed;
  for (const auto& instance : placement.instances()) {
    const bdcoord::v1::Service* service = FindService(spec, instance.service());
    if (service == nullptr || !service->run_once()) continue;
    auto done = store.RunOnceCompleted(spec.cluster(), instance.name());
    if (done.ok() && *done) completed.insert(instance.name());
  }
  return completed;
}

ClusterController::ClusterController(Inventory& inventory, AgentSessions& agents, Store& store,
                                     std::shared_ptr<spdlog::logger> logger,
                                     std::function<absl::Time()> now, absl::Duration period,
                                     const ControllerMetrics* metrics)
    : inventory_(inventory),
      agents_(agents),
      store_(store),
      logger_(std::move(logger)),
      period_(period),
      now_(std::move(now)),
      // Distinct across coordinator restarts, so no report made before one matches after it.
      next_generation_(static_cast<uint64_t>(absl::ToUnixMicros(now_()))),
      next_hosts_version_(next_generation_),
      metrics_(metrics) {}

void ClusterController::SetRolloutHooks(
    EventBus* events, std::function<void(const std::string&, const std::string&)> revert) {
  events_ = events;
  revert_ = std::move(revert);
}

void ClusterController::SetRescheduleHook(RescheduleFn reschedule) {
  reschedule_ = std::move(reschedule);
}

ClusterController::~ClusterController() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void ClusterController::Start() {
  thread_ = std::thread([this] {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || wake_; };
        // Sooner when a rollout step becomes healthy enough before the period is over.
        mu_.AwaitWithTimeout(absl::Condition(&woken),
                             std::clamp(recheck_at_ - now_(), absl::ZeroDuration(), period_));
        if (stop_) return;
        wake_ = false;
      }
      if (acting_ && !acting_()) continue;  // a standby coordinator: the leader's controller acts
      RunPass();
    }
  });
}

void ClusterController::Wake() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

void ClusterController::RunPass() {
  const absl::Time recheck_at = SyncAll();
  absl::MutexLock lock(&mu_);
  recheck_at_ = recheck_at;
  ++passes_;
}

uint64_t ClusterController::Passes() const {
  absl::MutexLock lock(&mu_);
  return passes_;
}

bool ClusterController::AwaitPassAfter(uint64_t seen, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto passed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return passes_ > seen; };
  return mu_.AwaitWithTimeout(absl::Condition(&passed), timeout);
}

absl::Time ClusterController::SyncAll() {
  absl::MutexLock lock(&pass_mu_);
  next_pass_at_ = absl::InfiniteFuture();
  std::map<std::string, uint64_t> connected;  // host -> session
  std::map<std::string, absl::Time> lost;     // host -> its last heartbeat
  const std::vector<InventoryHost> hosts = inventory_.Hosts();
  for (const InventoryHost& host : hosts) {
    if (host.connected) connected[host.name] = host.session;
    if (!host.connected || host.down) lost[host.name] = host.last_heartbeat;
  }
  auto clusters = store_.ListClusters();
  if (!clusters.ok()) {
    logger_->error("cannot list clusters: {}", std::string(clusters.status().message()));
    return absl::InfiniteFuture();
  }
  instances_.clear();
  for (const std::string& cluster : *clusters) SyncCluster(cluster, connected, lost);
  ClearUnknown(std::set<std::string>(clusters->begin(), clusters->end()), connected);
  if (metrics_ != nullptr) PublishGauges(hosts);
  return next_pass_at_;
}

void ClusterController::PublishGauges(const std::vector<InventoryHost>& hosts) {
  int up = 0;
  for (const InventoryHost& host : hosts) up += host.connected && !host.down;
  int drained = 0;
  if (auto records = store_.ListHosts(); records.ok()) {
    for (const HostRecord& record : *records) drained += record.drained;
  }
  metrics_->hosts.Add({{"state", "connected"}}).Set(up);
  metrics_->hosts.Add({{"state", "down"}}).Set(static_cast<double>(hosts.size()) - up);
  metrics_->hosts.Add({{"state", "drained"}}).Set(drained);
  for (const InstanceLabels& labels : published_instances_) {
    if (!instances_.contains(labels)) metrics_->instances.Remove(&metrics_->instances.Add(labels));
  }
  published_instances_.clear();
  for (const auto& [labels, count] : instances_) {
    metrics_->instances.Add(labels).Set(count);
    published_instances_.insert(labels);
  }
}

void ClusterController::SyncCluster(const std::string& cluster,
                                    const std::map<std::string, uint64_t>& connected,
                                    const std::map<std::string, absl::Time>& lost) {
  auto applied = store_.GetCluster(cluster);
  if (!applied.ok()) return;  // deleted meanwhile
  if (reschedule_) {
    const RescheduleDecision due = DueReschedules(applied->spec, applied->placement, lost, now_());
    next_pass_at_ = std::min(next_pass_at_, due.next_due);
    if (!due.empty() && RescheduleLost(cluster, due)) return;
  }
  // Only what the hosts of this placement reported: a moved instance starts afresh.
  auto stored = store_.InstanceStatuses(cluster);
  std::map<std::string, InstanceStatus> statuses;
  if (stored.ok()) statuses = StatusesOnPlacement(applied->placement, *stored);
  std::set<std::string> completed = CompletedInstances(store_, applied->spec, applied->placement);
  std::map<std::string, std::string> host_of;  // instance -> host
  for (const auto& instance : applied->placement.instances()) {
    host_of[instance.name()] = instance.host();
  }

  // The hosts to tell: those the cluster is placed on, and those still running some of it.
  std::set<std::string> hosts;
  for (const auto& [name, host] : host_of) hosts.insert(host);
  for (const auto& [host, session] : connected) {
    const auto report = agents_.LatestStatus(host, cluster);
    if (!report.has_value()) continue;
    if (report->instances_size() > 0) hosts.insert(host);
    Sent& sent = sent_[{host, cluster}];
    if (report->generation() != sent.generation) continue;  // made against an older state
    // Made against the last state sent, with another hosts map than that one's delta led to: the
    // host did not take the delta (its map was not the delta's base) and gets the whole map.
    if (sent.hosts_delta && report->hosts_version() != sent.hosts_version && !sent.resync) {
      logger_->info("host '{}' has hosts map version {} of cluster '{}', not {}: sending it whole",
                    host, report->hosts_version(), cluster, sent.hosts_version);
      sent.resync = true;
    }
    std::vector<InstanceStatus> changed;
    for (const InstanceStatus& status : report->instances()) {
      auto where = host_of.find(status.name());
      if (where == host_of.end() || where->second != host) continue;  // moved or scaled away
      auto& known = statuses[status.name()];
      if (known.SerializeAsString() == status.SerializeAsString()) continue;
      known = status;
      if (status.state() == bdcoord::v1::INSTANCE_STATE_COMPLETED) completed.insert(status.name());
      changed.push_back(status);
    }
    if (absl::Status marked = store_.MarkInstances(cluster, host, changed); !marked.ok()) {
      logger_->warn("cannot record {} statuses from '{}': {}", changed.size(), host,
                    std::string(marked.message()));
    }
    sent.recorded = report->generation();
  }

  for (const auto& instance : applied->placement.instances()) {
    const auto status = statuses.find(instance.name());
    const std::string state =
        status == statuses.end() ? "pending" : StateLabel(status->second.state());
    ++instances_[{{"cluster", cluster}, {"service", instance.service()}, {"state", state}}];
  }

  OrchestratorInput input;
  input.spec = &applied->spec;
  input.placement = &applied->placement;
  input.statuses = &statuses;
  input.completed = &completed;
  const Orchestration orchestration = Orchestrate(input);

  Rendered& rendered = rendered_[cluster];
  std::string key = VersionKey(applied->spec, applied->placement);
  if (rendered.key != key) {
    LoadedSpec loaded;
    loaded.spec = applied->spec;
    rendered.plan = RenderPlan(loaded, applied->placement);
    rendered.shares = SharesByHost(applied->spec, rendered.plan);
    rendered.target_hash.clear();
    for (const auto& [name, instance] : DesiredInstances(applied->spec, rendered.plan)) {
      rendered.target_hash[name] = policy::SpecHash(instance);
    }
    rendered.key = std::move(key);
    rendered.revision = ++renders_;
    net::HostsMap hosts(next_hosts_version_ + 1, HostsEntries(applied->placement));
    if (rendered.hosts.version() == 0 || !rendered.hosts.SameEntries(hosts)) {
      ++next_hosts_version_;
      rendered.delta_proto.reset();
      if (rendered.hosts.version() != 0) {
        rendered.delta_proto = net::ToProto(net::Diff(rendered.hosts, hosts));
      }
      rendered.hosts_proto = net::ToProto(hosts);
      rendered.hosts = std::move(hosts);
    }
  }
  if (!AdvanceClusterRollout(*applied, rendered, statuses)) return;
  InstanceOverrides overrides;
  overrides.held = orchestration.held;
  overrides.completed = std::move(completed);
  overrides.pinned = PinnedInstances(applied->rollout);
  for (const std::string& host : hosts) {
    auto session = connected.find(host);
    if (session == connected.end()) continue;  // told when it reconnects
    const HostShare& share = ShareOf(rendered.shares, host);
    const int64_t applied_at = absl::ToUnixMicros(applied->applied_at);
    const size_t inputs =
        absl::HashOf(rendered.revision, applied_at, OverridesHash(rendered.plan, share, overrides));
    SendIfChanged(
        host, session->second, cluster, inputs,
        [&] {
          bdcoord::v1::DesiredState desired =
              MakeDesiredState(applied->spec, rendered.plan, share, overrides);
          // A new apply (even of the same spec) is news to the agent: it retries what it gave up
          // on.
          *desired.mutable_applied_at() =
              google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(applied_at);
          return desired;
        },
        &rendered);
  }
}

bool ClusterController::RescheduleLost(const std::string& cluster, const RescheduleDecision& due) {
  absl::StatusOr<std::vector<bdcoord::v1::MovedInstance>> moved = reschedule_(cluster, due);
  if (!moved.ok()) {
    std::string why(moved.status().message());
    if (reschedule_failed_[cluster] != why) {
      logger_->warn("{}", why);
      if (events_ != nullptr) {
        bdcoord::v1::Event event;
        event.set_cluster(cluster);
        event.set_kind(kEventRescheduleFailed);
        event.set_message(why);
        events_->Publish(std::move(event));
      }
      reschedule_failed_[cluster] = std::move(why);
    }
    return false;
  }
  reschedule_failed_.erase(cluster);
  std::map<std::string, const RescheduledInstance*> leaving;
  for (const RescheduledInstance& instance : due.instances) leaving[instance.instance] = &instance;
  for (const bdcoord::v1::MovedInstance& instance : *moved) {
    const RescheduledInstance& from = *leaving.at(instance.instance());
    const std::string message = absl::StrCat(
        "from ", from.from, " to ", instance.host(), ": host ", from.from,
        " lost (no heartbeat for ",
        absl::FormatDuration(absl::Trunc(from.lost_for, absl::Seconds(1))), "), same name and IP");
    logger_->info("cluster '{}': rescheduled {} {}", cluster, instance.instance(), message);
    if (events_ == nullptr) continue;
    bdcoord::v1::Event event;
    event.set_cluster(cluster);
    event.set_instance(instance.instance());
    event.set_host(instance.host());
    event.set_kind(kEventRescheduled);
    event.set_message(message);
    events_->Publish(std::move(event));
  }
  Wake();
  return true;
}

bool ClusterController::AdvanceClusterRollout(
    AppliedCluster& applied, const Rendered& rendered,
    const std::map<std::string, InstanceStatus>& statuses) {
  if (!RolloutUnderway(applied.rollout)) return true;
  const bdcoord::v1::Rollout::State state_before = applied.rollout.state();
  bdcoord::v1::Rollout rollout = applied.rollout;
  RolloutAdvance advance =
      AdvanceRollout(applied.spec, rendered.target_hash, statuses, nullptr, now_(), &rollout);
  if (!advance.probe_leaders.empty()) {
    // A leader_last service is to release one: which is the leader decides which.
    const std::set<std::string> leaders = Leaders(applied, advance.probe_leaders, statuses);
    RolloutAdvance release =
        AdvanceRollout(applied.spec, rendered.target_hash, statuses, &leaders, now_(), &rollout);
    advance.events.insert(advance.events.end(), release.events.begin(), release.events.end());
    advance.changed |= release.changed;
    advance.revert_requested |= release.revert_requested;
    advance.recheck_at = std::min(advance.recheck_at, release.recheck_at);
  }
  next_pass_at_ = std::min(next_pass_at_, advance.recheck_at);
  if (!advance.changed) return true;
  if (absl::Status stored = store_.UpdateRollout(applied.name, rollout); !stored.ok()) {
    // Aborted: an apply, pause or undo came first; the next pass works from it.
    if (!absl::IsAborted(stored)) {
      logger_->warn("cannot record the rollout of '{}': {}", applied.name,
                    std::string(stored.message()));
    }
    Wake();
    return false;
  }
  rollout.set_revision(rollout.revision() + 1);
  applied.rollout = std::move(rollout);
  if (applied.rollout.state() != state_before) ObserveRolloutEnd(applied.rollout);
  for (RolloutEvent& step : advance.events) {
    logger_->info("cluster '{}' rollout: {} {}{}", applied.name, step.kind, step.instance,
                  step.instance.empty() ? step.message : ": " + step.message);
    if (events_ == nullptr) continue;
    bdcoord::v1::Event event;
    event.set_cluster(applied.name);
    event.set_instance(step.instance);
    event.set_kind(std::move(step.kind));
    event.set_message(std::move(step.message));
    events_->Publish(std::move(event));
  }
  if (advance.revert_requested && revert_) {
    revert_(applied.name, absl::StrCat("reverted: ", applied.rollout.message()));
    return false;  // the next pass sends the reverting version
  }
  return true;
}

void ClusterController::ObserveRolloutEnd(const bdcoord::v1::Rollout& rollout) {
  if (metrics_ == nullptr) return;
  prometheus::Histogram* outcome = nullptr;
  if (rollout.state() == bdcoord::v1::Rollout::STATE_DONE) outcome = &metrics_->rollout_done;
  if (rollout.state() == bdcoord::v1::Rollout::STATE_HALTED) outcome = &metrics_->rollout_halted;
  if (outcome == nullptr || !rollout.has_started_at() || !rollout.has_finished_at()) return;
  const auto took = google::protobuf::util::TimeUtil::DurationToMilliseconds(rollout.finished_at() -
                                                                             rollout.started_at());
  outcome->Observe(static_cast<double>(took) / 1000);
}

std::set<std::string> ClusterController::Leaders(
    const AppliedCluster& applied, const std::vector<std::string>& names,
    const std::map<std::string, InstanceStatus>& statuses) {
  std::map<std::string, const bdcoord::v1::PlacedInstance*> placed;
  for (const auto& instance : applied.placement.instances()) placed[instance.name()] = &instance;
  // All at once, each on its host (as `status --probe`): the slowest bounds the pass's wait.
  const absl::Time deadline = now_() + kLeaderProbeTimeout + absl::Seconds(1);
  std::vector<std::pair<std::string, std::thread>> probes;
  absl::Mutex mu;
  std::set<std::string> leaders;
  for (const std::string& name : names) {
    auto where = placed.find(name);
    const bdcoord::v1::Service* service =
        where == placed.end() ? nullptr : FindService(applied.spec, where->second->service());
    if (service == nullptr) continue;
    bdcoord::v1::ProbeRequest request;
    auto status = statuses.find(name);
    request.set_container(status == statuses.end() || status->second.container_id().empty()
                              ? name
                              : status->second.container_id());
    request.set_ip(where->second->ip());
    *request.mutable_probe() = service->update().leader();
    request.mutable_timeout()->set_seconds(absl::ToInt64Seconds(kLeaderProbeTimeout));
    const std::string host = where->second->host();
    probes.emplace_back(name, std::thread([this, &mu, &leaders, name, host, request, deadline] {
                          absl::StatusOr<bdcoord::v1::CommandResult> result =
                              agents_.RunProbe(host, request, deadline);
                          if (!result.ok() || !result->ok())
                            return;  // not the leader, or cannot tell
                          absl::MutexLock lock(&mu);
                          leaders.insert(name);
                        }));
  }
  for (auto& [name, probe] : probes) probe.join();
  if (!leaders.empty()) {
    logger_->info("cluster '{}' rollout: {} the leader, replaced last", applied.name,
                  absl::StrJoin(leaders, ", "));
  }
  return leaders;
}

void ClusterController::ClearUnknown(const std::set<std::string>& clusters,
                                     const std::map<std::string, uint64_t>& connected) {
  for (const auto& [host, session] : connected) {
    for (const auto& [cluster, report] : agents_.LatestStatuses(host)) {
      if (clusters.contains(cluster) || report.instances_size() == 0) continue;
      const std::string& gone = cluster;  // clang 14: a lambda captures no structured binding
      SendIfChanged(
          host, session, gone, 0,
          [&gone] {
            bdcoord::v1::DesiredState empty;
            empty.set_cluster(gone);
            return empty;
          },
          nullptr);
    }
  }
  for (auto it = rendered_.begin(); it != rendered_.end();) {
    it = clusters.contains(it->first) ? std::next(it) : rendered_.erase(it);
  }
}

void ClusterController::SendIfChanged(const std::string& host, uint64_t session,
                                      const std::string& cluster, size_t inputs,
                                      absl::FunctionRef<bdcoord::v1::DesiredState()> build,
                                      const Rendered* rendered) {
  Sent& sent = sent_[{host, cluster}];
  // Messages of one session arrive in order: the host has what it was last sent in it.
  const bool current = sent.session == session && sent.generation != 0 && !sent.resync;
  // Built from what the host's state was built from: the same state, not built again.
  const bool same_inputs = current && inputs != 0 && sent.inputs == inputs;
  bdcoord::v1::DesiredState desired;
  if (!same_inputs) desired = build();
  const size_t desired_hash =
      same_inputs ? sent.desired_hash : absl::HashOf(desired.SerializeAsString());
  const bool with_instances = same_inputs ? sent.with_instances : desired.instances_size() > 0;
  // The hosts map only matters where the cluster has containers: a host told to run none of it
  // may forget it, and gets the whole map again when it has some.
  const bool with_hosts = rendered != nullptr && with_instances;
  const uint64_t hosts_version = with_hosts ? rendered->hosts.version() : 0;
  const bool same_desired = current && sent.desired_hash == desired_hash;
  const bool same_hosts = current && sent.hosts_version == hosts_version;
  // Other inputs that make the same state (another host's change re-rendered the plan).
  if (same_desired) sent.inputs = inputs;
  if (same_desired && same_hosts) return;
  bdcoord::v1::CoordinatorMessage message;
  bdcoord::v1::DesiredState& out = *message.mutable_desired();
  if (same_desired) {
    out.set_cluster(cluster);
    out.set_hosts_only(true);
  } else {
    out = std::move(desired);
  }
  bool delta = false;
  if (with_hosts && !same_hosts) {
    delta = current && rendered->delta_proto.has_value() && sent.hosts_version != 0 &&
            rendered->delta_proto->from_version() == sent.hosts_version;
    if (delta) {
      *out.mutable_hosts_delta() = *rendered->delta_proto;
    } else {
      *out.mutable_hosts_map() = rendered->hosts_proto;
    }
  }
  const uint64_t generation = ++next_generation_;
  out.set_generation(generation);
  if (absl::Status status = agents_.Send(host, message); !status.ok()) {
    logger_->warn("cannot send the desired state of cluster '{}' to '{}': {}", out.cluster(), host,
                  std::string(status.message()));
    return;
  }
  logger_->debug("sent host '{}' cluster '{}': {}, hosts map {}", host, out.cluster(),
                 same_desired ? "hosts only" : absl::StrCat(out.instances_size(), " instances"),
                 out.has_hosts_delta() ? "delta"
                 : out.has_hosts_map() ? "whole"
                                       : "unchanged");
  if (metrics_ != nullptr) {
    metrics_->desired_states_sent.Increment();
    metrics_->desired_state_bytes.Increment(static_cast<double>(message.ByteSizeLong()));
  }
  sent.session = session;
  sent.desired_hash = desired_hash;
  sent.inputs = inputs;
  sent.with_instances = with_instances;
  sent.hosts_version = hosts_version;
  sent.hosts_delta = delta;
  sent.resync = false;
  sent.generation = generation;
}

bool ClusterController::Settled(const std::string& cluster, const bdcoord::v1::ClusterSpec& spec,
                                const bdcoord::v1::Placement& placement) {
  std::set<std::string> hosts;
  for (const auto& instance : placement.instances()) hosts.insert(instance.host());
  absl::MutexLock lock(&pass_mu_);
  // This version was rendered, hence sent, by a pass; not only an earlier one.
  auto rendered = rendered_.find(cluster);
  if (rendered == rendered_.end() || rendered->second.key != VersionKey(spec, placement)) {
    return false;
  }
  for (const std::string& host : hosts) {
    auto sent = sent_.find({host, cluster});
    if (sent == sent_.end() || sent->second.generation == 0) return false;
    if (sent->second.recorded != sent->second.generation) return false;
  }
  return true;
}

ClusterController::Removal ClusterController::RemovalOf(const std::string& cluster,
                                                        const std::set<std::string>& hosts) const {
  Removal removal;
  removal.done = true;
  for (const std::string& host : hosts) {
    const auto found = inventory_.Find(host);
    if (!found.has_value() || !found->connected) {
      removal.disconnected.insert(host);
      continue;
    }
    const auto report = agents_.LatestStatus(host, cluster);
    if (report.has_value() && report->instances_size() > 0) removal.done = false;
  }
  return removal;
}

}  // namespace bdcoord::coordinator
