#ifndef BDCOORD_AGENT_IMAGE_LOADER_H_
#define BDCOORD_AGENT_IMAGE_LOADER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "agent/docker/docker_client.h"
#include "bdcoord/v1/agent.pb.h"

namespace bdcoord::agent {

// The coordinator's image pushes on this host (`bdcoord images push`): the pieces of each
// `docker save` archive (ImageChunk, over the agent's own stream to the coordinator, the only
// place images come from) go to Docker's POST /images/load as they arrive, one load per
// request_id on its own thread. At most `max_queued` pieces (each at most rpc::kImageChunkBytes)
// wait for Docker per load: HandleChunk blocks while the queue is full, so a slow Docker slows
// the stream and the coordinator (gRPC's flow control), and no archive is ever held whole. The
// load's result (Docker's message, or its error) goes back as a CommandResult. Image lists
// (ImageListRequest) are answered on their own threads with an ImageList.
class ImageLoader {
 public:
  using ResultSender = std::function<bool(const bdcoord::v1::CommandResult&)>;
  using ListSender = std::function<bool(const bdcoord::v1::ImageList&)>;
  ImageLoader(DockerClient* docker, ResultSender send_result, ListSender send_list,
              size_t max_queued = 8);
  ~ImageLoader();  // AbortAll, then waits for every thread

  // One piece, in order. Blocks while its load has `max_queued` pieces waiting for Docker.
  void HandleChunk(const bdcoord::v1::ImageChunk& chunk);
  void HandleList(const bdcoord::v1::ImageListRequest& request);
  // The stream to the coordinator ended: every load still receiving is aborted (unanswered).
  void AbortAll();
  size_t active() const;  // loads not finished

 private:
  struct Load {
    uint64_t id = 0;
    std::string image;
    absl::Mutex mu;
    std::deque<std::string> pieces ABSL_GUARDED_BY(mu);
    bool ended ABSL_GUARDED_BY(mu) = false;    // the last piece came
    bool aborted ABSL_GUARDED_BY(mu) = false;  // dropped: no answer
    bool done ABSL_GUARDED_BY(mu) = false;     // Docker's load returned
    std::string error ABSL_GUARDED_BY(mu);     // refused by the agent itself
    std::thread thread;
  };
  void Run(std::shared_ptr<Load> load);
  void Reap() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  DockerClient* docker_;
  ResultSender send_result_;
  ListSender send_list_;
  size_t max_queued_;
  mutable absl::Mutex mu_;
  std::map<uint64_t, std::shared_ptr<Load>> loads_ ABSL_GUARDED_BY(mu_);  // receiving
  std::vector<std::shared_ptr<Load>> finishing_ ABSL_GUARDED_BY(mu_);     // to join
  struct ListThread {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<ListThread> list_threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_IMAGE_LOADER_H_
