#ifndef BDCOORD_CLI_WATCH_COMMANDS_H_
#define BDCOORD_CLI_WATCH_COMMANDS_H_

#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "bdcoord/v1/cluster.pb.h"
#include "cli/coordinator_client.h"

namespace bdcoord::cli {

struct LogsOptions {
  std::string target;   // an instance or a service
  std::string cluster;  // empty: the only applied cluster
  bool follow = false;
  int tail = 0;  // 0: all
  CoordinatorFlags coordinator;
};

struct EventsOptions {
  std::string cluster;           // empty: every cluster
  std::string output = "table";  // table | json
  CoordinatorFlags coordinator;
};

// `bdcoord logs [-f] TARGET`: `instance | line` per line, stdout lines to `out`, stderr lines to
// `err`. Returns when every instance's logs ended (without -f), or on an interrupt (exit 0).
int RunLogs(const LogsOptions& options, std::ostream& out, std::ostream& err);

// `bdcoord events`: once subscribed, what it watches (on `err`, so that `out` has events only),
// then one line (or one JSON object) per event until interrupted (exit 0).
int RunEvents(const EventsOptions& options, std::ostream& out, std::ostream& err);

// The rendering, apart for tests.
std::string LogLineText(const bdcoord::v1::LogLine& line);  // `zk1 | text`
std::string EventLine(const bdcoord::v1::Event& event);     // time kind subject message
std::string EventJson(const bdcoord::v1::Event& event);     // one object, one line
// `watching the events of cluster 'x' and of every host since TIME (Ctrl-C to stop)`; an empty
// `cluster` is every cluster.
std::string WatchingEventsLine(const std::string& cluster, absl::Time since);

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_WATCH_COMMANDS_H_
