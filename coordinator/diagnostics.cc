#include "coordinator/diagnostics.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace bdcoord::coordinator {
namespace {

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string FormatDiagnostics(absl::string_view file, std::vector<Diagnostic> diagnostics) {
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
                   });
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    absl::StrAppend(&out, file, ":", d.pos.line, ":", d.pos.column, ": ", d.message, "\n");
    if (!d.hint.empty()) absl::StrAppend(&out, "  hint: ", d.hint, "\n");
  }
  return out;
}

std::string ClosestMatch(absl::string_view word, const std::vector<std::string>& candidates) {
  // Allow roughly one typo per three characters, at least one.
  const size_t limit = std::max<size_t>(1, word.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    const size_t d = EditDistance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::string SuggestionHint(absl::string_view word, const std::vector<std::string>& candidates) {
  const std::string closest = ClosestMatch(word, candidates);
  if (!closest.empty()) return absl::StrCat("did you mean '", closest, "'?");
  if (candidates.empty()) return "";
  return absl::StrCat("expected one of: ", absl::StrJoin(candidates, ", "));
}

}  // namespace bdcoord::coordinator
