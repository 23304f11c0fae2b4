#ifndef BDCOORD_COORDINATOR_GRPC_STREAMS_H_
#define BDCOORD_COORDINATOR_GRPC_STREAMS_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "coordinator/grpc/service_metrics.h"
#include "coordinator/ops/cluster_ops.h"
#include "coordinator/state/event_bus.h"
#include "coordinator/state/log_router.h"

namespace bdcoord::coordinator {

// The long-lived server streams of ClusterService (WatchEvents, StreamLogs) on gRPC's callback
// API: no thread per stream; a stream wakes up when the event bus or the log router has
// something for it, or when its client writes, cancels or goes.

inline constexpr size_t kDefaultMaxStreams = 1024;
inline constexpr size_t kDefaultMaxStreamsPerClient = 256;
// Lines a log stream holds for a slow client; past it lines are dropped and the client gets
// one "[... N bytes dropped ...]" line in their place.
inline constexpr size_t kLogStreamQueueBytes = size_t{4} << 20;

// Who opened a stream, for the per-client cap: the names of its verified client certificate;
// else "bearer token" when it sent one (only the server's token gets this far); else its
// address without the port ("unix" for the unix socket).
std::string StreamClient(const grpc::ServerContextBase& context);

// The open streams: caps in total and per client, and how they are ended when the coordinator
// stops. Thread-safe.
class StreamRegistry {
 public:
  class Stream {
   public:
    virtual ~Stream() = default;
    // Ends the stream with `status` soon (after a write in flight); never blocks.
    virtual void Stop(const grpc::Status& status) = 0;
  };

  // `metrics` (none when null) counts the open streams by kind; it outlives the registry.
  StreamRegistry(size_t max_streams, size_t max_per_client,
                 const ServiceMetrics* metrics = nullptr);
  ~StreamRegistry();  // runs what is deferred, then stops its thread

  // Counts the stream in (`kind` for bdcoord_streams_open: "events", "logs"), or
  // ResourceExhausted naming the cap and its bdcoordd flag (the closing status while closed).
  absl::Status Open(const std::string& client, std::string_view kind, Stream* stream);
  // While `status` is not OK every Open fails with it (the coordinator is stopping).
  void SetClosed(const grpc::Status& status);
  void Close(Stream* stream);
  // Stops every open stream with `status` (new ones may still open: the server's shutdown
  // cancels those).
  void StopAll(const grpc::Status& status);
  size_t open() const;

  // Runs `work` on the registry's own thread, in order. A stream's cleanup may block (cancelling
  // a log request writes on an agent's stream), and gRPC's callback threads must not block.
  void Defer(std::function<void()> work);
  // Waits until everything deferred so far has run.
  void AwaitDeferred();

 private:
  void RunDeferred();

  struct OpenStream {
    std::string client;
    prometheus::Gauge* gauge = nullptr;  // its kind's bdcoord_streams_open
  };

  const size_t max_streams_;
  const size_t max_per_client_;
  const ServiceMetrics* metrics_;
  mutable absl::Mutex mu_;  // held while Stop runs, so a stream is not deleted under it
  absl::flat_hash_map<Stream*, OpenStream> streams_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, size_t> per_client_ ABSL_GUARDED_BY(mu_);
  grpc::Status closed_ ABSL_GUARDED_BY(mu_);

  absl::Mutex work_mu_;
  std::deque<std::function<void()>> work_ ABSL_GUARDED_BY(work_mu_);
  bool running_ ABSL_GUARDED_BY(work_mu_) = false;  // a work item is being run
  bool stop_ ABSL_GUARDED_BY(work_mu_) = false;
  std::thread worker_;
};

// The reactors of WatchEvents and StreamLogs; each deletes itself when the call is done. The
// collaborators must outlive every stream (stop the server first).
grpc::ServerWriteReactor<bdcoord::v1::Event>* NewEventStream(
    grpc::CallbackServerContext* context, const bdcoord::v1::WatchEventsRequest& request,
    EventBus& events, StreamRegistry& registry);
grpc::ServerWriteReactor<bdcoord::v1::LogLine>* NewLogStream(
    grpc::CallbackServerContext* context, const bdcoord::v1::StreamLogsRequest& request,
    ClusterOps& ops, LogRouter& logs, StreamRegistry& registry,
    size_t queue_bytes = kLogStreamQueueBytes);

// A stream that ends at once with `status` (a refused call).
template <typename Message>
grpc::ServerWriteReactor<Message>* FinishedStream(const grpc::Status& status) {
  class Finished final : public grpc::ServerWriteReactor<Message> {
   public:
    explicit Finished(const grpc::Status& status) { this->Finish(status); }
    void OnDone() override { delete this; }
  };
  return new Finished(status);
}

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_GRPC_STREAMS_H_
