#include "agent/agent.h"

#include <algorithm>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"
#include "agent/desired_update.h"
#include "agent/latest_report_sender.h"
#include "agent/pass_progress.h"
#include "agent/probes/probes.h"
#include "google/protobuf/util/message_differencer.h"
#include "proto/rpc/logging.h"
#include "proto/rpc/status_limits.h"

namespace bdcoord::agent {
namespace {

// The program's own logger: these lines are what an operator reads of bdagent.
std::shared_ptr<spdlog::logger> Logger() { return rpc::NamedLogger("bdagent"); }

// A cluster whose desired state is empty and whose containers are all gone: taken down.
bool TakenDown(const bdcoord::v1::DesiredState& desired, const ReconcileResult& result) {
  return desired.instances().empty() && desired.networks().empty() && result.statuses.empty() &&
         result.errors.empty();
}

}  // namespace

absl::Duration NextEventBackoff(absl::Duration current) {
  return std::min(current * 2, absl::Seconds(30));
}

Agent::Agent(DockerClient* docker, Reconciler* reconciler, Prober* prober, AgentOptions options)
    : docker_(docker), reconciler_(reconciler), prober_(prober), options_(std::move(options)) {
  last_contact_ = options_.now();  // a restarted agent counts its fence from its start
}

void Agent::Contact() {
  absl::Duration was_lost;
  bool fenced = false;
  {
    absl::MutexLock lock(&contact_mu_);
    const absl::Time now = options_.now();
    was_lost = now - last_contact_;
    last_contact_ = now;
    fenced = std::exchange(lost_logged_, false);
  }
  if (fenced) {
    Logger()->info(
        "the coordinator is back after {} without it: fenced instances start again "
        "unless they were moved away",
        absl::FormatDuration(absl::Trunc(was_lost, absl::Seconds(1))));
    Wake();
  }
}

absl::Duration Agent::LostFor() const {
  if (uplink_.load() == nullptr) return absl::ZeroDuration();
  absl::MutexLock lock(&contact_mu_);
  return std::max(absl::ZeroDuration(), options_.now() - last_contact_);
}

absl::Time Agent::NextFenceDue() const {
  if (uplink_.load() == nullptr) return absl::InfiniteFuture();
  absl::Duration shortest = absl::InfiniteDuration();
  {
    absl::MutexLock lock(&desired_mu_);
    for (const auto& [cluster, desired] : desired_by_cluster_) {
      shortest = std::min(shortest, ShortestFence(desired));
    }
  }
  if (shortest == absl::InfiniteDuration()) return absl::InfiniteFuture();
  absl::MutexLock lock(&contact_mu_);
  // Once a pass fenced, those at the interval keep it so (and fence longer fence_afters).
  return lost_logged_ ? absl::InfiniteFuture() : last_contact_ + shortest;
}

Agent::~Agent() {
  Stop();
  WaitForProbeRequests();
}

void Agent::SetUplink(Uplink* uplink) { uplink_ = uplink; }

void Agent::SetDesired(const bdcoord::v1::DesiredState& desired) {
  std::vector<bdcoord::v1::DesiredInstance> to_release;
  {
    absl::MutexLock lock(&desired_mu_);
    const std::string& cluster = desired.cluster();
    auto kept_desired = desired_by_cluster_.find(cluster);
    std::optional<KeptDesired> kept;
    if (kept_desired != desired_by_cluster_.end()) {
      kept = KeptDesired{std::move(kept_desired->second), std::move(hosts_by_cluster_[cluster])};
    }
    DesiredUpdate update = UpdateDesired(kept ? &*kept : nullptr, desired);
    if (!update.hosts.ok()) {
      // The report of this generation carries the map's version as it was: the coordinator
      // answers it with the whole map.
      Logger()->warn("cluster '{}': hosts map not updated, asking for the whole map: {}", cluster,
                     std::string(update.hosts.message()));
    }
    if (update.unusable) return;  // a coordinator that never sent a state would not do this
    desired_by_cluster_[cluster] = std::move(update.kept.desired);
    hosts_by_cluster_[cluster] = std::move(update.kept.hosts);
    to_release = ReleasableNow(cluster);
  }
  // A write each: the pass that follows reports them running.
  for (const auto& instance : to_release) {
    if (absl::Status s = reconciler_->ReleaseEarly(instance, SpecHashOf(instance)); !s.ok()) {
      Logger()->debug("'{}' left to the pass to release: {}", instance.name(),
                      std::string(s.message()));
    } else {
      Logger()->debug("released '{}' from its gate as the desired state came", instance.name());
    }
  }
  Wake();
}

std::vector<bdcoord::v1::DesiredInstance> Agent::ReleasableNow(const std::string& cluster) {
  std::vector<bdcoord::v1::DesiredInstance> releasable;
  auto gated = behind_gate_.find(cluster);
  const bdcoord::v1::DesiredState& desired = desired_by_cluster_[cluster];
  if (gated == behind_gate_.end() || desired.hosts_file() != gated->second.hosts_file) {
    return releasable;
  }
  for (const auto& instance : desired.instances()) {
    auto held = gated->second.instances.find(instance.name());
    if (instance.hold() || held == gated->second.instances.end()) continue;
    bdcoord::v1::DesiredInstance unheld = held->second;
    unheld.set_hold(false);
    if (!google::protobuf::util::MessageDifferencer::Equals(unheld, instance)) continue;
    releasable.push_back(instance);
    gated->second.instances.erase(held);
  }
  return releasable;
}

void Agent::NoteBehindGate(const bdcoord::v1::DesiredState& desired,
                           const ReconcileResult& result) {
  absl::MutexLock lock(&desired_mu_);
  BehindGate& gated = behind_gate_[desired.cluster()];
  gated.hosts_file = desired.hosts_file();
  for (size_t i = 0; i < result.outcomes.size() && i < result.statuses.size(); ++i) {
    if (!result.outcomes[i].reached) continue;  // as the pass before left it
    const bdcoord::v1::DesiredInstance& instance = desired.instances(static_cast<int>(i));
    if (result.outcomes[i].behind_gate) {
      // Released meanwhile by SetDesired: ReleaseEarly finds its file written, and does nothing.
      gated.instances[instance.name()] = instance;
    } else {
      gated.instances.erase(instance.name());
    }
  }
  if (gated.instances.empty()) behind_gate_.erase(desired.cluster());
}

void Agent::SetSoleDesired(const bdcoord::v1::DesiredState& desired) {
  DesiredUpdate update = UpdateDesired(nullptr, desired);
  if (!update.hosts.ok()) {
    Logger()->warn("cluster '{}': no hosts map: {}", desired.cluster(),
                   std::string(update.hosts.message()));
  }
  absl::MutexLock lock(&desired_mu_);
  desired_by_cluster_.clear();
  hosts_by_cluster_.clear();
  behind_gate_.clear();
  if (update.unusable) return;
  desired_by_cluster_[desired.cluster()] = std::move(update.kept.desired);
  hosts_by_cluster_[desired.cluster()] = std::move(update.kept.hosts);
}

std::vector<std::string> Agent::clusters() const {
  absl::MutexLock lock(&desired_mu_);
  std::vector<std::string> names;
  for (const auto& [cluster, desired] : desired_by_cluster_) names.push_back(cluster);
  return names;
}

PassSummary Agent::RunPass() {
  std::map<std::string, bdcoord::v1::DesiredState> snapshot;
  {
    absl::MutexLock lock(&desired_mu_);
    snapshot = desired_by_cluster_;
  }
  PassSummary summary;
  std::vector<std::string> wanted_networks;
  const absl::Time started = options_.now();
  next_pass_ = started + options_.interval;
  std::map<std::string, LastPass> previous = std::move(last_pass_);
  last_pass_.clear();
  Uplink* uplink = uplink_.load();
  auto send = [uplink](bdcoord::v1::StatusReport report) {
    rpc::BoundStatusReport(&report);  // long lines must not make it too large to send
    return uplink != nullptr && uplink->SendStatus(report);
  };
  const absl::Duration lost_for = LostFor();
  for (const auto& [cluster, desired] : snapshot) {
    std::set<std::string> fenced = FencedNow(desired, lost_for);
    if (auto held = fenced_.find(cluster); held != fenced_.end()) {
      if (held->second.generation == desired.generation()) {
        fenced.insert(held->second.instances.begin(), held->second.instances.end());
      } else {
        fenced_.erase(held);  // the coordinator's word since: it decides what runs here
      }
    }
    if (!fenced.empty()) {
      fenced_[cluster] = {desired.generation(), fenced};
      absl::MutexLock lock(&contact_mu_);
      lost_logged_ = true;
    }
    // An instance's news goes up as soon as it is done (its dependents wait for it), and a newer
    // desired state ends the pass early: both keep a long pass from holding the cluster back.
    PassProgress progress(desired, previous[cluster].statuses, previous[cluster].generation);
    if (progress.CoordinatorWaits()) send(progress.Report());  // before the pass's slow work
    ClusterPass pass;
    pass.cluster = cluster;
    {
      absl::Mutex progress_mu;
      LatestReportSender sender([&](const auto& report) { send(report); });
      PassHooks hooks;
      hooks.on_instance = [&](int index, const bdcoord::v1::InstanceStatus& status) {
        absl::MutexLock lock(&progress_mu);
        if (progress.Update(index, status)) sender.Offer(progress.Report());
      };
      hooks.interrupted = [&, generation = desired.generation(), name = cluster] {
        absl::MutexLock lock(&desired_mu_);
        auto it = desired_by_cluster_.find(name);
        return it == desired_by_cluster_.end() || it->second.generation() != generation;
      };
      pass.result = reconciler_->Reconcile(desired, hooks, {fenced, lost_for});
    }  // the sender sends what it still had before the pass's own report
    for (const auto& network : desired.networks()) wanted_networks.push_back(network.name());
    LogPass(cluster, pass.result);
    NoteBehindGate(desired, pass.result);
    summary.docker_unavailable = summary.docker_unavailable || pass.result.docker_unavailable();
    const ReconcileResult& result = pass.result;
    for (size_t i = 0; i < result.statuses.size(); ++i) {
      // Docker unavailable: no outcomes, and every status says so.
      if (result.outcomes.empty() || result.outcomes[i].reached) {
        progress.Update(static_cast<int>(i), result.statuses[i]);
      }
    }
    last_pass_[cluster] = {desired.generation(), progress.statuses()};
    const bool sent = send(progress.Report());  // the workers are done: no lock needed
    if (sent && TakenDown(desired, pass.result)) {
      // Forget it, unless a new desired state came meanwhile.
      absl::MutexLock lock(&desired_mu_);
      auto it = desired_by_cluster_.find(cluster);
      if (it != desired_by_cluster_.end() && it->second.generation() == desired.generation()) {
        desired_by_cluster_.erase(it);
        hosts_by_cluster_.erase(cluster);
        behind_gate_.erase(cluster);
        pass.forgotten = true;
      }
    }
    summary.clusters.push_back(std::move(pass));
  }
  if (!snapshot.empty()) {
    for (const std::string& error : reconciler_->PruneNetworks(wanted_networks)) {
      Logger()->debug("network not pruned: {}", error);  // usually: still has containers
    }
  }
  if (options_.metrics != nullptr) RecordPass(options_.now() - started);
  return summary;
}

void Agent::RecordPass(absl::Duration took) {
  options_.metrics->pass_duration.Observe(absl::ToDoubleSeconds(took));
  std::map<std::map<std::string, std::string>, int> counts;
  for (const auto& [cluster, pass] : last_pass_) {
    for (const bdcoord::v1::InstanceStatus& status : pass.statuses) {
      const std::string state = absl::AsciiStrToLower(
          absl::StripPrefix(bdcoord::v1::InstanceState_Name(status.state()), "INSTANCE_STATE_"));
      ++counts[{{"cluster", cluster}, {"state", state}}];
    }
  }
  prometheus::Family<prometheus::Gauge>& gauge = options_.metrics->instances;
  for (const auto& labels : published_instances_) {
    if (!counts.contains(labels)) gauge.Remove(&gauge.Add(labels));
  }
  published_instances_.clear();
  for (const auto& [labels, count] : counts) {
    gauge.Add(labels).Set(count);
    published_instances_.insert(labels);
  }
}

absl::StatusOr<PassSummary> Agent::RunOnce(const RefreshDesired& refresh) {
  if (refresh) {
    if (absl::Status status = refresh(); !status.ok()) return status;
  }
  return RunPass();
}

void Agent::RunDueProbes() {
  std::map<std::string, bdcoord::v1::DesiredState> snapshot;
  {
    absl::MutexLock lock(&desired_mu_);
    snapshot = desired_by_cluster_;
  }
  for (const auto& [cluster, desired] : snapshot) {
    auto last = last_pass_.find(cluster);
    if (last == last_pass_.end() || last->second.generation != desired.generation()) continue;
    if (!reconciler_->CheckDueProbes(desired, &last->second.statuses)) continue;
    bdcoord::v1::StatusReport report;
    report.set_cluster(cluster);
    report.set_generation(desired.generation());
    report.set_hosts_version(desired.hosts_map().version());
    for (const auto& status : last->second.statuses) *report.add_instances() = status;
    rpc::BoundStatusReport(&report);
    if (Uplink* uplink = uplink_.load(); uplink != nullptr) uplink->SendStatus(report);
  }
}

bool Agent::OnlyProbesDue() const {
  const absl::Time now = options_.now();
  return !woken_ && now < next_pass_ && reconciler_->NextRestartDue() > now && NextFenceDue() > now;
}

void Agent::Run(const RefreshDesired& refresh, const std::function<void()>& on_ready) {
  do {
    if (OnlyProbesDue()) {
      RunDueProbes();
      // A check still overdue (one the statuses do not cover) is left to a pass.
      if (reconciler_->NextProbeDue() > options_.now()) continue;
    }
    absl::StatusOr<PassSummary> pass = RunOnce(refresh);
    if (!pass.ok()) {
      Logger()->error("{}", std::string(pass.status().message()));
    } else if (!ready_ && !pass->docker_unavailable) {
      ready_ = true;
      if (on_ready) on_ready();
    }
  } while (WaitForNextPass());
}

void Agent::LogPass(const std::string& cluster, const ReconcileResult& result) {
  const bool docker_down = result.docker_unavailable();
  if (docker_down != docker_was_down_) {
    if (docker_down) {
      Logger()->error("Docker is unavailable at '{}': {}", options_.docker_socket,
                      result.errors.front());
    } else {
      Logger()->info("Docker is back at '{}'", options_.docker_socket);
    }
    docker_was_down_ = docker_down;
  }
  if (result.created + result.replaced + result.removed + result.hosts_files_updated +
          result.files_rewritten >
      0) {
    Logger()->info(
        "cluster '{}' reconciled: {} created, {} replaced, {} removed, {} hosts files updated, {} "
        "files rewritten in place",
        cluster, result.created, result.replaced, result.removed, result.hosts_files_updated,
        result.files_rewritten);
  }
}

absl::Duration Agent::UntilNextPass() const {
  const absl::Duration until =
      std::min({reconciler_->NextDue(), next_pass_, NextFenceDue()}) - options_.now();
  // Overdue right after a pass: soon, but not in a busy loop; a probe's quick retry on time.
  if (until <= absl::ZeroDuration()) return absl::Milliseconds(100);
  return std::clamp(until, absl::Milliseconds(10), options_.interval);
}

bool Agent::WaitForNextPass() {
  const absl::Duration wait = UntilNextPass();
  Signals& s = *signals_;
  absl::MutexLock lock(&s.mu);
  s.mu.AwaitWithTimeout(absl::Condition(
                            +[](Signals* signals) ABSL_EXCLUSIVE_LOCKS_REQUIRED(signals->mu) {
                              return signals->stop || signals->wake;
                            },
                            &s),
                        wait);
  woken_ = s.wake || s.stop;
  s.wake = false;
  return !s.stop;
}

void Agent::Wake() {
  absl::MutexLock lock(&signals_->mu);
  signals_->wake = true;
}

void Agent::Stop() {
  absl::MutexLock lock(&signals_->mu);
  signals_->stop = true;
}

void Agent::WatchDockerEvents() {
  {
    absl::MutexLock lock(&signals_->mu);
    signals_->watching = true;
  }
  // Detached: Docker's event stream cannot be cancelled, so the thread may still be blocked in it
  // when the agent is gone; it then touches only the shared signals and inspect cache.
  std::shared_ptr<InspectCache> inspections =
      reconciler_ != nullptr ? reconciler_->inspect_cache() : std::make_shared<InspectCache>();
  std::thread([docker = docker_, signals = signals_, inspections] {
    auto stopped = [&] {
      absl::MutexLock lock(&signals->mu);
      return signals->stop;
    };
    absl::Duration backoff = absl::Seconds(1);
    while (!stopped()) {
      const absl::Status status = docker->Events({{kClusterLabel, ""}}, [&](const auto& event) {
        Logger()->debug("event {} {} of '{}'", event.type, event.action, event.id.substr(0, 12));
        inspections->OnEvent(event.id, event.action);
        absl::MutexLock lock(&signals->mu);
        if (event.action == "start" || event.action == "die") signals->wake = true;
        backoff = absl::Seconds(1);
        return !signals->stop;
      });
      inspections->StreamLost();
      if (stopped()) break;
      Logger()->debug("event stream ended ({}); reconnecting in {}", std::string(status.message()),
                      absl::FormatDuration(backoff));
      absl::MutexLock lock(&signals->mu);
      signals->mu.AwaitWithTimeout(absl::Condition(&signals->stop), backoff);
      backoff = NextEventBackoff(backoff);
    }
    absl::MutexLock lock(&signals->mu);
    signals->watching = false;
  }).detach();
}

bool Agent::WaitForEventWatcher(absl::Duration timeout) {
  Signals& s = *signals_;
  absl::MutexLock lock(&s.mu);
  return s.mu.AwaitWithTimeout(absl::Condition(
                                   +[](Signals* signals) ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                                        signals->mu) { return !signals->watching; },
                                   &s),
                               timeout);
}

void Agent::HandleProbeRequest(const bdcoord::v1::ProbeRequest& request) {
  {
    absl::MutexLock lock(&signals_->mu);
    ++signals_->probes_running;
  }
  std::thread([this, request] {
    const bdcoord::v1::CommandResult result = RunProbeRequest(docker_, prober_, request);
    if (Uplink* uplink = uplink_.load(); uplink != nullptr) uplink->SendResult(result);
    absl::MutexLock lock(&signals_->mu);
    --signals_->probes_running;
  }).detach();
}

void Agent::WaitForProbeRequests() {
  Signals& s = *signals_;
  absl::MutexLock lock(&s.mu);
  s.mu.AwaitWithTimeout(absl::Condition(
                            +[](Signals* signals) ABSL_EXCLUSIVE_LOCKS_REQUIRED(signals->mu) {
                              return signals->probes_running == 0;
                            },
                            &s),
                        options_.probe_drain_timeout);
}

}  // namespace bdcoord::agent
