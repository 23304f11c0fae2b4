#ifndef BDCOORD_COORDINATOR_SCHEDULER_H_
#define BDCOORD_COORDINATOR_SCHEDULER_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "bdcoord/v1/spec.pb.h"

namespace bdcoord::coordinator {

// How many of the hosts still in the running one rule removed, in the order rules are applied.
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
  std::string hint;  // e.g. "add a host with rack=r9 or relax the constraint"
};

struct ScheduleInput {
  const bdcoord::v1::ClusterSpec* spec = nullptr;         // services and their rules (validated)
  const std::vector<bdcoord::v1::Host>* hosts = nullptr;  // inventory (spec.hosts offline)
  // instance name -> host name of the previous placement; may be empty.
  const absl::flat_hash_map<std::string, std::string>* previous = nullptr;
};

struct ScheduleResult {
  // hosts_by_service[s][i] = index into *input.hosts for instance i+1 of spec.services(s), or -1
  // when it could not be placed (then it has a PlacementFailure).
  std::vector<std::vector<int>> hosts_by_service;
  std::vector<PlacementFailure> failures;  // by service order, then index
};

// Places every instance of every service on a host. Pure and deterministic: the same input gives
// the same output. Hard rules (pinned hosts, label constraints, colocate_with, distinct_hosts,
// capacity) filter; soft rules (spread over a label's values, then least-loaded host, then host
// order) rank. Instances whose previous host still satisfies every hard rule stay there.
ScheduleResult Schedule(const ScheduleInput& input);

// True when the host's labels satisfy the constraint.
bool ConstraintHolds(const bdcoord::v1::Constraint& constraint, const bdcoord::v1::Host& host);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_SCHEDULER_H_
