#ifndef BDCOORD_CLI_HOSTS_COMMAND_H_
#define BDCOORD_CLI_HOSTS_COMMAND_H_

#include <functional>
#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "bdcoord/v1/cluster.pb.h"
#include "cli/coordinator_client.h"

namespace bdcoord::cli {

struct HostsOptions {
  std::string output = "table";  // table | json
  CoordinatorFlags coordinator;
  // The clock the table's heartbeat ages are measured against (main wires absl::Now).
  std::function<absl::Time()> now;
};

// `bdcoord hosts`: the coordinator's live inventory. Returns the exit code.
int RunHosts(const HostsOptions& options, std::ostream& out, std::ostream& err);

// The rendering, apart for tests: a table (NAME CONNECTED LABELS CPUS MEMORY DOCKER
// LAST-HEARTBEAT, heartbeat relative to `now`) or JSON.
std::string HostsTable(const bdcoord::v1::ListHostsResponse& response, absl::Time now);
std::string HostsJson(const bdcoord::v1::ListHostsResponse& response);

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_HOSTS_COMMAND_H_
