#include "coordinator/placement/filters/constraint.h"

#include <algorithm>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace bdcoord::coordinator {
namespace {

using ::bdcoord::v1::Constraint;

class ConstraintFilter : public PlacementFilter {
 public:
  ConstraintFilter(const Constraint& constraint, const PlacementState& state)
      : constraint_(constraint), state_(state), text_(ConstraintText(constraint)) {}

  std::string Name() const override { return absl::StrCat("constraint `", text_, "`"); }
  bool Static() const override { return true; }
  bool Feasible(int host) const override {
    return ConstraintHolds(constraint_, (*state_.hosts)[host]);
  }
  std::string Hint(std::span<const int>) const override {
    return absl::StrCat("add a host whose labels satisfy `", text_, "` or relax the constraint");
  }

 private:
  const Constraint& constraint_;
  const PlacementState& state_;
  const std::string text_;
};

}  // namespace

std::string ConstraintText(const Constraint& constraint) {
  if (!constraint.text().empty()) return constraint.text();
  const std::string& label = constraint.label();
  const std::string first = constraint.values().empty() ? "" : constraint.values(0);
  const std::string list = absl::StrJoin(constraint.values(), ",");
  switch (constraint.op()) {
    case Constraint::OP_EQUAL:
      return absl::StrCat(label, " == ", first);
    case Constraint::OP_NOT_EQUAL:
      return absl::StrCat(label, " != ", first);
    case Constraint::OP_IN:
      return absl::StrCat(label, " in (", list, ")");
    case Constraint::OP_NOT_IN:
      return absl::StrCat(label, " not in (", list, ")");
    case Constraint::OP_EXISTS:
      return absl::StrCat(label, " exists");
    case Constraint::OP_NOT_EXISTS:
      return absl::StrCat(label, " not exists");
    default:
      return absl::StrCat(label, " ?");
  }
}

bool ConstraintHolds(const Constraint& constraint, const bdcoord::v1::Host& host) {
  const auto& labels = host.labels();
  auto it = labels.find(constraint.label());
  const bool present = it != labels.end();
  auto listed = [&]() {
    return present && std::find(constraint.values().begin(), constraint.values().end(),
                                it->second) != constraint.values().end();
  };
  switch (constraint.op()) {
    case Constraint::OP_EQUAL:
    case Constraint::OP_IN:
      return listed();
    case Constraint::OP_NOT_EQUAL:
    case Constraint::OP_NOT_IN:
      return !listed();
    case Constraint::OP_EXISTS:
      return present;
    case Constraint::OP_NOT_EXISTS:
      return !present;
    default:
      return false;
  }
}

void AddConstraintFilters(const bdcoord::v1::Service& service, const PlacementState& state,
                          PlacementFilters& filters) {
  for (const Constraint& constraint : service.placement().constraints()) {
    filters.push_back(std::make_unique<ConstraintFilter>(constraint, state));
  }
}

}  // namespace bdcoord::coordinator
