#include "coordinator/placement/placement_failures.h"

#include "absl/strings/str_cat.h"

namespace bdcoord::coordinator {

std::string FormatPlacementFailures(const std::vector<PlacementFailure>& failures,
                                    int instances_total) {
  std::string out = absl::StrCat("placement impossible: ", failures.size(), " of ", instances_total,
                                 " instances cannot be placed\n");
  for (const auto& failure : failures) {
    absl::StrAppend(&out, "  ", failure.instance, " (service ", failure.service,
                    "): ", failure.hosts_total, " hosts considered\n");
    for (const auto& filter : failure.filters) {
      absl::StrAppend(&out, "    ", filter.rule, ": ", filter.hosts_filtered,
                      filter.hosts_filtered == 1 ? " host" : " hosts", " filtered\n");
    }
    if (!failure.hint.empty()) absl::StrAppend(&out, "    hint: ", failure.hint, "\n");
  }
  return out;
}

}  // namespace bdcoord::coordinator
