#ifndef BDCOORD_COORDINATOR_GRPC_AGENT_SERVICE_H_
#define BDCOORD_COORDINATOR_GRPC_AGENT_SERVICE_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bdcoord/v1/agent.grpc.pb.h"
#include "coordinator/ops/agent_sessions.h"
#include "coordinator/state/event_bus.h"
#include "coordinator/state/inventory.h"
#include "coordinator/state/log_router.h"
#include "prometheus/gauge.h"
#include "spdlog/spdlog.h"

namespace bdcoord::coordinator {

// AgentService: every agent keeps one Connect stream open. The first message must be a hello;
// it registers the host in the inventory; heartbeats refresh it; the end of the stream marks it
// disconnected. The coordinator pushes messages (desired states) to a host with Send.
// Log chunks from agents go to logs() (the LogRouter); host-up/host-down and the instance state
// changes seen in status reports are published on events().
class AgentServiceImpl final : public bdcoord::v1::AgentService::Service, public AgentSessions {
 public:
  // Every collaborator is required and must outlive this, but `open_streams` (agents'
  // streams open now, bdcoord_streams_open{kind="agent"}; none when null).
  AgentServiceImpl(Inventory& inventory, std::shared_ptr<spdlog::logger> logger,
                   std::function<absl::Time()> now, EventBus& events,
                   prometheus::Gauge* open_streams = nullptr);

  grpc::Status Connect(grpc::ServerContext* context,
                       grpc::ServerReaderWriter<bdcoord::v1::CoordinatorMessage,
                                                bdcoord::v1::AgentMessage>* stream) override;

  // AgentSessions.
  absl::Status Send(const std::string& host,
                    const bdcoord::v1::CoordinatorMessage& message) override;
  std::optional<bdcoord::v1::StatusReport> LatestStatus(const std::string& host,
                                                        const std::string& cluster) const override;
  std::map<std::string, bdcoord::v1::StatusReport> LatestStatuses(
      const std::string& host) const override;
  absl::StatusOr<bdcoord::v1::CommandResult> RunProbe(const std::string& host,
                                                      bdcoord::v1::ProbeRequest request,
                                                      absl::Time deadline) override;
  std::map<std::string, absl::StatusOr<bdcoord::v1::ImageList>> ListImages(
      const std::vector<std::string>& hosts, absl::Time deadline) override;
  uint64_t ExpectResult(const std::string& host) override;
  absl::StatusOr<bdcoord::v1::CommandResult> AwaitResult(uint64_t request_id,
                                                         absl::Time deadline) override;

  // Log requests to the agents, answered over their streams.
  LogRouter* logs() { return &log_router_; }
  // Where host and instance events are published (ClusterServiceImpl subscribes and publishes
  // through agents->events()).
  EventBus* events() { return &events_; }

  // Called after every hello, status report and disconnection (on the stream's thread): the
  // controller's cue to look again. Set it before serving.
  void OnChange(std::function<void()> callback) { on_change_ = std::move(callback); }

  // Called after every hello (on the stream's thread) with the host and its facts: the store
  // remembers the hosts. Set it before serving.
  void OnHello(std::function<void(const std::string&, const bdcoord::v1::HostFacts&)> callback) {
    on_hello_ = std::move(callback);
  }

  // While closed, Connect refuses agents with UNAVAILABLE (the coordinator is stopping).
  void SetClosed(bool closed);
  // Cancels every agent's stream (each ends as a disconnection): a server shutting down need
  // not wait for streams that never end by themselves.
  void DisconnectAll();
  // The host left the inventory (Inventory::Forget): its last reports go too, unless it is
  // connected again.
  void ForgetHost(const std::string& host);

 private:
  using Stream =
      grpc::ServerReaderWriter<bdcoord::v1::CoordinatorMessage, bdcoord::v1::AgentMessage>;
  struct Session {
    uint64_t id = 0;
    grpc::ServerContext* context = nullptr;  // valid while the session is in sessions_
    Stream* stream = nullptr;
    absl::Mutex write_mu;  // one writer at a time on a stream
  };

  // Publishes the state changes between a host's previous report for the cluster and `report`.
  void PublishChanges(const std::string& host, const bdcoord::v1::StatusReport* previous,
                      const bdcoord::v1::StatusReport& report);
  void PublishHost(const std::string& host, const char* kind, const std::string& message);

  Inventory& inventory_;
  std::shared_ptr<spdlog::logger> logger_;
  std::function<absl::Time()> now_;
  EventBus& events_;
  prometheus::Gauge* open_streams_;
  LogRouter log_router_;
  std::function<void()> on_change_ = [] {};
  std::function<void(const std::string&, const bdcoord::v1::HostFacts&)> on_hello_ =
      [](const std::string&, const bdcoord::v1::HostFacts&) {};
  // Requests to agents waiting for their answer: a CommandResult (probes, image loads) or an
  // ImageList.
  struct PendingCommand {
    std::string host;
    std::optional<bdcoord::v1::CommandResult> result;
    std::optional<bdcoord::v1::ImageList> images;
    bool host_gone = false;
  };
  // Waits for the command's answer (`answered`) until `deadline`, then forgets it; `what` names
  // it in the errors.
  absl::Status AwaitAnswer(uint64_t request_id, absl::Time deadline, const char* what,
                           std::shared_ptr<PendingCommand>* command);
  absl::Mutex commands_mu_;
  uint64_t next_command_ ABSL_GUARDED_BY(commands_mu_) = 1;
  absl::flat_hash_map<uint64_t, std::shared_ptr<PendingCommand>> commands_
      ABSL_GUARDED_BY(commands_mu_);
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Session>> sessions_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, bdcoord::v1::StatusReport>>
      statuses_ ABSL_GUARDED_BY(mu_);
};

// A background thread that marks hosts down when their heartbeats stop for longer than
// `timeout`, checking every `period`, and logs each one (and publishes host-down on `events`).
// `each_period`, when set, runs on that thread after every check (the coordinator forgets hosts
// gone for long there).
class HeartbeatMonitor {
 public:
  HeartbeatMonitor(Inventory& inventory, std::shared_ptr<spdlog::logger> logger,
                   absl::Duration timeout, absl::Duration period, std::function<absl::Time()> now,
                   EventBus& events, std::function<void()> each_period = nullptr);
  ~HeartbeatMonitor();  // stops the thread

 private:
  Inventory& inventory_;
  std::shared_ptr<spdlog::logger> logger_;
  absl::Duration timeout_;
  absl::Duration period_;
  std::function<absl::Time()> now_;
  EventBus& events_;
  std::function<void()> each_period_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_GRPC_AGENT_SERVICE_H_
