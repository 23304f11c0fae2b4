#ifndef BDCOORD_COORDINATOR_AGENT_SERVICE_H_
#define BDCOORD_COORDINATOR_AGENT_SERVICE_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bdcoord/v1/agent.grpc.pb.h"
#include "coordinator/inventory.h"
#include "spdlog/spdlog.h"

namespace bdcoord::coordinator {

// AgentService: every agent keeps one Connect stream open. The first message must be a hello;
// it registers the host in the inventory; heartbeats refresh it; the end of the stream marks it
// disconnected. The coordinator pushes messages (desired states) to a host with Send.
class AgentServiceImpl final : public bdcoord::v1::AgentService::Service {
 public:
  AgentServiceImpl(
      Inventory* inventory, std::shared_ptr<spdlog::logger> logger,
      std::function<absl::Time()> now = [] { return absl::Now(); });

  grpc::Status Connect(grpc::ServerContext* context,
                       grpc::ServerReaderWriter<bdcoord::v1::CoordinatorMessage,
                                                bdcoord::v1::AgentMessage>* stream) override;

  // Writes one message to the host's current stream. Unavailable when the host is not connected
  // or the write fails.
  absl::Status Send(const std::string& host, const bdcoord::v1::CoordinatorMessage& message);

  // The latest status report of each host and cluster (host -> cluster -> report).
  std::optional<bdcoord::v1::StatusReport> LatestStatus(const std::string& host,
                                                        const std::string& cluster) const;
  // Every cluster's latest report from the host's current connection, by cluster.
  std::map<std::string, bdcoord::v1::StatusReport> LatestStatuses(const std::string& host) const;

 private:
  using Stream =
      grpc::ServerReaderWriter<bdcoord::v1::CoordinatorMessage, bdcoord::v1::AgentMessage>;
  struct Session {
    uint64_t id = 0;
    Stream* stream = nullptr;
    absl::Mutex write_mu;  // one writer at a time on a stream
  };

  Inventory* inventory_;
  std::shared_ptr<spdlog::logger> logger_;
  std::function<absl::Time()> now_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Session>> sessions_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, bdcoord::v1::StatusReport>>
      statuses_ ABSL_GUARDED_BY(mu_);
};

// A background thread that marks hosts down when their heartbeats stop for longer than
// `timeout`, checking every `period`, and logs each one.
class HeartbeatMonitor {
 public:
  HeartbeatMonitor(
      Inventory* inventory, std::shared_ptr<spdlog::logger> logger, absl::Duration timeout,
      absl::Duration period, std::function<absl::Time()> now = [] { return absl::Now(); });
  ~HeartbeatMonitor();  // stops the thread

 private:
  Inventory* inventory_;
  std::shared_ptr<spdlog::logger> logger_;
  absl::Duration timeout_;
  absl::Duration period_;
  std::function<absl::Time()> now_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_AGENT_SERVICE_H_
