#ifndef BDCOORD_COORDINATOR_OPS_IMAGE_PUSH_H_
#define BDCOORD_COORDINATOR_OPS_IMAGE_PUSH_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bdcoord/v1/agent.pb.h"
#include "bdcoord/v1/cluster.pb.h"
#include "coordinator/ops/agent_sessions.h"
#include "coordinator/state/inventory.h"

namespace bdcoord::coordinator {

// The default of bdcoordd --max-image-size: the largest archive `bdcoord images push` may send.
inline constexpr int64_t kDefaultMaxImageBytes = int64_t{4} << 30;

struct ImagePushLimits {
  int64_t max_bytes = kDefaultMaxImageBytes;
  absl::Duration list_timeout = absl::Seconds(10);  // for each host's image list
  // After the last piece, for the hosts' Docker to finish loading (it unpacks the layers).
  absl::Duration load_timeout = absl::Minutes(10);
};

// Whether a host with these images already has what the push carries: every image ID, and each
// tag on one of them (pure).
bool HasImage(const bdcoord::v1::ImageList& images, const bdcoord::v1::PushImageHeader& header);

// The hosts an image command is for, by name: those named (NotFound for an unknown one, with a
// did-you-mean; FailedPrecondition for one not connected), else every connected host
// (FailedPrecondition when there is none).
absl::StatusOr<std::vector<std::string>> ImageHosts(
    const Inventory& inventory, const google::protobuf::RepeatedPtrField<std::string>& wanted);

// "4.0 GiB", "12.5 MiB", "512 B": sizes in messages.
std::string HumanBytes(int64_t bytes);

// One `bdcoord images push` of one archive: Start decides which hosts get it (each connected
// host, or those the header names, that lacks it, asked of its agent now), Forward sends each
// piece on to them as it comes (ImageChunks over their streams: the slowest host sets the pace,
// nothing is held beyond the piece), Finish ends the load everywhere and collects each host's
// result. A host that cannot be sent to or whose Docker fails is failed; the others go on.
class ImagePush {
 public:
  // `inventory`, `agents` and `now` must outlive this.
  ImagePush(const Inventory& inventory, AgentSessions& agents, std::function<absl::Time()> now,
            ImagePushLimits limits = {});
  ~ImagePush();  // Abort unless finished

  // The hosts of the push, each SENDING or SKIPPED (or FAILED: its images could not be listed).
  // InvalidArgument for a header without an image ID, NotFound for an unknown host (with a
  // did-you-mean), FailedPrecondition for a host that is not connected, no connected host, or a
  // size over the limit.
  absl::StatusOr<bdcoord::v1::PushImageProgress> Start(const bdcoord::v1::PushImageHeader& header);
  // Some host gets the archive (else there is nothing to send).
  bool sending() const;
  // One piece of the archive, in order. FailedPrecondition once the archive passes the limit
  // (the push is aborted).
  absl::Status Forward(const std::string& data);
  // The archive is complete: each host's load is ended and its result awaited.
  bdcoord::v1::PushImageProgress Finish();
  // The client went away or the push failed: the hosts drop what they received.
  void Abort();
  const bdcoord::v1::PushImageProgress& progress() const { return progress_; }

 private:
  struct Target {
    int index = 0;  // in progress_.hosts
    uint64_t request_id = 0;
    bool receiving = true;
  };
  void Fail(Target& target, std::string message);
  // `message` (an ImageChunk) to every host still receiving, each with its request id; a host
  // that cannot be sent to fails.
  void SendToReceiving(bdcoord::v1::CoordinatorMessage& message);

  const Inventory& inventory_;
  AgentSessions& agents_;
  std::function<absl::Time()> now_;
  ImagePushLimits limits_;
  std::string name_;
  bdcoord::v1::PushImageProgress progress_;
  std::vector<Target> targets_;
  bool over_ = false;  // finished or aborted
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_OPS_IMAGE_PUSH_H_
