#include "agent/reconcile/reconciler.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <future>
#include <numeric>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "agent/probes/probes.h"
#include "agent/reconcile/container_dns.h"
#include "agent/reconcile/probe_schedule.h"
#include "google/protobuf/util/time_util.h"
#include "policy/file_on_change.h"
#include "spdlog/spdlog.h"

namespace bdcoord::agent {

using bdcoord::v1::DesiredInstance;
using bdcoord::v1::DesiredState;
using bdcoord::v1::InstanceState;
using bdcoord::v1::InstanceStatus;

namespace {

int64_t NanoCpusOf(const DesiredInstance& instance) {
  return instance.resources().millicpus() * 1000000;
}

// A held instance's container (DesiredInstance.hold), created and not started.
constexpr char kHeldMessage[] = "created; starts when its dependencies are met";
// A held instance's container started behind bdgate (ReconcilerOptions::gate_binary).
constexpr char kGatedMessage[] =
    "started behind its gate; its program runs when its dependencies are met";
// Where bdgate and the instance's release file are in a gated container.
constexpr char kGateInContainer[] = "/.bdcoord/bdgate";
constexpr char kReleaseInContainer[] = "/.bdcoord/release";
constexpr char kReleased[] = "released\n";  // a release file's content once released

// After a release, how often and how long the agent looks for bdgate's exec (1 s in all).
constexpr int kExecLooks = 500;
constexpr absl::Duration kExecLookInterval = absl::Milliseconds(2);

// What a container of the instance runs: the image's entrypoint, then the instance's command or
// else the image's (Docker's rule, spelt out because bdgate runs it).
std::vector<std::string> ProgramOf(const DesiredInstance& instance, const ImageInfo& image) {
  std::vector<std::string> program = image.entrypoint;
  if (instance.command().empty()) {
    program.insert(program.end(), image.cmd.begin(), image.cmd.end());
  } else {
    program.insert(program.end(), instance.command().begin(), instance.command().end());
  }
  return program;
}

// A plain pointer, not a shared_ptr copy: a temporary shared_ptr per log line inside Act's switch
// is what clang's ASan reported as a stack-use-after-scope (a false positive of its scope tracking
// across case labels), and a copy per line costs two atomic operations for nothing.
spdlog::logger* Logger() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto existing = spdlog::get("reconciler");
    return existing ? existing : spdlog::default_logger()->clone("reconciler");
  }();
  return logger.get();
}

std::string DriverName(bdcoord::v1::NetworkDriver driver) {
  return driver == bdcoord::v1::NETWORK_DRIVER_IPVLAN ? "ipvlan" : "macvlan";
}

std::string RestartPolicyName(const bdcoord::v1::RestartPolicy& policy) {
  switch (policy.mode()) {
    case bdcoord::v1::RestartPolicy::MODE_ON_FAILURE:
      return "on-failure";
    case bdcoord::v1::RestartPolicy::MODE_ALWAYS:
      return "always";
    case bdcoord::v1::RestartPolicy::MODE_UNLESS_STOPPED:
      return "unless-stopped";
    default:
      return "no";
  }
}

InstanceStatus Failed(const DesiredInstance& instance, std::string message) {
  InstanceStatus status;
  status.set_name(instance.name());
  status.set_service(instance.service());
  status.set_state(bdcoord::v1::INSTANCE_STATE_FAILED);
  status.set_message(std::move(message));
  return status;
}

}  // namespace

std::string MissingImageMessage(const std::string& image) {
  return absl::StrCat("image '", image, "' is not on this host (no registry is assumed); ",
                      "hint: bdcoord images push ", image, " (or build it and `docker load` it)");
}

Reconciler::Reconciler(DockerClient* docker, HostFiles* host_files, net::LinkManager* links,
                       ReconcilerOptions options)
    : docker_(docker),
      own_prober_(options.prober == nullptr ? std::make_unique<DockerProber>(docker) : nullptr),
      prober_(options.prober != nullptr ? options.prober : own_prober_.get()),
      host_files_(host_files),
      links_(links),
      options_(options) {}

// Shim link names are at most 15 characters: "bdc-" and the network name, cut.
static std::string ShimName(const std::string& network) {
  return absl::StrCat("bdc-", network.substr(0, 11));
}

void Reconciler::SyncShims(const DesiredState& desired, ReconcileResult* result) {
  for (const auto& network : desired.networks()) {
    if (!network.host_shim()) continue;
    auto address = desired.shim_addresses().find(network.name());
    if (address == desired.shim_addresses().end() || links_ == nullptr) {
      result->errors.push_back(
          absl::StrCat("network '", network.name(), "' asks for a host shim but this host has ",
                       links_ == nullptr ? "no link manager" : "no shim address"));
      continue;
    }
    net::ShimConfig shim;
    shim.name = ShimName(network.name());
    shim.parent = network.parent();
    shim.driver = network.driver() == bdcoord::v1::NETWORK_DRIVER_IPVLAN
                      ? net::ShimDriver::kIpvlan
                      : net::ShimDriver::kMacvlan;
    shim.address = address->second;
    // Only this host's containers need the shim: the others are reached over the LAN.
    for (const auto& instance : desired.instances()) {
      if (instance.network() == network.name()) shim.routes.push_back(instance.ip());
    }
    if (absl::Status s = links_->EnsureShim(shim); !s.ok()) {
      result->errors.push_back(
          absl::StrCat("host shim of network '", network.name(), "': ", s.message()));
    }
  }
}

