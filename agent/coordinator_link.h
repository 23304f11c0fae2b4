#ifndef BDCOORD_AGENT_COORDINATOR_LINK_H_
#define BDCOORD_AGENT_COORDINATOR_LINK_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/uplink.h"
#include "bdcoord/v1/agent.grpc.pb.h"
#include "prometheus/gauge.h"

namespace bdcoord::agent {

struct CoordinatorLinkOptions {
  std::string address = "unix:///run/bdcoord/bdcoordd.sock";  // a gRPC target
  // The channel to `address`, with its TLS and token (rpc::NewClientChannel); null: plaintext.
  std::shared_ptr<grpc::Channel> channel;
  // Several coordinators sharing an etcd (--coordinator a,b,c; `address` is the first): the
  // link looks for the leader among them, a leader named by a standby's refusal first, and
  // waits (backoff) only after each was tried. `dial` makes the channel to one of them (null:
  // plaintext).
  std::vector<std::string> addresses;
  std::function<std::shared_ptr<grpc::Channel>(const std::string&)> dial;
  std::string host_name;  // the name in the inventory
  // Called at each (re)connection for the hello.
  std::function<bdcoord::v1::HostFacts()> facts = [] { return bdcoord::v1::HostFacts(); };
  absl::Duration heartbeat_interval = absl::Seconds(2);
  absl::Duration min_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Seconds(30);
  // Every LogRequest received (new requests and cancels), on the link's reader thread: keep it
  // short (hand it to a LogServer).
  std::function<void(const bdcoord::v1::LogRequest&)> on_logs;
  // Every ProbeRequest, on the link's reader thread: answer it elsewhere with SendResult.
  std::function<void(const bdcoord::v1::ProbeRequest&)> on_probe;
  // Every ImageChunk, on the link's reader thread, which it may block (backpressure: an
  // ImageLoader waiting for Docker); every ImageListRequest (answer elsewhere with SendImageList).
  std::function<void(const bdcoord::v1::ImageChunk&)> on_image;
  std::function<void(const bdcoord::v1::ImageListRequest&)> on_list_images;
  // The stream to the coordinator ended (after it was connected): what it asked for is void.
  std::function<void()> on_disconnected;
  // Every message from the coordinator (its answers to heartbeats included), on the link's reader
  // thread: what the agent's fencing counts from.
  std::function<void()> on_contact;
  // The clock: required (main wires absl::Now; tests a FakeClock, so they need no sleeps).
  std::function<absl::Time()> now;
  // Set to 1 while connected, 0 otherwise (bdagent_coordinator_connected); none when null.
  prometheus::Gauge* connected_gauge = nullptr;
};

// The wait before dialling again, every coordinator having been tried: the minimum while the end
// of the last served stream (one that outlived two heartbeats) is `since_served` ago, less than
// the maximum backoff (a failover under way); `backoff` after that.
absl::Duration ReconnectDelay(const CoordinatorLinkOptions& options, absl::Duration backoff,
                              absl::Duration since_served);

// Whether a stream that lived `lived` was served: it outlived two heartbeats (a standby's
// refusal or a dead address ends it at once).
bool StreamWasServed(const CoordinatorLinkOptions& options, absl::Duration lived);

// The backoff after waiting `delay`: doubled, at most the maximum.
absl::Duration NextLinkBackoff(const CoordinatorLinkOptions& options, absl::Duration delay);

// What to tell the operator besides the error when the stream to the coordinator failed with
// `status` (empty when there is nothing to add).
std::string StreamErrorHint(const grpc::Status& status);

// The first message on every stream: this host's name and facts.
bdcoord::v1::AgentMessage HelloMessage(const CoordinatorLinkOptions& options);

// The agent's end of AgentService.Connect: dials the coordinator, says hello with this host's
// facts, sends a heartbeat every interval, hands every received DesiredState to `on_desired`
// (on the link's reader thread) and every LogRequest to `options.on_logs`, and reconnects with
// exponential backoff when the stream breaks. Nothing is undone when the coordinator goes away: the
// agent keeps its last desired state.
class CoordinatorLink : public Uplink {
 public:
  using DesiredCallback = std::function<void(const bdcoord::v1::DesiredState&)>;
  CoordinatorLink(CoordinatorLinkOptions options, DesiredCallback on_desired);
  ~CoordinatorLink() override;  // Stop()

  void Start();
  void Stop();

  // Sends a status report on the current stream; false when not connected.
  bool SendStatus(const bdcoord::v1::StatusReport& report) override;
  // Sends log lines on the current stream; false when not connected.
  bool SendLogChunk(const bdcoord::v1::AgentLogChunk& chunk) override;
  // Sends a command's result on the current stream; false when not connected.
  bool SendResult(const bdcoord::v1::CommandResult& result) override;
  // Sends this host's image list on the current stream; false when not connected.
  bool SendImageList(const bdcoord::v1::ImageList& list);
  bool connected() const { return connected_; }

 private:
  void Run();
  // One connection to `address`: returns when the stream ends or Stop() is called, with the
  // leader a standby named when it refused ("" otherwise).
  std::string RunStream(bdcoord::v1::AgentService::Stub* stub, const std::string& address);
  void SleepUnlessStopped(absl::Duration duration);
  bool Write(const bdcoord::v1::AgentMessage& message);
  bool StopOrStreamDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || stream_done_; }

  CoordinatorLinkOptions options_;
  DesiredCallback on_desired_;
  std::atomic<bool> connected_{false};
  std::thread thread_;
  // The connection errors logged since the last connection, by address (the link's thread only).
  std::set<std::string> errors_said_;

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool stream_done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;  // to cancel on Stop

  absl::Mutex write_mu_;  // one writer at a time on the stream
  grpc::ClientReaderWriter<bdcoord::v1::AgentMessage, bdcoord::v1::CoordinatorMessage>* stream_
      ABSL_GUARDED_BY(write_mu_) = nullptr;
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_COORDINATOR_LINK_H_
