#ifndef BDCOORD_CLI_ROLLOUT_COMMAND_H_
#define BDCOORD_CLI_ROLLOUT_COMMAND_H_

#include <ostream>
#include <string>

#include "bdcoord/v1/cluster.pb.h"
#include "cli/coordinator_client.h"

namespace bdcoord::cli {

struct RolloutOptions {
  std::string action;            // status | pause | resume | undo
  std::string cluster;           // empty: the only applied cluster
  std::string output = "table";  // status: table | json
  CoordinatorFlags coordinator;
};

// `bdcoord rollout status|pause|resume|undo`: shows the cluster's rolling update (each instance's
// step), pauses or resumes it, or rolls the previous spec back in (progress as apply). Exit 0;
// 1 when there is nothing to pause, resume or undo, or the undo failed.
int RunRollout(const RolloutOptions& options, std::ostream& out, std::ostream& err);

// `rollout: 1/3 updated, replacing zk2` (one line, no newline); "" without a rollout.
std::string RolloutLine(const bdcoord::v1::Rollout& rollout);
// Every step: instance, service, phase, since when, message.
std::string RolloutTable(const std::string& cluster, const bdcoord::v1::Rollout& rollout);
std::string RolloutJson(const std::string& cluster, const bdcoord::v1::Rollout& rollout);

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_ROLLOUT_COMMAND_H_