ReconcileResult Reconciler::Reconcile(const DesiredState& desired, const PassHooks& hooks,
                                      const Fencing& fencing) {
  ReconcileResult result;
  auto managed = docker_->ListContainers({{kClusterLabel, desired.cluster()}});
  if (!managed.ok()) {
    // Without the current state nothing can be decided safely: report, change nothing.
    result.errors.push_back(absl::StrCat("cannot list containers: ", managed.status().message()));
    result.docker = absl::UnavailableError(managed.status().message());
    for (const auto& instance : desired.instances()) {
      result.statuses.push_back(
          Failed(instance, absl::StrCat("Docker is unavailable: ", managed.status().message())));
    }
    return result;
  }

  RetryGiveUpsOnNewApply(desired, *managed);

  Pass pass;
  for (const auto& network : desired.networks()) {
    NetworkConfig config;
    config.name = network.name();
    config.driver = DriverName(network.driver());
    config.parent = network.parent();
    config.subnet = network.subnet();
    config.gateway = network.gateway();
    config.ip_range = network.ip_range();
    config.labels[kNetworkLabel] = network.name();
    if (absl::Status status = EnsureNetworkRecently(config); !status.ok()) {
      pass.network_errors[network.name()] = std::string(status.message());
      result.errors.push_back(absl::StrCat("network '", network.name(), "': ", status.message()));
      Logger()->error("network '{}' could not be set up: {}", network.name(),
                      std::string(status.message()));
    }
  }

  // Shims first: readiness probes of this pass go through them.
  SyncShims(desired, &result);

  // Decide on the state listed once, then act: independent instances in parallel, a bounded
  // number at a time.
  std::set<std::string> unfenced;  // fenced by the last pass, not by this one: started again
  {
    absl::MutexLock lock(&mu_);
    std::set<std::string>& before = fenced_[desired.cluster()];
    for (const std::string& name : before) {
      if (!fencing.instances.contains(name)) unfenced.insert(name);
    }
    before = fencing.instances;
    if (before.empty()) fenced_.erase(desired.cluster());
  }
  if (!unfenced.empty()) {
    Logger()->info("the coordinator is back: starting again {} fenced instance(s) of cluster '{}'",
                   unfenced.size(), desired.cluster());
  }
  const Decision decision = Decide(desired, *managed, fencing.instances, unfenced);

  // Containers no longer desired go first, before anything starts: an instance moved away while
  // this host was cut off runs elsewhere with the same IP now.
  std::vector<std::string> still_there;  // instances whose containers could not be removed
  for (const ContainerInfo& container : decision.remove) {
    Logger()->info("removing '{}': no longer desired", container.name);
    if (absl::Status s = StopAndRemove(container.id); !s.ok()) {
      result.errors.push_back(absl::StrCat("cannot remove '", container.name, "': ", s.message()));
      auto instance = container.labels.find(kInstanceLabel);
      if (instance != container.labels.end()) still_there.push_back(instance->second);
    } else {
      ++result.removed;
    }
  }
  pass.address_refusals = RefusedAddresses(desired, decision.instances);
  pass.images = InspectImages(desired, decision.instances);
  pass.volumes = ListVolumesIfNeeded(desired, decision.instances);
  // The hosts map before any container: a new one mounts it, a running one sees it change.
  if (absl::StatusOr<bool> changed = SyncClusterHosts(desired); changed.ok()) {
    pass.hosts_changed = *changed;
  } else {
    pass.hosts_error = std::string(changed.status().message());
    result.errors.push_back(pass.hosts_error);
  }
  // Held instances last: their creates must not delay what can start now.
  std::vector<int> order(desired.instances_size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_partition(order.begin(), order.end(),
                        [&](int i) { return !desired.instances(i).hold(); });
  std::vector<Acted> acted(desired.instances_size());
  std::atomic<int> next{0};
  std::atomic<bool> interrupted{false};
  std::atomic<int> done{0};  // an interrupted pass still gets something done: no livelock
  auto worker = [&] {
    for (int n = next++; n < desired.instances_size(); n = next++) {
      const int i = order[n];
      if (interrupted || (done > 0 && hooks.interrupted && hooks.interrupted())) {
        interrupted = true;
        acted[i].outcome.reached = false;
        acted[i].status.set_name(desired.instances(i).name());
        acted[i].status.set_service(desired.instances(i).service());
        continue;
      }
      acted[i] = decision.instances[i].action == InstanceAction::kFence
                     ? Fence(desired.instances(i), decision.instances[i], fencing.lost_for)
                     : Act(desired, desired.instances(i), decision.instances[i], pass);
      // Which spec the instance runs (or failed to run): a rollout's progress.
      acted[i].status.set_spec_hash(decision.instances[i].spec_hash);
      acted[i].outcome.behind_gate =
          acted[i].status.state() == bdcoord::v1::INSTANCE_STATE_CREATED &&
          acted[i].status.message() == kGatedMessage;
      ++done;
      if (hooks.on_instance) hooks.on_instance(i, acted[i].status);
    }
  };
  const int workers = std::max(1, std::min(options_.parallelism, desired.instances_size()));
  std::vector<std::thread> threads;
  for (int t = 1; t < workers; ++t) threads.emplace_back(worker);
  worker();
  for (auto& thread : threads) thread.join();

  // The instances not reached still have their containers: nothing is forgotten or removed.
  if (!interrupted) {
    // Forget what was remembered of this cluster's containers that are gone (other clusters'
    // entries are theirs).
    absl::flat_hash_set<std::string> live;
    for (const Acted& one : acted) live.insert(one.status.container_id());
    absl::MutexLock lock(&mu_);
    for (const ContainerInfo& container : *managed) {
      if (live.contains(container.id)) continue;
      readiness_.erase(container.id);
      restarts_.erase(container.id);
    }
  }
  for (Acted& one : acted) {
    result.created += one.outcome.created;
    result.replaced += one.outcome.replaced;
    result.hosts_files_updated += one.outcome.hosts_file_rewritten;
    result.files_rewritten += static_cast<int>(one.outcome.files_rewritten.size());
    result.statuses.push_back(std::move(one.status));
    result.outcomes.push_back(one.outcome);
  }
  if (interrupted) return result;
  PruneInstanceFiles(desired, still_there, &result);
  return result;
}

absl::flat_hash_map<std::string, std::string> Reconciler::RefusedAddresses(
    const DesiredState& desired, const std::vector<InstanceDecision>& decisions) {
  absl::flat_hash_map<std::string, std::string> refusals;
  if (options_.address_prober == nullptr) return refusals;
  std::map<std::string, std::string> parent_of;  // network -> parent
  for (const auto& network : desired.networks()) parent_of[network.name()] = network.parent();
  // parent -> ip -> instance: a first start is a create, or the start of a container that was
  // only ever created (held); the agent's own restarts are not first starts.
  std::map<std::string, std::map<std::string, std::string>> first_starts;
  for (size_t i = 0; i < decisions.size(); ++i) {
    const DesiredInstance& instance = desired.instances(static_cast<int>(i));
    const InstanceDecision& decision = decisions[i];
    // A held instance's container starts at its create too when it is gated.
    const bool first_start =
        (decision.action == InstanceAction::kCreate &&
         (!instance.hold() || !options_.gate_binary.empty())) ||
        (decision.action == InstanceAction::kStart && decision.existing.has_value() &&
         decision.existing->state == "created");
    auto parent = parent_of.find(instance.network());
    if (!first_start || !instance.has_fence_after() || instance.ip().empty() ||
        parent == parent_of.end() || parent->second.empty()) {
      continue;
    }
    first_starts[parent->second][instance.ip()] = instance.name();
  }
  if (first_starts.empty()) return refusals;
  const absl::Time deadline = options_.now() + options_.address_probe_wait;
  std::vector<std::future<absl::StatusOr<std::map<std::string, std::string>>>> answers;
  for (const auto& entry : first_starts) {
    const std::string parent = entry.first;
    std::vector<std::string> ips;
    for (const auto& ip_and_instance : entry.second) ips.push_back(ip_and_instance.first);
    answers.push_back(std::async(std::launch::async, [this, parent, ips, deadline] {
      return options_.address_prober->Answering(parent, ips, deadline);
    }));
  }
  size_t n = 0;
  for (const auto& entry : first_starts) {
    absl::StatusOr<std::map<std::string, std::string>> answering = answers[n++].get();
    for (const auto& ip_and_instance : entry.second) {
      const std::string& ip = ip_and_instance.first;
      const std::string& name = ip_and_instance.second;
      if (!answering.ok()) {
        refusals[name] = absl::StrCat("not starting '", name, "': cannot tell whether ", ip,
                                      " already answers on the LAN (", entry.first,
                                      "): ", answering.status().message(), "; retrying");
      } else if (auto mac = answering->find(ip); mac != answering->end()) {
        refusals[name] = absl::StrCat("not starting '", name, "': ", ip,
                                      " already answers on the LAN (from MAC ", mac->second,
                                      "): another host may still run it; retrying");
      }
    }
  }
  return refusals;
}

std::string Reconciler::ClusterDir(const std::string& cluster) const {
  return absl::StrCat(options_.state_dir, "/clusters/", cluster);
}

std::string Reconciler::InstanceDir(const DesiredInstance& instance) const {
  return absl::StrCat(ClusterDir(instance.cluster()), "/instances/", instance.name());
}

std::string Reconciler::ReleaseFileOf(const DesiredInstance& instance) const {
  return absl::StrCat(InstanceDir(instance), "/release");
}

bool Reconciler::Released(const DesiredInstance& instance) {
  absl::StatusOr<std::string> content = host_files_->Read(ReleaseFileOf(instance));
  return content.ok() && !content->empty();
}

absl::Status Reconciler::ReleaseIfDue(const DesiredInstance& instance,
                                      const ContainerInfo& container) {
  const std::string release_file = ReleaseFileOf(instance);
  if (Gated(container) && instance.hold()) {
    absl::MutexLock lock(&mu_);
    released_early_.erase(release_file);  // held again before a pass saw its program run
  }
  if (!Gated(container) || instance.hold()) return absl::OkStatus();
  std::optional<absl::Time> released_early;
  {
    absl::MutexLock lock(&mu_);
    if (auto early = released_early_.find(release_file); early != released_early_.end()) {
      released_early = early->second;
      released_early_.erase(early);
    }
  }
  const absl::Time released = released_early.value_or(options_.now());
  if (!Released(instance)) {
    // In place: the container sees its bind mount change, and bdgate runs the program at once.
    if (absl::Status s = host_files_->WriteInPlace(release_file, kReleased); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("cannot release it from its gate: ", s.message()));
    }
  } else if (!released_early) {
    return absl::OkStatus();  // released by an earlier pass, which saw its program run
  }
  // Its program runs once bdgate has exec'd it, a few ms later: until then a dependent on
  // `started` must not be released, so the release is reported only once the container's first
  // process is no longer bdgate (or has ended), bounded.
  absl::StatusOr<ContainerInfo> info = Inspect(container.id);
  const std::string cmdline = info.ok() ? absl::StrCat("/proc/", info->pid, "/cmdline") : "";
  for (int look = 0; info.ok() && info->pid > 0 && look < kExecLooks; ++look) {
    absl::StatusOr<std::string> running = host_files_->Read(cmdline);
    if (!running.ok() || !absl::StartsWith(*running, kGateInContainer)) break;
    absl::SleepFor(kExecLookInterval);
  }
  Logger()->info("released '{}' from its gate ({} to its program)", instance.name(),
                 absl::FormatDuration(options_.now() - released));
  return absl::OkStatus();
}

