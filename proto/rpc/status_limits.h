#ifndef BDCOORD_PROTO_RPC_STATUS_LIMITS_H_
#define BDCOORD_PROTO_RPC_STATUS_LIMITS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "bdcoord/v1/agent.pb.h"
#include "bdcoord/v1/cluster.pb.h"

namespace bdcoord::rpc {

// Bounds on what reports instances (README, "Limits"): a failing container that prints long lines
// must not make a report larger than gRPC carries and knock its host off the coordinator.
inline constexpr size_t kMaxStatusTextBytes = 4096;       // a message, a log line
inline constexpr size_t kMaxStatusReportBytes = 4 << 20;  // an agent's report of a cluster
inline constexpr size_t kMaxStatusReplyBytes = 8 << 20;   // GetStatus, an ApplyProgress
inline constexpr size_t kTrimmedMessageBytes = 256;       // messages when a reply is trimmed

// `text` cut to at most `max` bytes at a UTF-8 character boundary, with "..." when cut.
std::string CutUtf8(absl::string_view text, size_t max);

// Its message and each of its last log lines cut to kMaxStatusTextBytes.
void BoundInstanceStatus(bdcoord::v1::InstanceStatus* status);

// Statuses in `statuses` (all inside a message now `size` bytes long) lose, from the last, their
// log lines, then most of their message, then their message, until the message is under `max`
// bytes. Returns the new size.
size_t TrimStatuses(const std::vector<bdcoord::v1::InstanceStatus*>& statuses, size_t size,
                    size_t max);

// An agent's report of one cluster: every status bounded, the whole under kMaxStatusReportBytes.
void BoundStatusReport(bdcoord::v1::StatusReport* report);

// The coordinator's replies under kMaxStatusReplyBytes.
void TrimStatusReply(bdcoord::v1::GetStatusResponse* reply);
void TrimProgress(bdcoord::v1::ApplyProgress* progress);

}  // namespace bdcoord::rpc

#endif  // BDCOORD_PROTO_RPC_STATUS_LIMITS_H_
