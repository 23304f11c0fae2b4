#include "coordinator/cluster_service.h"

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/diagnostics.h"
#include "coordinator/instance_names.h"
#include "coordinator/orchestrator.h"
#include "coordinator/placement_failures.h"
#include "coordinator/planner.h"
#include "coordinator/spec_loader.h"
#include "spdlog/spdlog.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::InstanceStatus;

grpc::Status NotYet() {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet implemented");
}

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

// The live inventory as placement hosts: connected hosts that are not down, with their labels
// and capacity from their facts; per-network parents from the spec's host of the same name.
std::vector<bdcoord::v1::Host> LiveHosts(const Inventory& inventory,
                                         const bdcoord::v1::ClusterSpec& spec) {
  std::vector<bdcoord::v1::Host> hosts;
  for (const InventoryHost& live : inventory.Hosts()) {
    if (!live.connected || live.down) continue;
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

const bdcoord::v1::Service* FindService(const bdcoord::v1::ClusterSpec& spec,
                                        const std::string& name) {
  for (const auto& service : spec.services()) {
    if (service.name() == name) return &service;
  }
  return nullptr;
}

bdcoord::v1::DesiredInstance MakeDesiredInstance(const bdcoord::v1::ClusterSpec& spec,
                                                 const bdcoord::v1::Service& service,
                                                 const RenderedInstance& rendered) {
  bdcoord::v1::DesiredInstance desired;
  desired.set_cluster(spec.cluster());
  desired.set_service(service.name());
  desired.set_name(rendered.placed.name());
  desired.set_index(rendered.placed.index());
  desired.set_domain(spec.domain());
  desired.set_image(service.image());
  for (const auto& arg : rendered.command) desired.add_command(arg);
  for (const auto& env : rendered.env) *desired.add_env() = env;
  for (const auto& file : rendered.files) *desired.add_files() = file;
  for (const auto& volume : rendered.volumes) *desired.add_volumes() = volume;
  desired.set_user(EffectiveUser(service));
  if (service.has_resources()) *desired.mutable_resources() = service.resources();
  if (service.has_restart()) *desired.mutable_restart() = service.restart();
  desired.set_run_once(service.run_once());
  if (service.has_ready()) *desired.mutable_ready() = service.ready();
  desired.set_network(rendered.placed.network());
  desired.set_ip(rendered.placed.ip());
  // spec_hash stays empty: the agent hashes the instance itself (agent::SpecHash, stable across
  // builds), so both sides always agree on what "changed" means.
  return desired;
}

// One host's desired state for the cluster: the instances of released services placed there.
bdcoord::v1::DesiredState MakeDesiredState(const bdcoord::v1::ClusterSpec& spec, const Plan& plan,
                                           const bdcoord::v1::Host* host,
                                           const std::set<std::string>& released,
                                           const std::set<std::string>& completed) {
  bdcoord::v1::DesiredState state;
  state.set_cluster(spec.cluster());
  for (const auto& network : spec.networks()) {
    bdcoord::v1::Network* out = state.add_networks();
    *out = network;
    if (host != nullptr) {
      if (auto it = host->parents().find(network.name()); it != host->parents().end()) {
        out->set_parent(it->second);
      }
    }
  }
  state.set_hosts_file(plan.hosts_file);
  if (host == nullptr) return state;
  for (const RenderedInstance& rendered : plan.instances) {
    if (rendered.placed.host() != host->name()) continue;
    if (!released.contains(rendered.placed.service())) continue;
    if (completed.contains(rendered.placed.name())) continue;  // run-once: never again
    const bdcoord::v1::Service* service = FindService(spec, rendered.placed.service());
    if (service == nullptr) continue;
    *state.add_instances() = MakeDesiredInstance(spec, *service, rendered);
  }
  return state;
}

// The run-once instances of the cluster that ever completed.
std::set<std::string> CompletedInstances(Store* store, const bdcoord::v1::ClusterSpec& spec,
                                         const bdcoord::v1::Placement& placement) {
  std::set<std::string> completed;
  for (const auto& instance : placement.instances()) {
    const bdcoord::v1::Service* service = FindService(spec, instance.service());
    if (service == nullptr || !service->run_once()) continue;
    auto done = store->RunOnceCompleted(spec.cluster(), instance.name());
    if (done.ok() && *done) completed.insert(instance.name());
  }
  return completed;
}

bdcoord::v1::ApplyProgress MakeProgress(const std::string& cluster, const Orchestration& o) {
  bdcoord::v1::ApplyProgress progress;
  progress.set_cluster(cluster);
  for (const auto& service : o.services) *progress.add_services() = service;
  progress.set_done(o.done || o.failed);
  for (const auto& failure : o.failures) *progress.add_failures() = failure;
  return progress;
}

}  // namespace

ClusterServiceImpl::ClusterServiceImpl(Inventory* inventory, AgentServiceImpl* agents, Store* store,
                                       absl::Duration poll_period, std::function<absl::Time()> now)
    : inventory_(inventory),
      agents_(agents),
      store_(store),
      poll_period_(poll_period),
      now_(std::move(now)) {}

grpc::Status ClusterServiceImpl::ListHosts(grpc::ServerContext*,
                                           const bdcoord::v1::ListHostsRequest*,
                                           bdcoord::v1::ListHostsResponse* response) {
  for (const InventoryHost& host : inventory_->Hosts()) {
    bdcoord::v1::HostView* view = response->add_hosts();
    view->set_name(host.name);
    *view->mutable_facts() = host.facts;
    view->set_connected(host.connected);
    if (host.last_heartbeat != absl::InfinitePast()) {
      const int64_t nanos = absl::ToUnixNanos(host.last_heartbeat);
      view->mutable_last_heartbeat()->set_seconds(nanos / 1000000000);
      view->mutable_last_heartbeat()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
    }
  }
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::Place(grpc::ServerContext*, const bdcoord::v1::PlaceRequest*,
                                       bdcoord::v1::PlaceResponse*) {
  return NotYet();
}
grpc::Status ClusterServiceImpl::Apply(grpc::ServerContext* context,
                                       const bdcoord::v1::ApplyRequest* request,
                                       grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer) {
  if (agents_ == nullptr || store_ == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this coordinator has no agent service or store");
  }
  const std::string& file_name = request->spec().file_name().empty() ? std::string("cluster.yaml")
                                                                     : request->spec().file_name();
  const LoadedSpec loaded = LoadSpec(request->spec().yaml());
  const std::vector<bdcoord::v1::Host> hosts = LiveHosts(*inventory_, loaded.spec);

  // Keep the stored placement: instances stay on their host and IP when they still fit.
  PreviousPlacement previous;
  bool has_previous = false;
  if (!loaded.spec.cluster().empty()) {
    if (auto stored = store_->GetCluster(loaded.spec.cluster()); stored.ok()) {
      has_previous = true;
      for (const auto& instance : stored->placement.instances()) {
        previous.host_of[instance.name()] = instance.host();
        previous.ip_of[instance.name()] = instance.ip();
      }
    }
  }
  PlanOptions options;
  options.inventory = &hosts;
  options.previous = has_previous ? &previous : nullptr;
  const Plan plan = MakePlan(loaded, options);
  if (!plan.diagnostics.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        FormatDiagnostics(file_name, plan.diagnostics));
  }
  if (!plan.failures.empty()) {
    int total = 0;
    for (const auto& service : loaded.spec.services()) total += service.count();
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        FormatPlacementFailures(plan.failures, total));
  }
  const bdcoord::v1::ClusterSpec& spec = loaded.spec;
  const std::string& cluster = spec.cluster();

  AppliedCluster applied;
  applied.name = cluster;
  applied.spec_file = file_name;
  applied.spec_yaml = request->spec().yaml();
  applied.spec = spec;
  applied.placement = plan.placement;
  applied.applied_at = now_();
  if (absl::Status stored = store_->ApplyCluster(applied); !stored.ok()) return ToGrpc(stored);

  // Every host the agents may need to hear from: the live ones (the placement is on them).
  std::map<std::string, const bdcoord::v1::Host*> host_by_name;
  for (const auto& host : hosts) host_by_name[host.name()] = &host;
  std::set<std::string> placed_hosts;
  for (const auto& instance : plan.placement.instances()) placed_hosts.insert(instance.host());

  std::map<std::string, InstanceStatus> statuses;
  if (auto stored = store_->InstanceStatuses(cluster); stored.ok()) statuses = std::move(*stored);
  std::set<std::string> completed = CompletedInstances(store_, spec, plan.placement);
  std::map<std::string, std::string> host_of;  // instance -> host
  for (const auto& instance : plan.placement.instances()) {
    host_of[instance.name()] = instance.host();
  }

  std::set<std::string> released;
  bool first_push = true;
  std::string last_progress;
  while (true) {
    // The latest reports of the hosts running the cluster, recorded in the store.
    for (const std::string& host : placed_hosts) {
      const auto report = agents_->LatestStatus(host, cluster);
      if (!report.has_value()) continue;
      for (const InstanceStatus& status : report->instances()) {
        auto where = host_of.find(status.name());
        if (where == host_of.end() || where->second != host) continue;
        auto& known = statuses[status.name()];
        if (known.SerializeAsString() == status.SerializeAsString()) continue;
        known = status;
        if (status.state() == bdcoord::v1::INSTANCE_STATE_COMPLETED) {
          completed.insert(status.name());
        }
        (void)store_->MarkInstance(cluster, status);
      }
    }
    OrchestratorInput input;
    input.spec = &spec;
    input.placement = &plan.placement;
    input.statuses = &statuses;
    input.completed = &completed;
    const Orchestration o = Orchestrate(input);

    std::set<std::string> now_released(o.released.begin(), o.released.end());
    if (first_push || now_released != released) {
      released = std::move(now_released);
      for (const auto& [name, host] : host_by_name) {
        bdcoord::v1::CoordinatorMessage message;
        *message.mutable_desired() = MakeDesiredState(
            spec, plan, placed_hosts.contains(name) ? host : nullptr, released, completed);
        const absl::Status sent = agents_->Send(name, message);
        if (!sent.ok() && placed_hosts.contains(name)) {
          return grpc::Status(
              grpc::StatusCode::UNAVAILABLE,
              absl::StrCat("host '", name, "' runs instances of cluster '", cluster,
                           "' but is not connected: ", std::string(sent.message())));
        }
      }
      first_push = false;
    }

    const bdcoord::v1::ApplyProgress progress = MakeProgress(cluster, o);
    if (std::string text = progress.SerializeAsString(); text != last_progress) {
      if (!writer->Write(progress)) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      last_progress = std::move(text);
    }
    if (o.done || o.failed) return grpc::Status::OK;
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    absl::SleepFor(poll_period_);
  }
}

