#ifndef BDCOORD_COORDINATOR_GRPC_COORDINATOR_H_
#define BDCOORD_COORDINATOR_GRPC_COORDINATOR_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "coordinator/grpc/agent_service.h"
#include "coordinator/grpc/cluster_service.h"
#include "coordinator/grpc/listen_endpoint.h"
#include "coordinator/grpc/service_metrics.h"
#include "coordinator/grpc/streams.h"
#include "coordinator/grpc/token_auth.h"
#include "coordinator/ops/cluster_ops.h"
#include "coordinator/ops/controller.h"
#include "coordinator/state/event_bus.h"
#include "coordinator/state/inventory.h"
#include "coordinator/state/leader_fence.h"
#include "coordinator/state/store.h"
#include "spdlog/spdlog.h"

namespace bdcoord::coordinator {

struct CoordinatorOptions {
  std::shared_ptr<spdlog::logger> logger;  // required
  std::function<absl::Time()> now;         // required
  // Seconds without a heartbeat after which a host is marked down.
  absl::Duration heartbeat_timeout = absl::Seconds(15);
  // Passes also run when an agent reports or (re)connects and when a cluster changes: an idle
  // coordinator reads its store rarely.
  absl::Duration controller_period = absl::Seconds(5);
  std::string token;       // when set, every call must carry it (token_auth.h)
  HostPolicy host_policy;  // what specs may do to the hosts (deny by default)
  // Open WatchEvents and StreamLogs streams, in all and per client (streams.h).
  size_t max_streams = kDefaultMaxStreams;
  size_t max_streams_per_client = kDefaultMaxStreamsPerClient;
  size_t log_stream_queue_bytes = kLogStreamQueueBytes;  // per StreamLogs call
  // A host disconnected this long leaves the inventory unless placed instances refer to it.
  absl::Duration forget_hosts_after = absl::Hours(24);
  // The controller's gauges and counters (none without); outlives the coordinator.
  const ControllerMetrics* controller_metrics = nullptr;
  // The services' durations and stream gauges (none without); outlives the coordinator too.
  const ServiceMetrics* service_metrics = nullptr;
  // One of several coordinators on one etcd (the election, outliving the coordinator); null: the
  // only one, always the leader. While it does not lead, the controller runs no pass, the
  // services refuse every call (leader_gate.h), and on losing the lead the open streams and
  // agent sessions end (checked every `leadership_check`).
  const Leadership* leadership = nullptr;
  absl::Duration leadership_check = absl::Milliseconds(100);
};

// bdcoordd's parts wired together over one store: the live inventory, the event bus, the agent
// service, the controller, the application layer, the cluster service and the heartbeat monitor
// (started). bdcoordd's main and the in-process tests build the same thing.
class Coordinator {
 public:
  // `store` must outlive this. Stop serving before destroying it.
  Coordinator(Store& store, CoordinatorOptions options);
  ~Coordinator();

  // Starts the controller's passes (tests of the agent stream alone leave it idle).
  void StartController() { controller_.Start(); }

  // Adds both services to `builder`, behind the token check when a token is configured.
  void RegisterServices(grpc::ServerBuilder& builder);
  // Starts the controller, then serves both services on the endpoint (listen_endpoint.h).
  absl::StatusOr<std::unique_ptr<grpc::Server>> Serve(const ListenFlags& flags,
                                                      const ListenEndpoint& endpoint);
  // Stops `server` without waiting on the calls that never end by themselves: the streams end
  // with UNAVAILABLE and the agents' sessions are cancelled (new ones are refused meanwhile),
  // then the server shuts down (calls still running after `grace` are cancelled) and is waited
  // for. The coordinator may serve again afterwards.
  void Shutdown(grpc::Server& server, absl::Duration grace = absl::Seconds(3));

  Inventory& inventory() { return inventory_; }
  EventBus& events() { return events_; }
  AgentServiceImpl& agent_service() { return agent_service_; }
  ClusterController& controller() { return controller_; }
  ClusterOps& ops() { return ops_; }
  ClusterServiceImpl& cluster_service() { return cluster_service_; }
  StreamRegistry& streams() { return streams_; }

 private:
  // Hosts gone for --forget-hosts-after leave the inventory (on the heartbeat monitor's thread).
  void ForgetGoneHosts();
  // The hosts of placed instances enter the inventory (down until they say hello): at start,
  // and when this coordinator comes to lead (clusters may have been applied meanwhile).
  void RestoreHosts();
  bool Leads() const { return options_.leadership == nullptr || options_.leadership->IsLeader(); }
  // Ends the streams and agent sessions when the lead is lost, until `stop_watch_`.
  void WatchLeadership();

  CoordinatorOptions options_;
  absl::Time last_forget_check_ = absl::InfinitePast();  // the monitor's thread only
  Inventory inventory_;
  EventBus events_;
  StreamRegistry streams_;
  AgentServiceImpl agent_service_;
  ClusterController controller_;
  ClusterOps ops_;
  ClusterServiceImpl cluster_service_;
  TokenAgentService token_agent_service_;
  TokenClusterService token_cluster_service_;
  // Destroyed first (members go in reverse order): the threads stop before what they use goes.
  HeartbeatMonitor monitor_;
  absl::Mutex watch_mu_;
  bool stop_watch_ ABSL_GUARDED_BY(watch_mu_) = false;
  std::thread leadership_watch_;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_GRPC_COORDINATOR_H_
