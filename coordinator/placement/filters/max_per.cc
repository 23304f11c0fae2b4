#include "coordinator/placement/filters/max_per.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace bdcoord::coordinator {
namespace {

class MaxPerFilter : public PlacementFilter {
 public:
  MaxPerFilter(const bdcoord::v1::Service& service, const PlacementState& state)
      : label_(service.placement().max_per().label()),
        max_(service.placement().max_per().count()),
        instances_(service.count()),
        value_of_(state.hosts->size(), -1) {
    absl::flat_hash_map<std::string_view, int> value_index;
    for (size_t h = 0; h < state.hosts->size(); ++h) {
      const auto& labels = (*state.hosts)[h].labels();
      auto label = labels.find(label_);
      if (label == labels.end()) continue;
      auto [it, inserted] =
          value_index.try_emplace(label->second, static_cast<int>(instances_per_value_.size()));
      if (inserted) instances_per_value_.push_back(0);
      value_of_[h] = it->second;
      instances_per_value_[it->second] += state.of_service[h];
    }
  }

  std::string Name() const override { return absl::StrCat("max_per ", label_, "=", max_); }
  bool Static() const override { return false; }
  bool AffectsOtherHosts() const override { return true; }
  bool Feasible(int host) const override {
    return value_of_[host] >= 0 && instances_per_value_[value_of_[host]] < max_;
  }
  void Placed(int host) override {
    if (value_of_[host] >= 0) ++instances_per_value_[value_of_[host]];
  }
  std::string Hint(std::span<const int> candidates) const override {
    absl::flat_hash_set<int> values;
    for (int host : candidates) {
      if (value_of_[host] >= 0) values.insert(value_of_[host]);
    }
    if (values.empty()) {
      return absl::StrCat(Name(), " needs hosts labelled ", label_,
                          " and no eligible host has it: label hosts with ", label_,
                          " or drop max_per");
    }
    if (max_ <= 0) return absl::StrCat(Name(), " allows no instance: raise the max_per count");
    const int64_t needed = (int64_t{instances_} + max_ - 1) / max_;
    return absl::StrCat(Name(), " needs ", needed, " ", label_, " values for ", instances_,
                        " instances, eligible hosts have ", values.size(), ": add ", label_,
                        "s or raise the max_per count");
  }

 private:
  const std::string label_;
  const int64_t max_;  // instances per label value (validation asks for >= 1)
  const uint32_t instances_;
  std::vector<int> value_of_;                 // per host: index of its label value, -1 if none
  std::vector<int64_t> instances_per_value_;  // of this service, per label value
};

}  // namespace

void AddMaxPerFilter(const bdcoord::v1::Service& service, const PlacementState& state,
                     PlacementFilters& filters) {
  if (!service.placement().has_max_per()) return;
  filters.push_back(std::make_unique<MaxPerFilter>(service, state));
}

}  // namespace bdcoord::coordinator
