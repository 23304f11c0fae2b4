#include "coordinator/placement/filters/capacity.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace bdcoord::coordinator {
namespace {

// One resource: what each instance asks for, what each host has (0 = unlimited) and has used.
class CapacityFilter : public PlacementFilter {
 public:
  CapacityFilter(std::string resource, std::string hint, int64_t request,
                 std::vector<int64_t> capacity, const std::vector<int64_t>& used)
      : name_("capacity (" + resource + ")"),
        hint_(std::move(hint)),
        request_(request),
        capacity_(std::move(capacity)),
        used_(used) {}

  std::string Name() const override { return name_; }
  bool Static() const override { return false; }
  bool Feasible(int host) const override {
    return capacity_[host] <= 0 || used_[host] + request_ <= capacity_[host];
  }
  std::string Hint(std::span<const int>) const override { return hint_; }

 private:
  const std::string name_;
  const std::string hint_;
  const int64_t request_;
  const std::vector<int64_t> capacity_;
  const std::vector<int64_t>& used_;
};

}  // namespace

// A service that asks for none of a resource always fits: no filter for it.
void AddCapacityFilters(const bdcoord::v1::Service& service, const PlacementState& state,
                        PlacementFilters& filters) {
  using Resources = bdcoord::v1::Resources;
  auto add = [&](const char* resource, const char* hint, int64_t request,
                 int64_t (Resources::*capacity_of)() const, const std::vector<int64_t>& used) {
    if (request <= 0) return;
    std::vector<int64_t> capacity;
    capacity.reserve(state.hosts->size());
    for (const auto& host : *state.hosts) capacity.push_back((host.capacity().*capacity_of)());
    filters.push_back(
        std::make_unique<CapacityFilter>(resource, hint, request, std::move(capacity), used));
  };
  add("cpus", "add hosts with more cpus or lower resources.cpus", service.resources().millicpus(),
      &Resources::millicpus, state.used_cpus);
  add("memory", "add hosts with more memory or lower resources.memory",
      service.resources().memory_bytes(), &Resources::memory_bytes, state.used_memory);
}

}  // namespace bdcoord::coordinator
