#include "coordinator/placement/filters/colocate_with.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace bdcoord::coordinator {
namespace {

class ColocateWithFilter : public PlacementFilter {
 public:
  ColocateWithFilter(const std::string& target, const PlacementState& state)
      : target_(target), colocated_(state.hosts->size(), 0) {
    auto it = state.service_index.find(target);
    if (it == state.service_index.end() || !state.placed[it->second]) return;
    for (int host : state.running_on[it->second]) colocated_[host] = 1;
  }

  std::string Name() const override { return absl::StrCat("colocate_with ", target_); }
  bool Static() const override { return true; }
  bool Feasible(int host) const override { return colocated_[host] != 0; }
  std::string Hint(std::span<const int>) const override {
    return absl::StrCat("place more ", target_, " instances or drop colocate_with");
  }

 private:
  const std::string target_;
  std::vector<char> colocated_;  // per host: runs an instance of the target
};

}  // namespace

void AddColocateWithFilter(const bdcoord::v1::Service& service, const PlacementState& state,
                           PlacementFilters& filters) {
  const std::string& target = service.placement().colocate_with();
  if (target.empty()) return;
  filters.push_back(std::make_unique<ColocateWithFilter>(target, state));
}

}  // namespace bdcoord::coordinator
