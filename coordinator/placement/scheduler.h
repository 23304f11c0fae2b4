#ifndef BDCOORD_COORDINATOR_PLACEMENT_SCHEDULER_H_
#define BDCOORD_COORDINATOR_PLACEMENT_SCHEDULER_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "bdcoord/v1/spec.pb.h"

namespace bdcoord::coordinator {

// How many of the hosts still in the running one rule removed, in the order rules are applied
// (filters/filters.h), named by its filter: "pinned hosts [h1, h2]", "constraint `TEXT`",
// "distinct_hosts", "capacity (memory)", ... Only the rules that apply to the service are listed (a
// capacity rule applies when the service asks for that resource); a rule that applies but removed
// nothing is listed with 0.
struct RuleFilter {
  std::string rule;  // e.g. "constraint `rack == r9`", "distinct_hosts", "capacity (memory)"
  int hosts_filtered = 0;
};

// Why one instance could not be placed, and what would fix it.
struct PlacementFailure {
  std::string service;
  uint32_t index = 0;    // 1-based
  std::string instance;  // instance name
  int hosts_total = 0;   // hosts considered
  std::vector<RuleFilter> filters;
  // What would fix it, from the rule that removed the last candidates, e.g. "add a host whose
  // labels satisfy `rack == r9` or relax the constraint".
  std::string hint;
};

struct ScheduleInput {
  const bdcoord::v1::ClusterSpec* spec = nullptr;         // services and their rules (validated)
  const std::vector<bdcoord::v1::Host>* hosts = nullptr;  // inventory (spec.hosts offline)
  // instance name -> host name of the previous placement; may be empty.
  const absl::flat_hash_map<std::string, std::string>* previous = nullptr;
  // Service name -> hosts none of its instances may be on (a lost host it is rescheduled off,
  // still listed in `hosts` so that what stays there keeps its place); may be null.
  const std::map<std::string, std::set<std::string>>* avoid = nullptr;
};

struct ScheduleResult {
  // hosts_by_service[s][i] = index into *input.hosts for instance i+1 of spec.services(s), or -1
  // when it could not be placed (then it has a PlacementFailure).
  std::vector<std::vector<int>> hosts_by_service;
  std::vector<PlacementFailure> failures;  // by service order, then index
};

// Places every instance of every service on a host. Pure and deterministic: the same input gives
// the same output. Hard rules filter (one PlacementFilter per rule, filters/filters.h); soft rules
// (spread over a label's values, then the host with the fewest instances of this service, then the
// least-loaded host, then host order) rank. Instances whose previous host still satisfies every
// hard rule stay there, in index order. Services go in spec order, except that one with
// colocate_with waits until its target is placed (services in a colocate cycle go last, in spec
// order, and fail on colocate_with). O(services x hosts x rules + instances x (log hosts + rules));
// explaining a failure is O(hosts x rules), once per service.
ScheduleResult Schedule(const ScheduleInput& input);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLACEMENT_SCHEDULER_H_
