#include "coordinator/placement/filters/distinct_hosts.h"

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"

namespace bdcoord::coordinator {
namespace {

class DistinctHostsFilter : public PlacementFilter {
 public:
  DistinctHostsFilter(uint32_t count, const PlacementState& state) : count_(count), state_(state) {}

  std::string Name() const override { return "distinct_hosts"; }
  bool Static() const override { return false; }
  bool Feasible(int host) const override { return state_.of_service[host] == 0; }
  std::string Hint(std::span<const int> candidates) const override {
    return absl::StrCat("distinct_hosts needs ", count_, " eligible hosts for ", count_,
                        " instances: add hosts or lower count to ", candidates.size());
  }

 private:
  const uint32_t count_;  // instances of the service
  const PlacementState& state_;
};

}  // namespace

void AddDistinctHostsFilter(const bdcoord::v1::Service& service, const PlacementState& state,
                            PlacementFilters& filters) {
  if (!service.placement().distinct_hosts()) return;
  filters.push_back(std::make_unique<DistinctHostsFilter>(service.count(), state));
}

}  // namespace bdcoord::coordinator
