#ifndef BDCOORD_AGENT_LOG_SERVER_H_
#define BDCOORD_AGENT_LOG_SERVER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/docker/docker_client.h"
#include "bdcoord/v1/agent.pb.h"

namespace bdcoord::agent {

struct LogServerOptions {
  size_t max_lines_per_chunk = 64;     // a chunk goes out when it has this many lines
  size_t max_chunk_bytes = 64 * 1024;  // ... and holds at most this many bytes of lines
  // A longer line is sent as several, each at most this long (cut at UTF-8 boundaries), so one
  // container printing a huge line cannot make a chunk larger than gRPC carries.
  size_t max_line_bytes = 16 * 1024;
  absl::Duration flush_interval =
      absl::Milliseconds(100);  // ... or when its first line is this old
};

// Serves the coordinator's LogRequests on this host: each request runs on its own thread, reads
// the Docker logs of the container (tail, follow) and sends them back as AgentLogChunks in
// batches (README, "Limits": lines, bytes), the last one with `end`. Only containers of a bdcoord
// cluster (label io.bdcoord.cluster) are served: any other container gets an `end` chunk with an
// error and none of its logs. A cancel request stops a follow; so does CancelAll (the stream to the
// coordinator broke) and a failed send. `text` in pieces of at most `max` bytes, cut at UTF-8
// character boundaries; "" is one piece.
std::vector<std::string> SplitLine(absl::string_view text, size_t max);

class LogServer {
 public:
  // `send` writes one chunk to the coordinator; false when the stream is gone.
  using Sender = std::function<bool(const bdcoord::v1::AgentLogChunk&)>;
  LogServer(DockerClient* docker, Sender send, LogServerOptions options = {});
  ~LogServer();  // CancelAll, then waits for every request's thread

  void Handle(const bdcoord::v1::LogRequest& request);
  void CancelAll();
  size_t active() const;  // requests still running

 private:
  struct Active {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> cancelled;
    bool finished = false;
  };
  void Serve(const bdcoord::v1::LogRequest& request, std::shared_ptr<std::atomic<bool>> cancelled);
  void Finished(uint64_t id);
  void ReapFinished() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  DockerClient* docker_;
  Sender send_;
  LogServerOptions options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, Active> active_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> done_threads_ ABSL_GUARDED_BY(mu_);  // to join
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_LOG_SERVER_H_
