#include "coordinator/grpc/cluster_service.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/placement/placement_failures.h"
#include "coordinator/plan/orchestrator.h"
#include "coordinator/plan/planner.h"
#include "coordinator/spec/diagnostics.h"
#include "coordinator/spec/instance_names.h"
#include "coordinator/spec/spec_loader.h"
#include "coordinator/state/event_bus.h"
#include "spdlog/spdlog.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::InstanceStatus;

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

// A status whose details (the `grpc-status-details-bin` trailer) carry `detail` for tools, as an
// ErrorStatus, the wire format of google.rpc.Status.
grpc::Status WithDetails(grpc::StatusCode code, const std::string& message,
                         const google::protobuf::Message& detail) {
  bdcoord::v1::ErrorStatus status;
  status.set_code(code);
  status.set_message(message);
  status.add_details()->PackFrom(detail);
  return grpc::Status(code, message, status.SerializeAsString());
}

grpc::Status NeedsState() {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      "this coordinator has no store, agent service or controller");
}

std::string FileName(const bdcoord::v1::SpecSource& source) {
  return source.file_name().empty() ? std::string("cluster.yaml") : source.file_name();
}

// The stored placement as the planner's "previous": instances stay on their host and IP when
// they still fit.
PreviousPlacement PreviousOf(const bdcoord::v1::Placement& placement) {
  PreviousPlacement previous;
  for (const auto& instance : placement.instances()) {
    previous.host_of[instance.name()] = instance.host();
    previous.ip_of[instance.name()] = instance.ip();
  }
  return previous;
}

// What GetStatus and the progress streams show: the placement with every instance's status.
struct ClusterState {
  AppliedCluster applied;
  std::map<std::string, InstanceStatus> statuses;
  std::set<std::string> completed;
  Orchestration orchestration;
};

absl::StatusOr<ClusterState> ReadClusterState(Store* store, const std::string& name) {
  ClusterState state;
  auto applied = store->GetCluster(name);
  if (!applied.ok()) return applied.status();
  state.applied = std::move(*applied);
  auto statuses = store->InstanceStatuses(name);
  if (!statuses.ok()) return statuses.status();
  state.statuses = std::move(*statuses);
  state.completed = CompletedInstances(store, state.applied.spec, state.applied.placement);
  OrchestratorInput input;
  input.spec = &state.applied.spec;
  input.placement = &state.applied.placement;
  input.statuses = &state.statuses;
  input.completed = &state.completed;
  state.orchestration = Orchestrate(input);
  return state;
}

bdcoord::v1::ApplyProgress MakeProgress(const std::string& cluster, const Orchestration& o,
                                        bool settled) {
  bdcoord::v1::ApplyProgress progress;
  progress.set_cluster(cluster);
  for (const auto& service : o.services) *progress.add_services() = service;
  progress.set_done(settled && (o.done || o.failed));
  for (const auto& failure : o.failures) *progress.add_failures() = failure;
  return progress;
}

// The spec as applied (with earlier scales), with positions from its text for any message.
LoadedSpec AsLoaded(const AppliedCluster& applied) {
  LoadedSpec loaded = LoadSpec(applied.spec_yaml);
  loaded.diagnostics.clear();
  loaded.spec = applied.spec;
  return loaded;
}

int TotalInstances(const bdcoord::v1::ClusterSpec& spec) {
  int total = 0;
  for (const auto& service : spec.services()) total += service.count();
  return total;
}

}  // namespace

ClusterServiceImpl::ClusterServiceImpl(Inventory* inventory, AgentServiceImpl* agents, Store* store,
                                       ClusterController* controller, absl::Duration poll_period,
                                       std::function<absl::Time()> now)
    : inventory_(inventory),
      agents_(agents),
      store_(store),
      controller_(controller),
      poll_period_(poll_period),
      now_(std::move(now)) {}