absl::Status Reconciler::ReleaseEarly(const DesiredInstance& instance,
                                      const std::string& spec_hash) {
  const std::string release_file = ReleaseFileOf(instance);
  // Under the lock: a pass making a new container for the instance changes gated_spec_ first.
  absl::MutexLock lock(&mu_);
  auto gated = gated_spec_.find(release_file);
  if (gated == gated_spec_.end() || gated->second != spec_hash) {
    return absl::FailedPreconditionError("its gated container is not the one with this spec");
  }
  absl::StatusOr<std::string> content = host_files_->Read(release_file);
  if (!content.ok()) return content.status();
  if (!content->empty()) return absl::OkStatus();  // released already
  if (absl::Status s = host_files_->WriteInPlace(release_file, kReleased); !s.ok()) return s;
  released_early_[release_file] = options_.now();
  return absl::OkStatus();
}

void Reconciler::ShowHeldBehindGate(const DesiredInstance& instance, InstanceStatus* status) {
  // Not held: ReleaseIfDue, which every path to here runs first, released it. Held: it may have
  // been released before (a dependency restarting holds it again), so the file says.
  if (status->state() != bdcoord::v1::INSTANCE_STATE_RUNNING || !instance.hold() ||
      Released(instance)) {
    return;
  }
  status->set_state(bdcoord::v1::INSTANCE_STATE_CREATED);
  status->set_message(kGatedMessage);
}

absl::StatusOr<bool> Reconciler::SyncClusterHosts(const DesiredState& desired) {
  if (desired.hosts_file().empty() || desired.instances().empty()) return false;
  const std::string path = absl::StrCat(ClusterDir(desired.cluster()), "/hosts");
  absl::StatusOr<std::string> current = host_files_->Read(path);
  if (current.ok() && *current == desired.hosts_file()) return false;
  absl::Status written = current.ok()
                             ? host_files_->WriteInPlace(path, desired.hosts_file())
                             : host_files_->Create(path, desired.hosts_file(), 0644, FileOwner());
  if (!written.ok()) {
    return absl::Status(written.code(), absl::StrCat("cannot write the hosts map of cluster '",
                                                     desired.cluster(), "': ", written.message()));
  }
  return current.ok();
}

void Reconciler::PruneInstanceFiles(const DesiredState& desired,
                                    const std::vector<std::string>& still_there,
                                    ReconcileResult* result) {
  const std::string cluster_dir = ClusterDir(desired.cluster());
  if (desired.instances().empty() && still_there.empty()) {
    if (absl::Status s = host_files_->RemoveAll(cluster_dir); !s.ok()) {
      result->errors.push_back(std::string(s.message()));
    }
    return;
  }
  absl::flat_hash_set<std::string> keep(still_there.begin(), still_there.end());
  for (const auto& instance : desired.instances()) keep.insert(instance.name());
  const std::string instances_dir = absl::StrCat(cluster_dir, "/instances");
  absl::StatusOr<std::vector<std::string>> names = host_files_->List(instances_dir);
  if (!names.ok()) {
    result->errors.push_back(std::string(names.status().message()));
    return;
  }
  for (const std::string& name : *names) {
    if (keep.contains(name)) continue;
    if (absl::Status s = host_files_->RemoveAll(absl::StrCat(instances_dir, "/", name)); !s.ok()) {
      result->errors.push_back(std::string(s.message()));
    }
  }
}

void Reconciler::RetryGiveUpsOnNewApply(const DesiredState& desired,
                                        const std::vector<ContainerInfo>& managed) {
  if (!desired.has_applied_at()) return;  // a desired-state file: no applies
  const std::string applied_at = desired.applied_at().SerializeAsString();
  {
    absl::MutexLock lock(&mu_);
    auto [it, first] = applied_at_.try_emplace(desired.cluster(), applied_at);
    if (first || it->second == applied_at) return;  // an agent that just started knows no better
    it->second = applied_at;
  }
  Logger()->info("cluster '{}' applied again: its instances' restart counts start afresh",
                 desired.cluster());
  for (const ContainerInfo& listed : managed) {
    auto info = docker_->InspectContainer(listed.id);  // the list has no RestartCount
    if (!info.ok()) continue;
    absl::MutexLock lock(&mu_);
    Restarts& restarts = restarts_[info->id];
    const int shown =
        restarts.shown + std::max(0, info->restart_count - restarts.history.docker_baseline);
    restarts.history = RestartHistory{.docker_baseline = info->restart_count};
    restarts.due = absl::InfiniteFuture();
    restarts.shown = shown;
  }
}

Reconciler::ImageInspections Reconciler::InspectImages(
    const DesiredState& desired, const std::vector<InstanceDecision>& decisions) {
  ImageInspections images;
  for (int i = 0; i < desired.instances_size(); ++i) {
    const InstanceAction action = decisions[i].action;
    if (action != InstanceAction::kCreate && action != InstanceAction::kReplace &&
        action != InstanceAction::kStart) {
      continue;
    }
    const std::string& image = desired.instances(i).image();
    if (!images.contains(image)) images.emplace(image, docker_->InspectImage(image));
  }
  return images;
}

std::optional<absl::flat_hash_set<std::string>> Reconciler::ListVolumesIfNeeded(
    const DesiredState& desired, const std::vector<InstanceDecision>& decisions) {
  bool needed = false;
  for (int i = 0; i < desired.instances_size() && !needed; ++i) {
    const InstanceAction action = decisions[i].action;
    if (action != InstanceAction::kCreate && action != InstanceAction::kReplace) continue;
    for (const auto& volume : desired.instances(i).volumes()) {
      needed = needed || !absl::StartsWith(volume.source(), "/");
    }
  }
  if (!needed) return std::nullopt;
  absl::StatusOr<std::vector<std::string>> names = docker_->ListVolumes();
  if (!names.ok()) return std::nullopt;
  return absl::flat_hash_set<std::string>(names->begin(), names->end());
}

