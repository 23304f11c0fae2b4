#ifndef BDCOORD_CLI_PLACE_COMMAND_H_
#define BDCOORD_CLI_PLACE_COMMAND_H_

#include <ostream>
#include <string>

namespace bdcoord::cli {

struct PlaceOptions {
  std::string spec_file;
  std::string output = "table";  // table | json | hosts
  std::string previous_file;     // earlier `-o json` output: keep instances where they are
  std::string show_config;       // print the rendered config of this instance instead
  bool live = false;             // ask the coordinator (its live hosts) instead of planning offline
  std::string coordinator;       // with live: empty means $BDCOORD_ADDR, else the default socket
};

// `bdcoord place`: plans offline from the spec's own hosts, or with `live` asks the coordinator
// for a dry run on its live hosts (keeping the cluster's current placement, other clusters' IPs
// taken). Returns the exit code; the result goes to `out`, errors to `err`.
int RunPlace(const PlaceOptions& options, std::ostream& out, std::ostream& err);

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_PLACE_COMMAND_H_