grpc::Status ClusterServiceImpl::GetStatus(grpc::ServerContext*,
                                           const bdcoord::v1::GetStatusRequest* request,
                                           bdcoord::v1::GetStatusResponse* response) {
  if (store_ == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "this coordinator has no store");
  }
  std::vector<std::string> names;
  if (request->cluster().empty()) {
    auto all = store_->ListClusters();
    if (!all.ok()) return ToGrpc(all.status());
    names = std::move(*all);
  } else {
    names.push_back(request->cluster());
  }
  for (const std::string& name : names) {
    auto cluster = store_->GetCluster(name);
    if (absl::IsNotFound(cluster.status())) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("no cluster named '", name, "'"));
    }
    if (!cluster.ok()) return ToGrpc(cluster.status());
    auto statuses = store_->InstanceStatuses(name);
    if (!statuses.ok()) return ToGrpc(statuses.status());
    const std::set<std::string> completed =
        CompletedInstances(store_, cluster->spec, cluster->placement);
    bdcoord::v1::ClusterStatus* out = response->add_clusters();
    out->set_cluster(name);
    for (const auto& instance : cluster->placement.instances()) {
      bdcoord::v1::InstanceView* view = out->add_instances();
      *view->mutable_placed() = instance;
      if (auto it = statuses->find(instance.name()); it != statuses->end()) {
        *view->mutable_status() = it->second;
      } else {
        view->mutable_status()->set_name(instance.name());
        view->mutable_status()->set_service(instance.service());
        view->mutable_status()->set_state(completed.contains(instance.name())
                                              ? bdcoord::v1::INSTANCE_STATE_COMPLETED
                                              : bdcoord::v1::INSTANCE_STATE_PENDING);
      }
    }
    OrchestratorInput input;
    input.spec = &cluster->spec;
    input.placement = &cluster->placement;
    input.statuses = &*statuses;
    input.completed = &completed;
    for (const auto& progress : Orchestrate(input).services) *out->add_services() = progress;
  }
  return grpc::Status::OK;
}
namespace {

// How often the streaming RPCs look whether their client went away.
constexpr absl::Duration kCancelCheckPeriod = absl::Milliseconds(100);

// Lines and ends from the log requests of one StreamLogs call, filled by the router's callbacks.
struct LogFeed {
  absl::Mutex mu;
  std::deque<bdcoord::v1::AgentLogChunk> chunks ABSL_GUARDED_BY(mu);
  size_t open ABSL_GUARDED_BY(mu) = 0;  // requests not ended yet
  absl::Status error ABSL_GUARDED_BY(mu);

  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return !chunks.empty() || open == 0 || !error.ok();
  }
};

}  // namespace

