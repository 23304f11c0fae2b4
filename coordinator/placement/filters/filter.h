#ifndef BDCOORD_COORDINATOR_PLACEMENT_FILTERS_FILTER_H_
#define BDCOORD_COORDINATOR_PLACEMENT_FILTERS_FILTER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "bdcoord/v1/spec.pb.h"

namespace bdcoord::coordinator {

// What is placed so far, per host index into `hosts`. The scheduler writes it; filters only read
// it. Filled for every service before the service is placed.
struct PlacementState {
  const std::vector<bdcoord::v1::Host>* hosts = nullptr;
  std::vector<int64_t> total;        // instances of every service
  std::vector<int64_t> used_cpus;    // millicpus of placed instances
  std::vector<int64_t> used_memory;  // bytes of placed instances
  std::vector<int64_t> of_service;   // instances of the service being placed
  // Per service (spec index): placed already, and the hosts it runs on, ascending.
  std::vector<bool> placed;
  std::vector<std::vector<int>> running_on;
  absl::flat_hash_map<std::string_view, int> service_index;  // name -> first spec index
};

// One hard placement rule of one service, made for that service just before it is placed (as in
// Nomad's FeasibilityChecker). The scheduler keeps the hosts every filter finds feasible; when none
// is left, it reruns the filters in order over every host to count what each one removed, and the
// filter that removed the last candidates gives the hint.
class PlacementFilter {
 public:
  virtual ~PlacementFilter() = default;

  // As listed in a failure, e.g. "constraint `rack == r1`", "distinct_hosts".
  virtual std::string Name() const = 0;

  // True when the verdict cannot change while the service is placed (labels, pins, where other
  // services run): the scheduler asks once per host. Otherwise the verdict may change after each
  // placement, but only from feasible to infeasible until the service is done (the scheduler
  // relies on that to keep candidates in heaps and drop them lazily).
  virtual bool Static() const = 0;

  virtual bool Feasible(int host) const = 0;

  // True when an instance placed on one host can make other hosts infeasible (a limit per label
  // value fills every host with that value): the scheduler then rechecks a candidate before it
  // uses it. Otherwise it checks only the host it placed on, which is cheaper.
  virtual bool AffectsOtherHosts() const { return false; }

  // An instance of the service was placed on `host` (called on filters that are not Static):
  // filters that count what the service placed update here.
  virtual void Placed(int /*host*/) {}

  // What would fix it, when this filter removed the last of `candidates` (the hosts every earlier
  // filter kept; never empty).
  virtual std::string Hint(std::span<const int> candidates) const = 0;
};

using PlacementFilters = std::vector<std::unique_ptr<PlacementFilter>>;

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_PLACEMENT_FILTERS_FILTER_H_
