#ifndef BDCOORD_CLI_CLUSTER_COMMANDS_H_
#define BDCOORD_CLI_CLUSTER_COMMANDS_H_

#include <ostream>
#include <string>

#include "bdcoord/v1/cluster.pb.h"
#include "cli/coordinator_client.h"

namespace bdcoord::cli {

struct ApplyOptions {
  std::string spec_file;
  CoordinatorFlags coordinator;
};

struct StatusOptions {
  std::string cluster;           // empty: every cluster
  std::string output = "table";  // table | json
  CoordinatorFlags coordinator;
};

// `bdcoord apply FILE`: sends the spec to the coordinator and prints its progress, one line per
// service per update, then a summary. Exit 0 when done, 1 when something failed or on connection
// errors, 2 for an invalid spec (the coordinator's `file:line:col` lines as they are), 3 when the
// placement is impossible.
int RunApply(const ApplyOptions& options, std::ostream& out, std::ostream& err);

// `bdcoord status`: every placed instance with its latest status. Returns the exit code.
int RunStatus(const StatusOptions& options, std::ostream& out, std::ostream& err);

// The rendering, apart for tests.
std::string ProgressLines(const bdcoord::v1::ApplyProgress& progress);  // `zk: 3/3 ready`
std::string ApplySummary(const bdcoord::v1::ApplyProgress& progress);
std::string StateName(bdcoord::v1::InstanceState state);  // running, completed, ...
std::string StatusTable(const bdcoord::v1::GetStatusResponse& response);
std::string StatusJson(const bdcoord::v1::GetStatusResponse& response);

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_CLUSTER_COMMANDS_H_
