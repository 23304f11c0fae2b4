#ifndef BDCOORD_CLI_CLUSTER_COMMANDS_H_
#define BDCOORD_CLI_CLUSTER_COMMANDS_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bdcoord/v1/cluster.pb.h"
#include "cli/coordinator_client.h"

namespace bdcoord::cli {

// Apply and scale given several coordinators, when the one serving them goes away: how long to
// wait for the next leader with every host back, how often to ask, how many times to follow.
struct FailoverOptions {
  absl::Duration timeout = absl::Seconds(30);
  absl::Duration poll_interval = absl::Milliseconds(200);
  int max_failovers = 3;
};

struct ApplyOptions {
  std::string spec_file;
  CoordinatorFlags coordinator;
  FailoverOptions failover;
};

struct ScaleOptions {
  std::string cluster;  // empty: the only applied cluster
  std::string service;
  uint32_t count = 0;
  CoordinatorFlags coordinator;
  FailoverOptions failover;
};

struct DownOptions {
  std::string cluster;  // empty: the only applied cluster
  CoordinatorFlags coordinator;
  int timeout_seconds = 120;
};

struct DrainOptions {
  std::string host;
  bool undo = false;
  CoordinatorFlags coordinator;
  int timeout_seconds = 300;  // for the moved instances to be ready on their new hosts
  absl::Duration poll_interval = absl::Milliseconds(250);  // asking for their statuses
};

struct StatusOptions {
  std::string cluster;           // empty: every cluster
  std::string output = "table";  // table | json
  bool probe = false;            // run each running instance's readiness probe now
  bool watch = false;            // ask again every `interval_seconds`, print what changed
  double interval_seconds = 2;
  CoordinatorFlags coordinator;
};

// `bdcoord apply FILE`: sends the spec to the coordinator and prints its progress (redrawn on a
// terminal; otherwise a service's line each time it changes), then a summary. Exit 0 when done, 1
// when something failed or on connection errors, 2 for an invalid spec (the coordinator's
// `file:line:col` lines as they are), 3 when the placement is impossible. Given several
// coordinators, one that goes away mid-apply is followed: the spec goes again to the next leader
// once the hosts connected before are back with it (see FailoverOptions).
int RunApply(const ApplyOptions& options, std::ostream& out, std::ostream& err);

// `bdcoord status`: every placed instance with its latest status, then each host's shim address
// on host_shim networks (as `bdcoord place` shows them). Returns the exit code.
int RunStatus(const StatusOptions& options, std::ostream& out, std::ostream& err);

// `bdcoord status --watch`: the status again every interval, printed when it changed (on a
// terminal the screen is redrawn; otherwise each new status follows a line with its time). A
// coordinator that cannot be reached is said once, and asked again. Exit 0 when `stop` says so
// (Ctrl-C in the CLI), checked at least once per interval.
int WatchStatus(const StatusOptions& options, std::ostream& out, std::ostream& err,
                const std::function<bool()>& stop);

// `bdcoord scale SERVICE N`: re-plans the cluster with N instances of SERVICE (others stay where
// they are) and follows the progress like apply (across failovers too); the new members join
// every /etc/hosts.
int RunScale(const ScaleOptions& options, std::ostream& out, std::ostream& err);

// `bdcoord down`: removes every container, network and shim of the cluster and forgets it.
int RunDown(const DownOptions& options, std::ostream& out, std::ostream& err);

// `bdcoord drain HOST`: nothing new goes to HOST and its instances move to other hosts (keeping
// their IPs); then shows their progress as apply does until every moved instance is ready on its
// new host: exit 0; 1 when one failed there or `timeout_seconds` passed (naming those not
// ready). `--undo` makes the host placeable again; nothing moves back by itself.
int RunDrain(const DrainOptions& options, std::ostream& out, std::ostream& err);

// Where the moved instances of a drain are, from the coordinator's status. Pure.
struct DrainWait {
  // The services with moved instances, as apply shows them (`cluster/service` when the drain
  // moved instances of several clusters).
  bdcoord::v1::ApplyProgress progress;
  uint32_t ready = 0;                // ready (or completed) on their new hosts
  std::vector<std::string> waiting;  // each one not ready yet: `kafka3 (host2: pending)`
  std::vector<bdcoord::v1::InstanceStatus> failed;  // those that failed on their new hosts
};
DrainWait WaitOfDrain(const bdcoord::v1::DrainHostResponse& drained,
                      const bdcoord::v1::GetStatusResponse& status);

// Reads an Apply, Scale or rollout undo progress stream to its end: a redrawn view on a TTY,
// plain lines otherwise; then the summary. Returns the exit code.
int FollowApplyProgress(
    const Coordinator& coordinator,
    std::unique_ptr<grpc::ClientReaderInterface<bdcoord::v1::ApplyProgress>> reader,
    std::ostream& out, std::ostream& err);

// The live view of a TTY: one line per service with a bar, counts and the elapsed time.
std::string ProgressBars(const bdcoord::v1::ApplyProgress& progress, double elapsed_seconds);
// The rendering, apart for tests.
std::string ProgressLines(const bdcoord::v1::ApplyProgress& progress);  // `zk: 3/3 ready`
std::string ProgressLine(const bdcoord::v1::ServiceProgress& service);  // one of them
std::string ApplySummary(const bdcoord::v1::ApplyProgress& progress);
// `  kafka3 (service kafka): message` and its last log lines, as apply reports a failure.
std::string FailureLines(const bdcoord::v1::InstanceStatus& failure);
std::string StateName(bdcoord::v1::InstanceState state);  // running, completed, ...
std::string StatusTable(const bdcoord::v1::GetStatusResponse& response);
std::string StatusJson(const bdcoord::v1::GetStatusResponse& response);

// Progress for a log or a pipe, where nothing is redrawn: of each update, the lines of the
// services that changed since their last line (an apply sends every service on every change).
class ChangedProgressLines {
 public:
  std::string Next(const bdcoord::v1::ApplyProgress& progress);

 private:
  std::map<std::string, std::string> last_lines_;  // by service
};

// Shows progress as apply does: on a terminal one view redrawn in place (ProgressBars), else
// the lines of the services that changed (ChangedProgressLines).
class ProgressView {
 public:
  explicit ProgressView(std::ostream& out);
  void Show(const bdcoord::v1::ApplyProgress& progress);

 private:
  std::ostream& out_;
  const bool tty_;
  const std::chrono::steady_clock::time_point start_;
  int drawn_lines_ = 0;
  ChangedProgressLines changed_lines_;
};

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_CLUSTER_COMMANDS_H_
