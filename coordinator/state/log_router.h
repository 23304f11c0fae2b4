#ifndef BDCOORD_COORDINATOR_STATE_LOG_ROUTER_H_
#define BDCOORD_COORDINATOR_STATE_LOG_ROUTER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "bdcoord/v1/agent.pb.h"

namespace bdcoord::coordinator {

// Routes log requests to agents and their answers back: every request gets an id, the agent
// answers with AgentLogChunks carrying it, and each chunk goes to the request's callback. A
// request ends with the agent's `end` chunk, with CancelLogs, or when its host disconnects (the
// callback then gets an end with UNAVAILABLE). Thread-safe; no gRPC in here (`send` writes to the
// host's stream).
class LogRouter {
 public:
  using Sender = std::function<absl::Status(const std::string& host,
                                            const bdcoord::v1::CoordinatorMessage& message)>;
  // Called for every chunk of the request, in order, never concurrently for one request. `ended`
  // is OK while lines keep coming and for a clean end (chunk.end()); an error ends the request:
  // FailedPrecondition with the agent's message, Unavailable when the host went away.
  using ChunkCallback =
      std::function<void(const bdcoord::v1::AgentLogChunk& chunk, const absl::Status& ended)>;

  explicit LogRouter(Sender send);

  // Sends the request to the host. Returns its id, or the sender's error (nothing is kept then).
  // `container` is its name or ID on the host; `instance` names it in messages and chunks.
  absl::StatusOr<uint64_t> RequestLogs(const std::string& host, const std::string& container,
                                       const std::string& instance, bool follow, int32_t tail,
                                       ChunkCallback on_chunk);
  // Stops the request (a cancel goes to the agent when it is still open). No callback of it runs
  // after this returns. Unknown or ended ids are ignored.
  void CancelLogs(uint64_t request_id);

  // A chunk from `host`. Chunks of unknown requests, or of another host's requests, are dropped.
  void Dispatch(const std::string& host, const bdcoord::v1::AgentLogChunk& chunk);
  // The host's stream ended: each of its open requests ends with Unavailable.
  void HostDisconnected(const std::string& host);

  size_t open_requests() const;

 private:
  struct Request {
    std::string host;
    std::string container;
    std::string instance;
    ChunkCallback on_chunk;
    absl::Mutex mu;  // held while the callback runs
    bool done ABSL_GUARDED_BY(mu) = false;
  };
  // Runs the callback unless the request is done; marks it done when `ended` or chunk.end().
  static void Deliver(Request* request, const bdcoord::v1::AgentLogChunk& chunk,
                      const absl::Status& ended);
  // Removes the request when it is still registered under that id.
  void Forget(uint64_t request_id, const Request* request);

  Sender send_;
  mutable absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, std::shared_ptr<Request>> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_STATE_LOG_ROUTER_H_