std::vector<bdcoord::v1::Host> ClusterServiceImpl::LiveHosts(const bdcoord::v1::ClusterSpec& spec) {
  std::set<std::string> drained;
  if (store_ != nullptr) {
    if (auto records = store_->ListHosts(); records.ok()) {
      for (const HostRecord& record : *records) {
        if (record.drained) drained.insert(record.name);
      }
    }
  }
  // Connected hosts that are not down or drained, with their labels and capacity from their
  // facts; per-network parents from the spec's host of the same name.
  std::vector<bdcoord::v1::Host> hosts;
  for (const InventoryHost& live : inventory_->Hosts()) {
    if (!live.connected || live.down || drained.contains(live.name)) continue;
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

grpc::Status ClusterServiceImpl::PlanLive(const LoadedSpec& loaded, const std::string& file_name,
                                          Plan* plan) {
  const std::vector<bdcoord::v1::Host> hosts = LiveHosts(loaded.spec);
  const std::string& cluster = loaded.spec.cluster();
  PreviousPlacement previous;
  bool has_previous = false;
  absl::flat_hash_map<std::string, std::string> taken;  // other clusters' IPs
  std::map<std::string, std::vector<bdcoord::v1::Network>> other_networks;
  if (store_ != nullptr) {
    if (auto stored = store_->GetCluster(cluster); !cluster.empty() && stored.ok()) {
      previous = PreviousOf(stored->placement);
      has_previous = true;
    }
    auto names = store_->ListClusters();
    if (!names.ok()) return ToGrpc(names.status());
    for (const std::string& name : *names) {
      if (name == cluster) continue;
      auto other = store_->GetCluster(name);
      if (!other.ok()) continue;  // taken down meanwhile
      other_networks[name].assign(other->spec.networks().begin(), other->spec.networks().end());
    }
    auto allocated = store_->AllocatedIps();
    if (!allocated.ok()) return ToGrpc(allocated.status());
    for (const auto& [ip, owner] : *allocated) {
      if (owner.cluster == cluster) continue;
      taken[ip] = absl::StrCat("instance ", owner.instance, " of cluster '", owner.cluster, "'");
    }
  }
  PlanOptions options;
  options.inventory = &hosts;
  options.previous = has_previous ? &previous : nullptr;
  options.taken_ips = &taken;
  options.other_networks = &other_networks;
  *plan = MakePlan(loaded, options);
  // The agents make host shims only with an address per host, which this coordinator does not
  // allocate yet: refuse rather than fail on every host.
  for (const auto& network : loaded.spec.networks()) {
    if (!network.host_shim()) continue;
    plan->diagnostics.push_back(
        {loaded.positions.Find(absl::StrCat("networks.", network.name(), ".host_shim")),
         absl::StrCat("network '", network.name(),
                      "': host_shim is not supported by bdcoordd yet (it does not hand out shim "
                      "addresses)"),
         "remove host_shim: readiness probes reach the containers without it"});
  }
  if (!plan->diagnostics.empty()) {
    bdcoord::v1::SpecErrors errors;
    for (const Diagnostic& d : plan->diagnostics) {
      bdcoord::v1::SpecError* error = errors.add_errors();
      error->set_file(file_name);
      error->set_line(d.pos.line);
      error->set_column(d.pos.column);
      error->set_message(d.message);
      error->set_hint(d.hint);
    }
    return WithDetails(grpc::StatusCode::INVALID_ARGUMENT,
                       FormatDiagnostics(file_name, plan->diagnostics), errors);
  }
  if (!plan->failures.empty()) {
    bdcoord::v1::PlacementFailures failures;
    for (const PlacementFailure& f : plan->failures) {
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
    return WithDetails(grpc::StatusCode::FAILED_PRECONDITION,
                       FormatPlacementFailures(plan->failures, TotalInstances(loaded.spec)),
                       failures);
  }
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::StorePlan(const LoadedSpec& loaded, const std::string& file_name,
                                           const std::string& yaml, const Plan& plan) {
  AppliedCluster applied;
  applied.name = loaded.spec.cluster();
  applied.spec_file = file_name;
  applied.spec_yaml = yaml;
  applied.spec = loaded.spec;
  applied.placement = plan.placement;
  applied.applied_at = now_();
  if (absl::Status stored = store_->ApplyCluster(applied); !stored.ok()) return ToGrpc(stored);
  controller_->Wake();
  std::set<std::string> hosts;
  for (const auto& instance : plan.placement.instances()) hosts.insert(instance.host());
  bdcoord::v1::Event event;
  event.set_cluster(applied.name);
  event.set_kind(kEventPlaced);
  event.set_message(
      absl::StrCat(plan.placement.instances_size(), " instances on ", hosts.size(), " hosts"));
  agents_->events()->Publish(std::move(event));
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::FollowProgress(
    grpc::ServerContext* context, const std::string& cluster,
    grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer) {
  std::string last_progress;
  while (true) {
    auto state = ReadClusterState(store_, cluster);
    if (absl::IsNotFound(state.status())) {
      return grpc::Status(grpc::StatusCode::ABORTED,
                          absl::StrCat("cluster '", cluster, "' was taken down meanwhile"));
    }
    if (!state.ok()) return ToGrpc(state.status());
    const bdcoord::v1::ApplyProgress progress =
        MakeProgress(cluster, state->orchestration,
                     controller_->Settled(cluster, state->applied.spec, state->applied.placement));
    if (std::string text = progress.SerializeAsString(); text != last_progress) {
      if (!writer->Write(progress)) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      last_progress = std::move(text);
    }
    if (progress.done()) return grpc::Status::OK;
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    absl::SleepFor(poll_period_);
  }
}

grpc::Status ClusterServiceImpl::ResolveCluster(const std::string& requested,
                                                std::string* cluster) {
  auto names = store_->ListClusters();
  if (!names.ok()) return ToGrpc(names.status());
  if (requested.empty()) {
    if (names->size() == 1) {
      *cluster = names->front();
      return grpc::Status::OK;
    }
    if (names->empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no cluster is applied");
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat(names->size(), " clusters are applied (",
                                     absl::StrJoin(*names, ", "), "): name one with -c/--cluster"));
  }
  if (std::find(names->begin(), names->end(), requested) == names->end()) {
    std::string message = absl::StrCat("no cluster named '", requested, "'");
    if (std::string hint = SuggestionHint(requested, *names); !hint.empty()) {
      absl::StrAppend(&message, "; ", hint);
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND, message);
  }
  *cluster = requested;
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::FindCluster(const std::string& requested,
                                             AppliedCluster* applied) {
  std::string cluster;
  if (grpc::Status status = ResolveCluster(requested, &cluster); !status.ok()) return status;
  auto found = store_->GetCluster(cluster);
  if (!found.ok()) return ToGrpc(found.status());
  *applied = std::move(*found);
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::ListHosts(grpc::ServerContext*,
                                           const bdcoord::v1::ListHostsRequest*,
                                           bdcoord::v1::ListHostsResponse* response) {
  std::set<std::string> drained;
  std::map<std::string, uint32_t> instances;  // per host, across clusters
  if (store_ != nullptr) {
    if (auto records = store_->ListHosts(); records.ok()) {
      for (const HostRecord& record : *records) {
        if (record.drained) drained.insert(record.name);
      }
    }
    if (auto names = store_->ListClusters(); names.ok()) {
      for (const std::string& name : *names) {
        auto cluster = store_->GetCluster(name);
        if (!cluster.ok()) continue;
        for (const auto& instance : cluster->placement.instances()) ++instances[instance.host()];
      }
    }
  }
  for (const InventoryHost& host : inventory_->Hosts()) {
    bdcoord::v1::HostView* view = response->add_hosts();
    view->set_name(host.name);
    *view->mutable_facts() = host.facts;
    view->set_connected(host.connected);
    view->set_drained(drained.contains(host.name));
    view->set_instances(instances[host.name]);
    if (host.last_heartbeat != absl::InfinitePast()) {
      const int64_t nanos = absl::ToUnixNanos(host.last_heartbeat);
      view->mutable_last_heartbeat()->set_seconds(nanos / 1000000000);
      view->mutable_last_heartbeat()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
    }
  }
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::Place(grpc::ServerContext*,
                                       const bdcoord::v1::PlaceRequest* request,
                                       bdcoord::v1::PlaceResponse* response) {
  const LoadedSpec loaded = LoadSpec(request->spec().yaml());
  Plan plan;
  if (grpc::Status status = PlanLive(loaded, FileName(request->spec()), &plan); !status.ok()) {
    return status;
  }
  *response->mutable_placement() = plan.placement;
  response->set_hosts_file(plan.hosts_file);
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::Apply(grpc::ServerContext* context,
                                       const bdcoord::v1::ApplyRequest* request,
                                       grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer) {
  if (agents_ == nullptr || store_ == nullptr || controller_ == nullptr) return NeedsState();
  const std::string file_name = FileName(request->spec());
  const LoadedSpec loaded = LoadSpec(request->spec().yaml());
  Plan plan;
  if (grpc::Status status = PlanLive(loaded, file_name, &plan); !status.ok()) return status;
  if (grpc::Status status = StorePlan(loaded, file_name, request->spec().yaml(), plan);
      !status.ok()) {
    return status;
  }
  return FollowProgress(context, loaded.spec.cluster(), writer);
}

grpc::Status ClusterServiceImpl::Scale(grpc::ServerContext* context,
                                       const bdcoord::v1::ScaleRequest* request,
                                       grpc::ServerWriter<bdcoord::v1::ApplyProgress>* writer) {
  if (agents_ == nullptr || store_ == nullptr || controller_ == nullptr) return NeedsState();
  AppliedCluster applied;
  if (grpc::Status status = FindCluster(request->cluster(), &applied); !status.ok()) return status;
  const std::string& cluster = applied.name;
  LoadedSpec loaded = AsLoaded(applied);
  bdcoord::v1::Service* service = nullptr;
  std::vector<std::string> names;
  for (auto& candidate : *loaded.spec.mutable_services()) {
    names.push_back(candidate.name());
    if (candidate.name() == request->service()) service = &candidate;
  }
  if (service == nullptr) {
    std::string message =
        absl::StrCat("cluster '", cluster, "' has no service '", request->service(), "'");
    if (std::string hint = SuggestionHint(request->service(), names); !hint.empty()) {
      absl::StrAppend(&message, "; ", hint);
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND, message);
  }
  if (service->ips_size() > 0 && static_cast<uint32_t>(service->ips_size()) != request->count()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("service '", service->name(), "' pins ", service->ips_size(),
                                     " IPs, so it cannot run ", request->count(),
                                     " instances; change `ips` in the spec and apply it instead"));
  }
  service->set_count(request->count());
  Plan plan;
  if (grpc::Status status = PlanLive(loaded, applied.spec_file, &plan); !status.ok()) {
    return status;
  }
  if (grpc::Status status = StorePlan(loaded, applied.spec_file, applied.spec_yaml, plan);
      !status.ok()) {
    return status;
  }
  return FollowProgress(context, cluster, writer);
}

grpc::Status ClusterServiceImpl::Down(grpc::ServerContext* context,
                                      const bdcoord::v1::DownRequest* request,
                                      bdcoord::v1::DownResponse* response) {
  if (agents_ == nullptr || store_ == nullptr || controller_ == nullptr) return NeedsState();
  AppliedCluster applied;
  if (grpc::Status status = FindCluster(request->cluster(), &applied); !status.ok()) return status;
  const std::string& cluster = applied.name;
  std::set<std::string> hosts;
  for (const auto& instance : applied.placement.instances()) hosts.insert(instance.host());
  // Deleted first: from now on the controller tells every host still running some of it to
  // remove it, also after a coordinator restart.
  if (absl::Status deleted = store_->DeleteCluster(cluster); !deleted.ok()) return ToGrpc(deleted);
  controller_->Wake();
  bdcoord::v1::Event event;
  event.set_cluster(cluster);
  event.set_kind(kEventDown);
  event.set_message(absl::StrCat(applied.placement.instances_size(), " instances to remove"));
  agents_->events()->Publish(std::move(event));
  response->set_removed(applied.placement.instances_size());
  while (true) {
    const ClusterController::Removal removal = controller_->RemovalOf(cluster, hosts);
    if (removal.done) {
      for (const std::string& host : removal.disconnected) response->add_disconnected_hosts(host);
      return grpc::Status::OK;
    }
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    absl::SleepFor(poll_period_);
  }
}

grpc::Status ClusterServiceImpl::DrainHost(grpc::ServerContext*,
                                           const bdcoord::v1::DrainHostRequest* request,
                                           bdcoord::v1::DrainHostResponse* response) {
  if (agents_ == nullptr || store_ == nullptr || controller_ == nullptr) return NeedsState();
  const auto host = inventory_->Find(request->host());
  if (!host.has_value()) {
    std::vector<std::string> names;
    for (const InventoryHost& known : inventory_->Hosts()) names.push_back(known.name);
    std::string message = absl::StrCat("no host named '", request->host(), "'");
    if (std::string hint = SuggestionHint(request->host(), names); !hint.empty()) {
      absl::StrAppend(&message, "; ", hint);
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND, message);
  }
  if (absl::Status admitted = store_->AdmitHost(host->name, host->facts, now_()); !admitted.ok()) {
    return ToGrpc(admitted);
  }
  if (request->undo()) return ToGrpc(store_->SetHostDrained(host->name, false));
  if (absl::Status drained = store_->SetHostDrained(host->name, true); !drained.ok()) {
    return ToGrpc(drained);
  }
  // Re-plan every cluster with instances there; all or nothing: an impossible re-plan undoes
  // the drain and says why.
  auto names = store_->ListClusters();
  if (!names.ok()) return ToGrpc(names.status());
  struct Replan {
    AppliedCluster applied;
    LoadedSpec loaded;
    Plan plan;
  };
  std::vector<Replan> replans;
  for (const std::string& name : *names) {
    auto applied = store_->GetCluster(name);
    if (!applied.ok()) return ToGrpc(applied.status());
    bool affected = false;
    for (const auto& instance : applied->placement.instances()) {
      affected = affected || instance.host() == host->name;
    }
    if (!affected) continue;
    Replan& replan = replans.emplace_back();
    replan.loaded = AsLoaded(*applied);
    replan.applied = std::move(*applied);
    if (grpc::Status status = PlanLive(replan.loaded, replan.applied.spec_file, &replan.plan);
        !status.ok()) {
      (void)store_->SetHostDrained(host->name, false);
      return grpc::Status(status.error_code(),
                          absl::StrCat("cannot drain '", host->name, "': cluster '", name,
                                       "' does not fit on the other hosts; nothing moved\n",
                                       status.error_message()));
    }
  }
  for (const Replan& replan : replans) {
    for (const auto& instance : replan.applied.placement.instances()) {
      if (instance.host() == host->name) response->set_moved(response->moved() + 1);
    }
    response->add_clusters(replan.applied.name);
    if (grpc::Status status = StorePlan(replan.loaded, replan.applied.spec_file,
                                        replan.applied.spec_yaml, replan.plan);
        !status.ok()) {
      return status;
    }
  }
  return grpc::Status::OK;
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
    std::string cluster;
    if (grpc::Status status = ResolveCluster(request->cluster(), &cluster); !status.ok()) {
      return status;
    }
    names.push_back(cluster);
  }
  for (const std::string& name : names) {
    auto state = ReadClusterState(store_, name);
    if (absl::IsNotFound(state.status())) continue;  // taken down meanwhile
    if (!state.ok()) return ToGrpc(state.status());
    bdcoord::v1::ClusterStatus* out = response->add_clusters();
    out->set_cluster(name);
    for (const auto& instance : state->applied.placement.instances()) {
      bdcoord::v1::InstanceView* view = out->add_instances();
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
    }
    for (const auto& progress : state->orchestration.services) *out->add_services() = progress;
    if (request->probe()) ProbeNow(state->applied.spec, out);
  }
  return grpc::Status::OK;
}

void ClusterServiceImpl::ProbeNow(const bdcoord::v1::ClusterSpec& spec,
                                  bdcoord::v1::ClusterStatus* cluster) {
  if (agents_ == nullptr) return;
  std::map<std::string, const bdcoord::v1::Service*> services;
  for (const auto& service : spec.services()) services[service.name()] = &service;
  // All at once, each on its host: the slowest probe bounds the call, not their sum.
  const absl::Time deadline = absl::Now() + kProbeTimeout + absl::Seconds(1);
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
      auto result = agents_->RunProbe(view.placed().host(), request, deadline);
      if (!result.ok()) {
        view.set_probe(std::string(result.status().message()));
      } else {
        view.set_probe(result->ok() ? "ok" : result->message());
      }
    });
  }
  for (std::thread& probe : probes) probe.join();
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
  std::string cluster_name;
  if (grpc::Status status = ResolveCluster(request->cluster(), &cluster_name); !status.ok()) {
    return status;
  }
  auto cluster = store_->GetCluster(cluster_name);
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

  std::map<std::string, bdcoord::v1::InstanceStatus> statuses;
  if (auto stored = store_->InstanceStatuses(cluster_name); stored.ok()) statuses = *stored;
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
    // The container by its ID when the agent reported one: its name is the instance's unless
    // another cluster on that host has an instance of the same name (then INSTANCE.CLUSTER).
    std::string container = instance;
    if (auto it = statuses.find(instance);
        it != statuses.end() && !it->second.container_id().empty()) {
      container = it->second.container_id();
    }
    auto id = agents_->logs()->RequestLogs(
        target.host(), container, instance, request->follow(), request->tail(),
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

}  // namespace bdcoord::coordinator
