#ifndef BDCOORD_TESTS_TESTING_SIM_AGENT_H_
#define BDCOORD_TESTS_TESTING_SIM_AGENT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bdcoord/v1/agent.grpc.pb.h"

namespace bdcoord::test_util {

// What an agent whose Docker does everything at once reports for `desired`: every instance
// running and ready, as bdagent's status reports say it (its spec hash, the desired state's
// generation); a held one created and not started, a run-once one completed with exit code 0.
bdcoord::v1::StatusReport ReportEverythingUp(const bdcoord::v1::DesiredState& desired);

// The hello of a simulated host: its name, facts as `bdagent --facts` has them (CPUs, memory,
// Docker's version) and its labels.
bdcoord::v1::AgentMessage SimHello(const std::string& host,
                                   const std::map<std::string, std::string>& labels);

// A simulated bdagent on gRPC's callback API, so that a thousand of them need no thread each:
// one AgentService.Connect stream that says hello, keeps each cluster's desired state as bdagent
// does (hosts_only, the hosts map's version moved by deltas from it), answers it at once with
// ReportEverythingUp (the latest report per cluster: one not yet written is replaced), and
// heartbeats when told to. It counts what it reads (each CoordinatorMessage's serialized size)
// and what it reported. Thread-safe.
class SimAgent
    : public grpc::ClientBidiReactor<bdcoord::v1::AgentMessage, bdcoord::v1::CoordinatorMessage> {
 public:
  struct Counters {
    uint64_t messages = 0;        // CoordinatorMessages read
    uint64_t bytes = 0;           // their serialized sizes
    uint64_t desired_states = 0;  // of them, desired states
    uint64_t hosts_bytes = 0;     // their hosts files, hosts maps and hosts deltas
    uint64_t running = 0;         // instances running or completed in the last reports
    absl::Time running_changed = absl::InfinitePast();  // when `running` last changed
  };

  SimAgent(std::string host, std::map<std::string, std::string> labels);
  ~SimAgent() override;  // cancels the stream and waits for its end

  // Opens the stream on `stub` and says hello.
  void Start(bdcoord::v1::AgentService::Stub* stub);
  void Heartbeat();
  Counters counters() const;
  const std::string& host() const { return host_; }
  // Whether the stream ended (the coordinator went away, or it refused the agent).
  bool done() const;

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  // Queues `message` (a status replaces a queued status of its cluster) and writes when idle.
  void Enqueue(bdcoord::v1::AgentMessage message) ABSL_LOCKS_EXCLUDED(mu_);

  std::string host_;
  std::map<std::string, std::string> labels_;
  grpc::ClientContext context_;
  bdcoord::v1::CoordinatorMessage incoming_;  // only on the read callback

  mutable absl::Mutex mu_;
  std::deque<bdcoord::v1::AgentMessage> queue_ ABSL_GUARDED_BY(mu_);
  bdcoord::v1::AgentMessage writing_ ABSL_GUARDED_BY(mu_);
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, uint64_t> running_by_cluster_ ABSL_GUARDED_BY(mu_);
  // Per cluster: the last desired state without its hosts, and the hosts map's version.
  struct Kept {
    bdcoord::v1::DesiredState desired;
    uint64_t hosts_version = 0;
  };
  std::map<std::string, Kept> kept_ ABSL_GUARDED_BY(mu_);
  Counters counters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace bdcoord::test_util

#endif  // BDCOORD_TESTS_TESTING_SIM_AGENT_H_