grpc::Status ClusterServiceImpl::StreamLogs(grpc::ServerContext* context,
                                            const bdcoord::v1::StreamLogsRequest* request,
                                            grpc::ServerWriter<bdcoord::v1::LogLine>* writer) {
  if (store_ == nullptr || agents_ == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this coordinator has no store or no agent service");
  }
  if (request->target().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "name an instance or a service whose logs to stream");
  }
  std::string cluster_name = request->cluster();
  if (cluster_name.empty()) {
    auto all = store_->ListClusters();
    if (!all.ok()) return ToGrpc(all.status());
    if (all->empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no cluster is applied");
    if (all->size() > 1) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("several clusters are applied (", absl::StrJoin(*all, ", "), "): name one"));
    }
    cluster_name = all->front();
  }
  auto cluster = store_->GetCluster(cluster_name);
  if (absl::IsNotFound(cluster.status())) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("no cluster named '", cluster_name, "'"));
  }
  if (!cluster.ok()) return ToGrpc(cluster.status());

  // The target: one instance, else every instance of a service.
  std::vector<bdcoord::v1::PlacedInstance> targets;
  std::vector<std::string> names;
  std::set<std::string> services;
  for (const auto& instance : cluster->placement.instances()) {
    if (instance.name() == request->target()) targets = {instance};
    names.push_back(instance.name());
    services.insert(instance.service());
  }
  if (targets.empty()) {
    for (const auto& instance : cluster->placement.instances()) {
      if (instance.service() == request->target()) targets.push_back(instance);
    }
  }
  if (targets.empty()) {
    names.insert(names.end(), services.begin(), services.end());
    const std::string closest = ClosestMatch(request->target(), names);
    return grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        absl::StrCat("no instance or service named '", request->target(), "' in cluster '",
                     cluster_name, "'", closest.empty() ? "" : "; did you mean '", closest,
                     closest.empty() ? "" : "'?"));
  }
  for (const auto& target : targets) {
    const auto host = inventory_->Find(target.host());
    if (!host.has_value() || !host->connected || host->down) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          absl::StrCat("instance '", target.name(), "' is on host '", target.host(),
                                       "', which is not connected"));
    }
  }

  LogFeed feed;
  std::vector<uint64_t> ids;
  auto cancel_all = [&] {
    for (uint64_t id : ids) agents_->logs()->CancelLogs(id);
  };
  for (const auto& target : targets) {
    {
      absl::MutexLock lock(&feed.mu);
      ++feed.open;
    }
    const std::string instance = target.name();
    auto id = agents_->logs()->RequestLogs(
        target.host(), instance, request->follow(), request->tail(),
        [&feed, instance](const bdcoord::v1::AgentLogChunk& chunk, const absl::Status& ended) {
          absl::MutexLock lock(&feed.mu);
          if (chunk.lines_size() > 0) {
            feed.chunks.push_back(chunk);
            feed.chunks.back().set_instance(instance);
          }
          if (!ended.ok() && feed.error.ok()) feed.error = ended;
          if (chunk.end() || !ended.ok()) --feed.open;
        });
    if (!id.ok()) {
      cancel_all();
      return ToGrpc(id.status());
    }
    ids.push_back(*id);
  }

  while (true) {
    std::deque<bdcoord::v1::AgentLogChunk> chunks;
    absl::Status error;
    bool all_ended = false;
    {
      absl::MutexLock lock(&feed.mu);
      feed.mu.AwaitWithTimeout(absl::Condition(&feed, &LogFeed::Ready), kCancelCheckPeriod);
      chunks.swap(feed.chunks);
      error = feed.error;
      all_ended = feed.open == 0;
    }
    for (const auto& chunk : chunks) {
      for (const std::string& text : chunk.lines()) {
        bdcoord::v1::LogLine line;
        line.set_instance(chunk.instance());
        line.set_text(text);
        line.set_stderr(chunk.stderr());
        if (!writer->Write(line)) {
          cancel_all();
          return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
        }
      }
    }
    if (!error.ok()) {
      cancel_all();
      return ToGrpc(error);
    }
    if (all_ended) break;
    if (context->IsCancelled()) {
      cancel_all();
      return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    }
  }
  cancel_all();  // every request ended: nothing is sent, no callback can run after this
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::WatchEvents(grpc::ServerContext* context,
                                             const bdcoord::v1::WatchEventsRequest* request,
                                             grpc::ServerWriter<bdcoord::v1::Event>* writer) {
  if (agents_ == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this coordinator has no agent service");
  }
  std::unique_ptr<EventBus::Subscription> subscription =
      agents_->events()->Subscribe(request->cluster());
  // Headers go out now: the client knows it is subscribed before the first event.
  writer->SendInitialMetadata();
  spdlog::default_logger()->debug("events watcher subscribed (cluster '{}', peer '{}')",
                                  request->cluster(), context->peer());
  while (!context->IsCancelled()) {
    std::optional<bdcoord::v1::Event> event = subscription->Next(absl::Now() + kCancelCheckPeriod);
    if (event.has_value() && !writer->Write(*event)) break;
  }
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::Scale(grpc::ServerContext*, const bdcoord::v1::ScaleRequest*,
                                       grpc::ServerWriter<bdcoord::v1::ApplyProgress>*) {
  return NotYet();
}
grpc::Status ClusterServiceImpl::Down(grpc::ServerContext*, const bdcoord::v1::DownRequest*,
                                      bdcoord::v1::DownResponse*) {
  return NotYet();
}
grpc::Status ClusterServiceImpl::DrainHost(grpc::ServerContext*,
                                           const bdcoord::v1::DrainHostRequest*,
                                           bdcoord::v1::DrainHostResponse*) {
  return NotYet();
}

}  // namespace bdcoord::coordinator