Reconciler::Acted Reconciler::Fence(const DesiredInstance& instance,
                                    const InstanceDecision& decision, absl::Duration lost_for) {
  Acted acted;
  acted.outcome.action = InstanceAction::kFence;
  acted.status.set_name(instance.name());
  acted.status.set_service(instance.service());
  acted.status.set_state(bdcoord::v1::INSTANCE_STATE_FAILED);
  const std::string why = absl::StrCat(
      "fenced: no word from the coordinator for ",
      absl::FormatDuration(absl::Trunc(lost_for, absl::Seconds(1))), " (fence_after ",
      absl::FormatDuration(FenceOf(instance)),
      "), so it may run elsewhere with the same IP: stopped until the coordinator is back");
  if (!decision.existing) {
    acted.status.set_message(absl::StrCat(why, " (no container here)"));
    return acted;
  }
  acted.status.set_container_id(decision.existing->id);
  if (decision.existing->state == "running" || decision.existing->state == "restarting") {
    Logger()->warn("stopping '{}': {}", instance.name(), why);
    const int timeout = instance.has_stop_timeout()
                            ? static_cast<int>(instance.stop_timeout().seconds())
                            : options_.stop_timeout_seconds;
    absl::Status stopped =
        docker_->StopContainer(decision.existing->id, std::chrono::seconds(timeout));
    inspect_cache_->Changed(decision.existing->id);
    if (!stopped.ok()) {
      acted.status.set_message(absl::StrCat(why, "; the stop failed: ", stopped.message()));
      return acted;
    }
  }
  acted.status.set_message(why);
  return acted;
}

Reconciler::Acted Reconciler::Act(const DesiredState& desired, const DesiredInstance& instance,
                                  const InstanceDecision& decision, const Pass& pass) {
  const ImageInspections& images = pass.images;
  Acted acted;
  acted.outcome.action = decision.action;
  const ContainerInfo* existing = decision.existing ? &*decision.existing : nullptr;
  // Whatever the coordinator allowed, nothing is made, started or removed for an instance that
  // breaches this host's policy; with no user given, the image's own user counts (often root).
  if (decision.action == InstanceAction::kCreate || decision.action == InstanceAction::kReplace ||
      decision.action == InstanceAction::kStart) {
    std::optional<std::string> image_user;
    if (auto image = images.find(instance.image());
        instance.user().empty() && image != images.end() && image->second.ok()) {
      image_user = image->second->user;
    }
    if (std::string refused = Refusal(instance, image_user); !refused.empty()) {
      Logger()->warn("'{}': {}", instance.name(), refused);
      acted.status = Failed(instance, std::move(refused));
      return acted;
    }
  }
  if (auto refused = pass.address_refusals.find(instance.name());
      refused != pass.address_refusals.end()) {
    Logger()->warn("{}", refused->second);
    acted.status = Failed(instance, refused->second);
    return acted;
  }
  switch (decision.action) {
    case InstanceAction::kReportCompleted:  // a run-once job that did its work
      if (existing != nullptr) {
        acted.status = StatusOf(instance, existing->id);
      } else {
        acted.status.set_name(instance.name());
        acted.status.set_service(instance.service());
        acted.status.set_message("completed earlier; its container is gone");
      }
      acted.status.set_state(bdcoord::v1::INSTANCE_STATE_COMPLETED);
      return acted;
    case InstanceAction::kStart:  // e.g. a held instance released: only its start is left
      // A file changed while it was held: it starts with the new content, no signal needed.
      UpdateFilesInPlace(instance, *existing, /*running=*/false, &acted);
      if (absl::Status s = ReleaseIfDue(instance, *existing); !s.ok()) {
        acted.status = Failed(instance, std::string(s.message()));
        return acted;
      }
      acted.status = Start(instance, existing->id);
      if (Gated(*existing)) ShowHeldBehindGate(instance, &acted.status);
      CheckReadiness(instance, &acted.status);
      return acted;
    case InstanceAction::kKeep:
      if (Gated(*existing) && !instance.hold() && !Released(instance)) {
        // Released now: a file changed while it was held is there when its program starts.
        UpdateFilesInPlace(instance, *existing, /*running=*/false, &acted);
      }
      if (absl::Status s = ReleaseIfDue(instance, *existing); !s.ok()) {
        acted.status = Failed(instance, std::string(s.message()));
        return acted;
      }
      acted.status = StatusOf(instance, existing->id);
      if (acted.status.state() == bdcoord::v1::INSTANCE_STATE_RUNNING) {
        acted.outcome.hosts_file_rewritten =
            existing->labels.contains(kHostFilesLabel)
                ? pass.hosts_changed  // it sees the cluster's file, written once for all
                : SyncDockersHostsFile(existing->id, desired.hosts_file());
      }
      CheckReadiness(instance, &acted.status);
      UpdateFilesInPlace(instance, *existing,
                         acted.status.state() == bdcoord::v1::INSTANCE_STATE_RUNNING, &acted);
      return acted;
    case InstanceAction::kReplace:
      Logger()->info("replacing '{}': its spec changed", instance.name());
      if (absl::Status s = StopAndRemove(existing->id); !s.ok()) {
        acted.status =
            Failed(instance, absl::StrCat("cannot remove the old container: ", s.message()));
        return acted;
      }
      acted.outcome.replaced = true;
      break;
    case InstanceAction::kCreate:
      break;
    case InstanceAction::kFence:  // Reconcile hands these to Fence
      return Fence(instance, decision, absl::ZeroDuration());
  }

  if (auto error = pass.network_errors.find(instance.network());
      error != pass.network_errors.end()) {
    acted.status = Failed(instance, absl::StrCat("network '", instance.network(),
                                                 "' could not be set up: ", error->second));
    return acted;
  }
  if (!pass.hosts_error.empty()) {
    acted.status = Failed(instance, pass.hosts_error);
    return acted;
  }
  const absl::StatusOr<ImageInfo>& image = images.at(instance.image());
  if (absl::IsNotFound(image.status())) {
    acted.status = Failed(instance, MissingImageMessage(instance.image()));
    return acted;
  }
  if (!image.ok()) {
    acted.status = Failed(instance, std::string(image.status().message()));
    return acted;
  }
  acted.status = CreateAndStart(desired, instance, decision.spec_hash, *image, pass);
  CheckReadiness(instance, &acted.status);
  acted.outcome.created =
      !acted.outcome.replaced && acted.status.state() != bdcoord::v1::INSTANCE_STATE_FAILED;
  return acted;
}

