#include "coordinator/grpc/coordinator.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_join.h"
#include "coordinator/grpc/leader_gate.h"

namespace bdcoord::coordinator {

Coordinator::Coordinator(Store& store, CoordinatorOptions options)
    : options_(std::move(options)),
      events_(options_.now),
      streams_(options_.max_streams, options_.max_streams_per_client, options_.service_metrics),
      agent_service_(inventory_, options_.logger, options_.now, events_,
                     options_.service_metrics != nullptr
                         ? &options_.service_metrics->Streams("agent")
                         : nullptr),
      controller_(inventory_, agent_service_, store, options_.logger, options_.now,
                  options_.controller_period, options_.controller_metrics),
      ops_(inventory_, store, agent_service_, events_, controller_, options_.now,
           options_.host_policy, options_.controller_metrics),
      cluster_service_(ops_, *agent_service_.logs(), events_, streams_, options_.now,
                       options_.log_stream_queue_bytes, options_.service_metrics),
      token_agent_service_(&agent_service_, options_.token, options_.leadership),
      token_cluster_service_(&cluster_service_, options_.token, options_.leadership),
      monitor_(
          inventory_, options_.logger, options_.heartbeat_timeout,
          std::clamp(options_.heartbeat_timeout / 4, absl::Milliseconds(100), absl::Seconds(1)),
          options_.now, events_, [this] { ForgetGoneHosts(); }) {
  RestoreHosts();
  agent_service_.OnHello([this](const std::string& host, const bdcoord::v1::HostFacts& facts) {
    if (absl::Status remembered = ops_.RememberHost(host, facts); !remembered.ok()) {
      options_.logger->error("cannot store host '{}': {}", host, std::string(remembered.message()));
    }
  });
  agent_service_.OnChange([this] { controller_.Wake(); });
  if (options_.leadership != nullptr) {
    controller_.SetActingGate([this] { return Leads(); });
    leadership_watch_ = std::thread([this] { WatchLeadership(); });
  }
  controller_.SetRescheduleHook([this](const std::string& cluster, const RescheduleDecision& due) {
    return ops_.Reschedule(cluster, due);
  });
  controller_.SetRolloutHooks(&events_, [this](const std::string& cluster, const std::string& why) {
    if (absl::StatusOr<std::string> undone = ops_.Undo(cluster, why); !undone.ok()) {
      options_.logger->error("cannot revert the rollout of '{}': {}", cluster,
                             std::string(undone.status().message()));
    }
  });
}

Coordinator::~Coordinator() {
  {
    absl::MutexLock lock(&watch_mu_);
    stop_watch_ = true;
  }
  if (leadership_watch_.joinable()) leadership_watch_.join();
  streams_.AwaitDeferred();  // the streams' cleanups use the other parts
}

void Coordinator::WatchLeadership() {
  bool led = false;
  absl::MutexLock lock(&watch_mu_);
  while (!watch_mu_.AwaitWithTimeout(absl::Condition(&stop_watch_), options_.leadership_check)) {
    const bool leads = options_.leadership->IsLeader();
    if (leads && !led) {
      options_.logger->info("leading: the controller acts, agents and clients are served");
      RestoreHosts();  // placed since this one started: a host that never comes back is lost
      controller_.Wake();
    } else if (!leads && led) {
      // New calls are refused by the services already; these would go on serving.
      const std::string leader = options_.leadership->Leader();
      options_.logger->warn("no longer the leader ({}): ending every stream and agent session",
                            leader.empty() ? "none known" : leader);
      const grpc::Status standby(grpc::StatusCode::UNAVAILABLE, StandbyMessage(leader));
      streams_.StopAll(standby);
      agent_service_.DisconnectAll();
    }
    led = leads;
  }
}

absl::StatusOr<std::unique_ptr<grpc::Server>> Coordinator::Serve(const ListenFlags& flags,
                                                                 const ListenEndpoint& endpoint) {
  StartController();
  return StartServer(flags, endpoint,
                     [this](grpc::ServerBuilder& builder) { RegisterServices(builder); });
}

void Coordinator::RestoreHosts() {
  // Hosts placed instances are on are known before they say hello: one that never does is lost.
  if (absl::StatusOr<std::vector<std::string>> restored = ops_.RestoreHosts(); !restored.ok()) {
    options_.logger->error("cannot read the hosts from the store: {}",
                           std::string(restored.status().message()));
  } else if (!restored->empty()) {
    options_.logger->info("hosts known from the store, down until they say hello: {}",
                          absl::StrJoin(*restored, ", "));
  }
}

void Coordinator::ForgetGoneHosts() {
  // A gone host that instances still refer to would have the store read every period.
  if (!Leads()) return;  // the store would refuse the writes
  const absl::Time now = options_.now();
  if (now - last_forget_check_ < std::min(absl::Seconds(30), options_.forget_hosts_after)) return;
  last_forget_check_ = now;
  for (const std::string& host : ops_.ForgetGoneHosts(options_.forget_hosts_after)) {
    agent_service_.ForgetHost(host);
    options_.logger->info("host '{}' forgotten: disconnected for more than {}, no instance on it",
                          host, absl::FormatDuration(options_.forget_hosts_after));
  }
}

void Coordinator::Shutdown(grpc::Server& server, absl::Duration grace) {
  const grpc::Status stopping(grpc::StatusCode::UNAVAILABLE, "the coordinator is shutting down");
  streams_.SetClosed(stopping);
  streams_.StopAll(stopping);
  agent_service_.SetClosed(true);
  agent_service_.DisconnectAll();
  server.Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
  server.Wait();
  streams_.AwaitDeferred();
  agent_service_.SetClosed(false);
  streams_.SetClosed(grpc::Status::OK);
}

void Coordinator::RegisterServices(grpc::ServerBuilder& builder) {
  if (options_.token.empty() && options_.leadership == nullptr) {
    builder.RegisterService(&agent_service_);
    builder.RegisterService(&cluster_service_);
  } else {
    builder.RegisterService(&token_agent_service_);
    builder.RegisterService(&token_cluster_service_);
  }
}

}  // namespace bdcoord::coordinator
