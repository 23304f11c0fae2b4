#include "coordinator/placement/filters/pinned_hosts.h"

#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace bdcoord::coordinator {
namespace {

class PinnedHostsFilter : public PlacementFilter {
 public:
  PinnedHostsFilter(const bdcoord::v1::Service& service, const PlacementState& state)
      : state_(state),
        name_(
            absl::StrCat("pinned hosts [", absl::StrJoin(service.placement().hosts(), ", "), "]")),
        pinned_(service.placement().hosts().begin(), service.placement().hosts().end()) {}

  std::string Name() const override { return name_; }
  bool Static() const override { return true; }
  bool Feasible(int host) const override { return pinned_.contains((*state_.hosts)[host].name()); }
  std::string Hint(std::span<const int>) const override { return "pin more hosts or lower count"; }

 private:
  const PlacementState& state_;
  const std::string name_;
  const absl::flat_hash_set<std::string_view> pinned_;
};

}  // namespace

void AddPinnedHostsFilter(const bdcoord::v1::Service& service, const PlacementState& state,
                          PlacementFilters& filters) {
  if (service.placement().hosts().empty()) return;
  filters.push_back(std::make_unique<PinnedHostsFilter>(service, state));
}

}  // namespace bdcoord::coordinator