// A file's path in the container, clean and absolute (it becomes a path under the agent's state
// directory): no empty, "." or ".." component.
static bool CleanAbsolutePath(absl::string_view path) {
  if (!absl::StartsWith(path, "/") || path.size() < 2) return false;
  for (absl::string_view part : absl::StrSplit(path.substr(1), '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

void Reconciler::UpdateFilesInPlace(const DesiredInstance& instance, const ContainerInfo& container,
                                    bool running, Acted* acted) {
  // A container made by an older agent got its files by archive upload: nothing is mounted.
  if (!container.labels.contains(kHostFilesLabel)) return;
  std::vector<std::string> signals;  // each sent once, in the order the files ask
  std::vector<std::string> problems;
  for (const auto& file : instance.files()) {
    if (policy::ContentInSpecHash(file.on_change()) || !CleanAbsolutePath(file.path())) continue;
    const std::optional<policy::FileOnChange> on_change =
        policy::ParseFileOnChange(file.on_change());
    const std::string host_path = absl::StrCat(InstanceDir(instance), "/files", file.path());
    absl::StatusOr<std::string> current = host_files_->Read(host_path);
    if (current.ok() && *current == file.content()) continue;
    // A missing file cannot be put back under a running container's bind mount.
    absl::Status written =
        current.ok() ? host_files_->WriteInPlace(host_path, file.content()) : current.status();
    if (!written.ok()) {  // tried again on the next pass: the content still differs
      problems.push_back(
          absl::StrCat("cannot rewrite file '", file.path(), "' in place: ", written.message()));
      continue;
    }
    acted->outcome.files_rewritten.push_back(file.path());
    if (!on_change) {  // a hand-written desired state: as none
      problems.push_back(
          absl::StrCat("file '", file.path(), "': unknown on_change '", file.on_change(), "'"));
    } else if (on_change->mode == policy::FileOnChange::Mode::kSignal &&
               std::find(signals.begin(), signals.end(), on_change->signal) == signals.end()) {
      signals.push_back(on_change->signal);
    }
  }
  if (acted->outcome.files_rewritten.empty() && problems.empty()) return;
  std::string what;
  if (!acted->outcome.files_rewritten.empty()) {
    what = absl::StrCat("rewrote in place ", absl::StrJoin(acted->outcome.files_rewritten, ", "));
  }
  for (const std::string& signal : signals) {
    if (!running) continue;  // it reads the new content when it starts
    if (absl::Status s = docker_->KillContainer(container.id, signal); !s.ok()) {
      problems.push_back(absl::StrCat("cannot send ", signal, ": ", s.message()));
      continue;
    }
    acted->outcome.signals_sent.push_back(signal);
  }
  if (!acted->outcome.signals_sent.empty()) {
    absl::StrAppend(&what, "; sent ", absl::StrJoin(acted->outcome.signals_sent, ", "));
  }
  if (!what.empty()) Logger()->info("'{}': {}", instance.name(), what);
  for (const std::string& problem : problems) {
    Logger()->warn("'{}': {}", instance.name(), problem);
  }
  if (!problems.empty()) {
    absl::StrAppend(&what, what.empty() ? "" : "; ", absl::StrJoin(problems, "; "));
  }
  std::string* message = acted->status.mutable_message();
  absl::StrAppend(message, message->empty() ? "" : "; ", what);
}

absl::StatusOr<std::string> Reconciler::CreateNamed(const DesiredInstance& instance,
                                                    ContainerConfig config) {
  // Docker says when the name is taken (409): no inspect on the usual path.
  absl::StatusOr<std::string> id = docker_->CreateContainer(config);
  if (!absl::IsAlreadyExists(id.status())) return id;
  // (Docker also resolves a name as an ID prefix: "c6" may be container c638a9…, so compare.)
  auto other = docker_->InspectContainer(config.name);
  if (!other.ok() || other->name != config.name) return id;
  if (!other->labels.contains(kClusterLabel)) {
    return absl::AlreadyExistsError(
        absl::StrCat("container name '", instance.name(),
                     "' is taken by a container bdcoord does not manage (id ",
                     other->id.substr(0, 12), "); rename or remove it"));
  }
  // Another cluster's instance of that name (containers are found by label, not by name).
  config.name = absl::StrCat(instance.name(), ".", instance.cluster());
  return docker_->CreateContainer(config);
}

InstanceStatus Reconciler::CreateAndStart(const DesiredState& desired,
                                          const DesiredInstance& instance, const std::string& hash,
                                          const ImageInfo& image, const Pass& pass) {
  // The names become directories of this host: one clean component each (a hand-written
  // desired state is not validated by a coordinator).
  for (const std::string& name : {instance.cluster(), instance.name()}) {
    if (name.find('/') != std::string::npos || !CleanAbsolutePath("/" + name)) {
      return Failed(instance, absl::StrCat("name '", name, "' cannot be a directory name"));
    }
  }
  ContainerConfig config;
  config.name = instance.name();
  config.image = instance.image();
  config.hostname = instance.name();
  config.domainname = instance.domain();
  config.command.assign(instance.command().begin(), instance.command().end());
  // A held instance's container starts now behind bdgate, which runs its program once released:
  // Docker's start is then off its dependencies' path.
  const bool gated = instance.hold() && !options_.gate_binary.empty();
  if (gated) {
    config.entrypoint = {kGateInContainer};
    config.command = ProgramOf(instance, image);
    if (config.command.empty()) {  // what Docker's create would refuse
      return Failed(instance, absl::StrCat("no command: image '", instance.image(),
                                           "' has no entrypoint or cmd, and service '",
                                           instance.service(), "' gives no command"));
    }
    config.command.insert(config.command.begin(), kReleaseInContainer);
  }
  for (const auto& env : instance.env()) config.env.emplace_back(env.name(), env.value());
  config.labels = {{kClusterLabel, instance.cluster()},
                   {kServiceLabel, instance.service()},
                   {kInstanceLabel, instance.name()},
                   {kSpecHashLabel, hash},
                   {kHostFilesLabel, "1"}};
  if (gated) config.labels[kGateLabel] = "1";
  config.user = instance.user();
  config.network = instance.network();
  config.ipv4 = instance.ip();
  const std::string instance_dir = InstanceDir(instance);
  std::vector<std::pair<const bdcoord::v1::Volume*, std::string>> new_volumes;  // and mountpoint
  std::vector<std::string> written;  // the instance's files on this host
  // A failure from here removes what this attempt made: the next pass starts afresh rather than
  // start a container without its files, or take a volume it made for one that existed.
  auto fail = [&](std::string message, const std::string& id) {
    if (!id.empty()) (void)docker_->RemoveContainer(id, /*force=*/true);
    for (const auto& [volume, mountpoint] : new_volumes) {
      (void)docker_->RemoveVolume(volume->source());
    }
    (void)host_files_->RemoveAll(instance_dir);
    return Failed(instance, std::move(message));
  };

  // The files on this host, bind-mounted where the spec puts them (seen before the process
  // starts, with no archive upload); owned by the instance's user, so a non-root process can
  // write beside its config. The owner is known now unless the user is a name not seen before.
  std::optional<NumericUser> user = KnownUser(image, instance.user());
  {
    // Before its files: an early release now cannot reach the container about to be made.
    absl::MutexLock lock(&mu_);
    released_early_.erase(ReleaseFileOf(instance));  // the container before, gone with its files
    if (gated) {
      gated_spec_[ReleaseFileOf(instance)] = hash;
    } else {
      gated_spec_.erase(ReleaseFileOf(instance));
    }
  }
  if (absl::Status s = host_files_->RemoveAll(instance_dir); !s.ok()) {
    return fail(std::string(s.message()), "");
  }
  for (const auto& file : instance.files()) {
    if (!CleanAbsolutePath(file.path())) {
      return fail(absl::StrCat("file path '", file.path(), "' is not a clean absolute path"), "");
    }
    const std::string host_path = absl::StrCat(instance_dir, "/files", file.path());
    const FileOwner owner = user ? FileOwner{user->uid, user->gid} : FileOwner();
    if (absl::Status s =
            host_files_->Create(host_path, file.content(), file.mode() ? file.mode() : 0644, owner);
        !s.ok()) {
      return fail(absl::StrCat("cannot write files: ", s.message()), "");
    }
    written.push_back(host_path);
    config.mounts.push_back({host_path, file.path(), /*read_only=*/false});
  }
  if (gated) {
    // Empty while held; readable by any user (bdgate runs as the instance's), read-only inside.
    const std::string release = ReleaseFileOf(instance);
    if (absl::Status s = host_files_->Create(release, "", 0644, FileOwner()); !s.ok()) {
      return fail(absl::StrCat("cannot write its release file: ", s.message()), "");
    }
    config.mounts.push_back({options_.gate_binary, kGateInContainer, /*read_only=*/true});
    config.mounts.push_back({release, kReleaseInContainer, /*read_only=*/true});
  }
  // Every container of the cluster on this host shares its hosts file: a new map is one write.
  // Read-only: a container, even as root, must not rewrite its neighbours' /etc/hosts.
  if (!desired.hosts_file().empty()) {
    config.mounts.push_back(
        {absl::StrCat(ClusterDir(instance.cluster()), "/hosts"), "/etc/hosts", true});
  }
  config.volume_labels = {{kClusterLabel, instance.cluster()}};
  for (const auto& volume : instance.volumes()) {
    config.mounts.push_back({volume.source(), volume.target(), volume.read_only()});
    if (absl::StartsWith(volume.source(), "/")) continue;
    if (pass.volumes) {
      // Not there: the container's create makes it (its mountpoint is asked for if needed).
      if (!pass.volumes->contains(volume.source())) new_volumes.emplace_back(&volume, "");
      continue;
    }
    absl::StatusOr<VolumeInfo> made = docker_->CreateVolume(volume.source(), config.volume_labels);
    if (!made.ok()) {
      return fail(
          absl::StrCat("cannot create volume '", volume.source(), "': ", made.status().message()),
          "");
    }
    if (made->created) new_volumes.emplace_back(&volume, made->mountpoint);
  }
  // The CPU limit is set after the start (Start): runc's init runs in the container's cgroup, and
  // a small quota spreads its few ms of CPU over many 100 ms periods (with 25m a start took 810
  // ms, without 263 ms), on the path of every dependent.
  config.memory_bytes = instance.resources().memory_bytes();
  config.restart_policy = RestartPolicyName(instance.restart());
  config.restart_max_retries = static_cast<int>(instance.restart().max_retries());
  config.stop_timeout_seconds = instance.has_stop_timeout()
                                    ? static_cast<int>(instance.stop_timeout().seconds())
                                    : options_.stop_timeout_seconds;
  SetContainerDns(instance.dns(), &config);

  absl::StatusOr<std::string> id = CreateNamed(instance, config);
  if (!id.ok()) {
    absl::MutexLock lock(&mu_);
    networks_ensured_.erase(config.network);  // perhaps removed behind the agent's back
    return fail(absl::IsAlreadyExists(id.status())
                    ? std::string(id.status().message())
                    : absl::StrCat("cannot create: ", id.status().message()),
                "");
  }
  if (!user) {
    absl::StatusOr<NumericUser> resolved = UserOf(*id, image, instance.user());
    if (!resolved.ok()) return fail(std::string(resolved.status().message()), *id);
    user = *resolved;
    for (const std::string& path : written) {
      if (absl::Status s = host_files_->SetOwner(path, {user->uid, user->gid}); !s.ok()) {
        return fail(absl::StrCat("cannot write files: ", s.message()), *id);
      }
    }
  }
  // A name that the image maps to uid 0 is root too: the container never starts.
  if (user->uid == 0 && !instance.user().empty() && !options_.policy.allow_root) {
    return fail(absl::StrCat("refused by host ", options_.host_name, "'s policy: service '",
                             instance.service(), "' runs as root (user \"", instance.user(),
                             "\" is uid 0 in the image): the agent's policy refuses root"),
                *id);
  }
  // A new volume is root's unless the image has its path (Docker copied that directory's owner
  // at create): hand its root to a non-root user. A volume that existed keeps its owner and the
  // operator's data.
  const FileOwner owner{user->uid, user->gid};
  for (auto& [volume, mountpoint] : new_volumes) {
    if (user->uid == 0 || volume->read_only()) continue;
    if (mountpoint.empty()) {  // made by the create: it exists now, so this only looks it up
      absl::StatusOr<VolumeInfo> made =
          docker_->CreateVolume(volume->source(), config.volume_labels);
      if (!made.ok()) {
        return fail(
            absl::StrCat("cannot find volume '", volume->source(), "': ", made.status().message()),
            *id);
      }
      mountpoint = made->mountpoint;
    }
    absl::StatusOr<FileOwner> current = host_files_->OwnerOf(mountpoint);
    absl::Status given = current.ok() ? absl::OkStatus() : current.status();
    if (given.ok() && !(*current == owner)) given = host_files_->SetOwner(mountpoint, owner);
    if (!given.ok()) {
      return fail(absl::StrCat("cannot give volume '", volume->source(), "' to ", owner.uid, ":",
                               owner.gid, ": ", given.message()),
                  *id);
    }
  }
  if (gated) {
    InstanceStatus status = Start(instance, *id);
    if (status.state() == bdcoord::v1::INSTANCE_STATE_RUNNING) {
      Logger()->info("started '{}' behind its gate, held until its dependencies are met",
                     instance.name());
      ShowHeldBehindGate(instance, &status);
    }
    return status;
  }
  if (instance.hold()) {
    Logger()->info("created '{}', held until its dependencies are met", instance.name());
    InstanceStatus status;
    status.set_name(instance.name());
    status.set_service(instance.service());
    status.set_container_id(*id);
    status.set_state(bdcoord::v1::INSTANCE_STATE_CREATED);
    status.set_message(kHeldMessage);
    return status;
  }
  return Start(instance, *id);
}

InstanceStatus Reconciler::Start(const DesiredInstance& instance, const std::string& id) {
  InstanceStatus status;
  status.set_name(instance.name());
  status.set_service(instance.service());
  status.set_container_id(id);
  inspect_cache_->Changed(id);
  if (absl::Status s = docker_->StartContainer(id); !s.ok()) {
    status.set_state(bdcoord::v1::INSTANCE_STATE_FAILED);
    status.set_message(absl::StrCat("cannot start: ", s.message()));
    return status;
  }
  Logger()->info("started '{}' on {}", instance.name(), instance.ip());
  if (absl::Status s = LimitCpu(instance, id); !s.ok()) {
    status.set_state(bdcoord::v1::INSTANCE_STATE_FAILED);
    status.set_message(std::string(s.message()));
    return status;
  }
  // Started is what Docker's answer says; its start time (and an early exit) come with the next
  // pass, which the start event wakes: no inspect on the bring-up path.
  status.set_state(bdcoord::v1::INSTANCE_STATE_RUNNING);
  return status;
}

absl::Status Reconciler::LimitCpu(const DesiredInstance& instance, const std::string& id) {
  const int64_t nano_cpus = NanoCpusOf(instance);
  if (nano_cpus <= 0) return absl::OkStatus();
  inspect_cache_->Changed(id);
  absl::Status set = docker_->SetCpuLimit(id, nano_cpus);
  if (set.ok()) return set;
  const absl::Status stopped = docker_->StopContainer(id, std::chrono::seconds(0));
  return absl::UnavailableError(
      absl::StrCat(stopped.ok() ? "stopped" : "not stopped, which failed too", ": its CPU limit ",
                   "could not be set (", set.message(), ")"));
}

std::string Reconciler::Refusal(const DesiredInstance& instance,
                                const std::optional<std::string>& image_user) const {
  const policy::Enforcer agent{.policy = "the agent's policy", .program = "bdagent"};
  std::vector<policy::Breach> breaches;
  if (image_user) {
    if (auto breach = policy::CheckUser(instance.service(), *image_user, /*image_default=*/true,
                                        options_.policy, agent)) {
      breaches.push_back(*std::move(breach));
    }
  }
  for (policy::Breach& breach : policy::CheckInstance(instance, options_.policy, agent)) {
    breaches.push_back(std::move(breach));
  }
  if (breaches.empty()) return "";
  std::string message = absl::StrCat("refused by host ", options_.host_name, "'s policy: ");
  for (size_t i = 0; i < breaches.size(); ++i) {
    absl::StrAppend(&message, i == 0 ? "" : "; ", breaches[i].message);
  }
  absl::StrAppend(&message, " (", breaches[0].hint, ")");
  return message;
}

std::optional<NumericUser> Reconciler::KnownUser(const ImageInfo& image, const std::string& user) {
  // None: the image's own user (only a hand-written desired state lacks one); files stay root's.
  if (user.empty()) return NumericUser();
  absl::StatusOr<UserSpec> spec = ParseUserSpec(user);
  if (spec.ok() && !NeedsPasswd(*spec) && !NeedsGroup(*spec)) {
    return NumericUser{*spec->uid, *spec->gid};
  }
  absl::MutexLock lock(&mu_);
  auto known = users_.find(absl::StrCat(image.id, "\n", user));
  if (known == users_.end()) return std::nullopt;
  return known->second;
}

absl::StatusOr<NumericUser> Reconciler::UserOf(const std::string& container_id,
                                               const ImageInfo& image, const std::string& user) {
  absl::StatusOr<UserSpec> spec = ParseUserSpec(user);
  if (!spec.ok()) return spec.status();
  // Names are the image's: read its files through the API (no host paths: dockerd may be remote).
  auto read = [&](bool needed, const char* path) -> absl::StatusOr<std::optional<std::string>> {
    if (!needed) return std::nullopt;
    absl::StatusOr<ArchiveFile> file = docker_->ReadPath(container_id, path);
    if (absl::IsNotFound(file.status())) return std::nullopt;
    if (!file.ok()) {
      return absl::Status(
          file.status().code(),
          absl::StrCat("cannot read ", path, " of the container: ", file.status().message()));
    }
    return file->content;
  };
  absl::StatusOr<std::optional<std::string>> passwd = read(NeedsPasswd(*spec), "/etc/passwd");
  if (!passwd.ok()) return passwd.status();
  absl::StatusOr<std::optional<std::string>> group = read(NeedsGroup(*spec), "/etc/group");
  if (!group.ok()) return group.status();
  absl::StatusOr<NumericUser> resolved = ResolveUser(*spec, *passwd, *group);
  if (resolved.ok() && !image.id.empty()) {
    absl::MutexLock lock(&mu_);
    users_[absl::StrCat(image.id, "\n", user)] = *resolved;  // an image id names its files
  }
  return resolved;
}

absl::Status Reconciler::StopAndRemove(const std::string& container_id) {
  int timeout = options_.stop_timeout_seconds;
  auto info = Inspect(container_id);
  inspect_cache_->Changed(container_id);
  if (info.ok()) {
    if (!info->running && info->state != "restarting") {
      return docker_->RemoveContainer(container_id, /*force=*/true);
    }
    if (info->stop_timeout_seconds > 0) timeout = info->stop_timeout_seconds;
  }
  if (absl::Status stopped = docker_->StopContainer(container_id, std::chrono::seconds(timeout));
      !stopped.ok()) {
    Logger()->warn("cannot stop container {} gracefully, removing it by force: {}", container_id,
                   std::string(stopped.message()));
  }
  return docker_->RemoveContainer(container_id, /*force=*/true);
}

absl::StatusOr<ContainerInfo> Reconciler::Inspect(const std::string& container_id) {
  if (std::optional<ContainerInfo> seen = inspect_cache_->Get(container_id)) return *seen;
  const InspectCache::Ticket before = inspect_cache_->Before();
  absl::StatusOr<ContainerInfo> info = docker_->InspectContainer(container_id);
  if (info.ok()) inspect_cache_->Put(before, *info);
  return info;
}

InstanceStatus Reconciler::StatusOf(const DesiredInstance& instance,
                                    const std::string& container_id) {
  auto info = Inspect(container_id);
  if (!info.ok()) return Failed(instance, std::string(info.status().message()));
  // Started without its CPU limit, which came after (Start) or not: the agent stopped in between,
  // or Docker refused it then.
  if (const int64_t wanted = NanoCpusOf(instance);
      info->running && wanted > 0 && info->nano_cpus != wanted) {
    if (absl::Status s = LimitCpu(instance, info->id); !s.ok()) {
      return Failed(instance, std::string(s.message()));
    }
    Logger()->info("'{}' runs with its CPU limit now", instance.name());
  }
  const bool exited = !info->running || info->state == "restarting";
  RestartHistory history;
  int shown = info->restart_count;  // Docker's own, when the agent never restarted it
  std::optional<int> last_exit_code;
  {
    absl::MutexLock lock(&mu_);
    auto it = restarts_.find(info->id);
    if (exited && info->state != "created") {
      // Docker sets ExitCode to 0 when it starts the container again: remember it now.
      if (it == restarts_.end()) it = restarts_.emplace(info->id, Restarts()).first;
      it->second.last_exit_code = info->exit_code;
    }
    if (it != restarts_.end()) {
      history = it->second.history;
      shown = it->second.shown + std::max(0, info->restart_count - history.docker_baseline);
      last_exit_code = it->second.last_exit_code;
    }
  }
  const absl::Time now = options_.now();
  const RestartDecision restart = DecideRestart(instance, *info, history, now);
  InstanceStatus status;
  status.set_name(instance.name());
  status.set_service(instance.service());
  status.set_container_id(info->id);
  status.set_exit_code(info->exit_code);
  status.set_restart_count(shown);
  if (last_exit_code) status.set_last_exit_code(*last_exit_code);
  // A new start time is how the coordinator tells a restart (its `started` event says so).
  if (!google::protobuf::util::TimeUtil::FromString(info->started_at,
                                                    status.mutable_started_at())) {
    status.clear_started_at();
  }
  switch (restart.action) {
    case RestartAction::kGiveUp:
      // Past kCrashLoopRestarts it is stopped and reported with its exit code and last lines.
      if (info->state == "restarting" || info->running) {
        inspect_cache_->Changed(info->id);
        (void)docker_->StopContainer(info->id, std::chrono::seconds(5));
      }
      status.set_state(bdcoord::v1::INSTANCE_STATE_FAILED);
      status.set_message(absl::StrCat("keeps failing: restarted ", restart.restarts,
                                      " times, last exit code ", info->exit_code));
      for (std::string& line : LastLogLines(info->id)) status.add_last_log_lines(std::move(line));
      return status;
    case RestartAction::kWait: {
      absl::MutexLock lock(&mu_);
      restarts_[info->id].due = restart.due;
      status.set_state(bdcoord::v1::INSTANCE_STATE_PENDING);
      status.set_message(
          absl::StrCat("exited with code ", info->exit_code, "; restarting in ",
                       absl::FormatDuration(absl::Ceil(restart.due - now, absl::Seconds(1)))));
      return status;
    }
    case RestartAction::kRestart: {
      inspect_cache_->Changed(info->id);
      const absl::Status started = docker_->StartContainer(info->id);
      // Docker's count after the start (0: a start through the API resets it) is the baseline.
      auto after = Inspect(info->id);  // kept for the status that follows
      {
        absl::MutexLock lock(&mu_);
        Restarts& restarts = restarts_[info->id];
        restarts.history =
            AfterRestart(history, restart, after.ok() ? after->restart_count : 0, now);
        restarts.due = absl::InfiniteFuture();
        restarts.shown = shown + 1;
      }
      if (!started.ok()) {
        status.set_state(bdcoord::v1::INSTANCE_STATE_FAILED);
        status.set_message(absl::StrCat("exited with code ", info->exit_code,
                                        "; cannot restart: ", started.message()));
        return status;
      }
      Logger()->info("restarted '{}' (exited with code {})", instance.name(), info->exit_code);
      return StatusOf(instance, container_id);  // its backoff keeps it from restarting again
    }
    case RestartAction::kNone:
      break;
  }
  if (info->running || info->state == "restarting") {
    status.set_state(bdcoord::v1::INSTANCE_STATE_RUNNING);
    if (Gated(*info)) ShowHeldBehindGate(instance, &status);
  } else if (info->state == "created") {
    status.set_state(bdcoord::v1::INSTANCE_STATE_CREATED);
    if (instance.hold()) status.set_message(kHeldMessage);
  } else if (instance.run_once() && info->exit_code == 0) {
    status.set_state(bdcoord::v1::INSTANCE_STATE_COMPLETED);
  } else {
    status.set_state(bdcoord::v1::INSTANCE_STATE_FAILED);
    status.set_message(absl::StrCat("exited with code ", info->exit_code));
    for (std::string& line : LastLogLines(info->id)) status.add_last_log_lines(std::move(line));
  }
  return status;
}

static absl::Duration ToDuration(const google::protobuf::Duration& d, absl::Duration fallback) {
  if (d.seconds() == 0 && d.nanos() == 0) return fallback;
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

void Reconciler::CheckReadiness(const DesiredInstance& instance, InstanceStatus* status) {
  if (status->state() != bdcoord::v1::INSTANCE_STATE_RUNNING) return;
  if (!instance.has_ready()) {
    status->set_ready(true);  // no probe: ready once started
    return;
  }
  const auto& probe = instance.ready();
  const ProbeTiming timing{
      .interval = ToDuration(probe.interval(), options_.probe_interval),
      .retries = probe.retries() > 0 ? probe.retries() : options_.probe_retries};
  const absl::Time now = options_.now();
  const int64_t started_ns =
      google::protobuf::util::TimeUtil::TimestampToNanoseconds(status->started_at());
  Readiness progress;
  {
    absl::MutexLock lock(&mu_);
    progress = readiness_[status->container_id()];
  }
  // Started again: probe the new run. A container reported right after its start has no start
  // time yet; the next pass's is that same run's unless Docker restarted it meanwhile.
  const bool same_run = progress.started_ns == started_ns ||
                        (progress.started_ns == 0 && status->restart_count() == 0);
  if (!same_run) progress = Readiness();
  progress.started_ns = started_ns;
  if (!progress.ready && now >= progress.next_check) {
    const absl::Status check = prober_->Check(probe, {instance.ip(), status->container_id()},
                                              ToDuration(probe.timeout(), options_.probe_timeout));
    if (progress.first_check == absl::InfinitePast()) progress.first_check = now;
    progress.ready = check.ok();
    if (progress.ready) {
      // When it became ready, as this host saw it: what its dependents wait for.
      Logger()->info("'{}' is ready ({} checks failed before)", instance.name(), progress.failures);
    } else {
      ++progress.failures;
      progress.last_error = std::string(check.message());
      const AfterFailure after =
          AfterFailedCheck(timing, progress.first_check, progress.failures, now);
      progress.given_up = after.give_up;
      progress.next_check = after.next_check;
    }
  }
  {
    absl::MutexLock lock(&mu_);
    readiness_[status->container_id()] = progress;
  }
  status->set_ready(progress.ready);
  if (progress.ready) return;
  if (progress.given_up) {
    // It keeps failing: report it, with its logs, instead of waiting forever.
    status->set_state(bdcoord::v1::INSTANCE_STATE_FAILED);
    status->set_message(absl::StrCat("not ready ", absl::FormatDuration(timing.Grace()),
                                     " after its first check (", progress.failures,
                                     " checks failed): ", progress.last_error));
    for (std::string& line : LastLogLines(status->container_id())) {
      status->add_last_log_lines(std::move(line));
    }
  } else if (progress.failures > 0) {
    status->set_message(absl::StrCat("not ready (", progress.failures,
                                     progress.failures == 1 ? " check" : " checks",
                                     " failed; fails ", absl::FormatDuration(timing.Grace()),
                                     " after the first): ", progress.last_error));
  } else {
    status->set_message("not ready: first check pending");
  }
}

absl::Time Reconciler::NextDue() const { return std::min(NextProbeDue(), NextRestartDue()); }

absl::Time Reconciler::NextProbeDue() const {
  absl::MutexLock lock(&mu_);
  absl::Time due = absl::InfiniteFuture();
  for (const auto& [id, progress] : readiness_) {
    if (!progress.ready) due = std::min(due, progress.next_check);
  }
  return due;
}

absl::Time Reconciler::NextRestartDue() const {
  absl::MutexLock lock(&mu_);
  absl::Time due = absl::InfiniteFuture();
  for (const auto& [id, restart] : restarts_) due = std::min(due, restart.due);
  return due;
}

bool Reconciler::CheckDueProbes(const DesiredState& desired,
                                std::vector<InstanceStatus>* statuses) {
  absl::flat_hash_map<std::string, const DesiredInstance*> by_name;
  for (const DesiredInstance& instance : desired.instances()) by_name[instance.name()] = &instance;
  const absl::Time now = options_.now();
  bool news = false;
  for (InstanceStatus& status : *statuses) {
    auto instance = by_name.find(status.name());
    if (instance == by_name.end() || !instance->second->has_ready() || status.ready()) continue;
    bool due = false, given_up = false;
    {
      absl::MutexLock lock(&mu_);
      auto progress = readiness_.find(status.container_id());
      if (progress == readiness_.end()) continue;  // never checked: the pass does it
      due = !progress->second.ready && now >= progress->second.next_check;
      given_up = progress->second.given_up;
    }
    if (!due) continue;
    const bdcoord::v1::InstanceState before = status.state();
    if (before == bdcoord::v1::INSTANCE_STATE_FAILED && given_up) {
      // Failed for want of readiness only: it runs, and a late success makes it ready.
      status.set_state(bdcoord::v1::INSTANCE_STATE_RUNNING);
      status.clear_last_log_lines();
    } else if (before != bdcoord::v1::INSTANCE_STATE_RUNNING) {
      continue;
    }
    CheckReadiness(*instance->second, &status);
    news = news || status.ready() || status.state() != before;
  }
  return news;
}

bool Reconciler::SyncDockersHostsFile(const std::string& container_id,
                                      const std::string& hosts_file) {
  if (hosts_file.empty()) return false;
  auto info = Inspect(container_id);  // its HostsPath stays: no inspect per pass
  if (!info.ok() || info->hosts_path.empty()) return false;
  auto current = host_files_->Read(info->hosts_path);
  if (current.ok() && *current == hosts_file) return false;
  if (absl::Status s = host_files_->WriteInPlace(info->hosts_path, hosts_file); !s.ok()) {
    Logger()->warn("cannot update /etc/hosts of '{}': {}", info->name, std::string(s.message()));
    return false;
  }
  return true;
}

absl::Status Reconciler::EnsureNetworkRecently(const NetworkConfig& config) {
  const absl::Time now = options_.now();
  {
    absl::MutexLock lock(&mu_);
    auto ensured = networks_ensured_.find(config.name);
    if (ensured != networks_ensured_.end() && ensured->second.first == config &&
        now - ensured->second.second < options_.network_recheck) {
      return absl::OkStatus();
    }
  }
  absl::Status status = docker_->EnsureNetwork(config);
  absl::MutexLock lock(&mu_);
  if (status.ok()) {
    networks_ensured_[config.name] = {config, now};
  } else {
    networks_ensured_.erase(config.name);
  }
  return status;
}

std::vector<std::string> Reconciler::PruneNetworks(std::vector<std::string> wanted) {
  std::sort(wanted.begin(), wanted.end());
  const absl::Time now = options_.now();
  {
    absl::MutexLock lock(&mu_);
    if (networks_pruned_ && networks_pruned_->first == wanted &&
        now - networks_pruned_->second < options_.network_recheck) {
      return {};  // nothing was left to prune, and nothing new is unwanted
    }
  }
  std::vector<std::string> errors;
  auto networks = docker_->ListNetworks({{kNetworkLabel, ""}});
  if (!networks.ok()) return {std::string(networks.status().message())};
  for (const NetworkInfo& network : *networks) {
    const std::string& name = network.config.name;
    if (std::find(wanted.begin(), wanted.end(), name) != wanted.end()) continue;
    if (absl::Status s = docker_->RemoveNetwork(name); !s.ok()) {
      errors.push_back(absl::StrCat("network '", name, "': ", s.message()));
      continue;  // still in use: keep its shim too
    }
    Logger()->info("removed network '{}'", name);
    if (links_ != nullptr) {
      if (absl::Status s = links_->RemoveShim(ShimName(name)); !s.ok()) {
        errors.push_back(absl::StrCat("host shim of network '", name, "': ", s.message()));
      }
    }
  }
  absl::MutexLock lock(&mu_);
  for (const NetworkInfo& network : *networks) {
    if (!std::binary_search(wanted.begin(), wanted.end(), network.config.name)) {
      networks_ensured_.erase(network.config.name);  // removed (or tried): find it again
    }
  }
  if (errors.empty()) {
    networks_pruned_.emplace(std::move(wanted), now);
  } else {
    networks_pruned_.reset();
  }
  return errors;
}

std::vector<std::string> Reconciler::LastLogLines(const std::string& container_id) {
  std::vector<std::string> lines;
  LogOptions options;
  options.tail = options_.failure_log_lines;
  docker_
      ->Logs(container_id, options,
             [&](const LogLine& line) {
               lines.push_back(line.text);
               return true;
             })
      .IgnoreError();
  return lines;
}

}  // namespace bdcoord::agent
