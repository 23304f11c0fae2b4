#include "coordinator/spec/diagnostics.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace bdcoord::coordinator {
namespace {

// Optimal string alignment distance: a swap of two neighbours ("kafak") counts as one typo.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// Control characters as C escapes, so that user text stays on one line.
std::string Escape(absl::string_view text, size_t max) {
  size_t n = std::min(max, text.size());
  // Do not cut a UTF-8 character in half: back off to its first byte.
  if (n < text.size()) {
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  }
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  if (n < text.size()) out += "...";
  return out;
}

}  // namespace

std::string FormatDiagnostics(absl::string_view file, std::vector<Diagnostic> diagnostics) {
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
                   });
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    // Escaped again here in case a message carries user text that was not quoted (one line each).
    absl::StrAppend(&out, file, ":", d.pos.line, ":", d.pos.column, ": ",
                    Escape(d.message, d.message.size()), "\n");
    if (!d.hint.empty()) absl::StrAppend(&out, "  hint: ", Escape(d.hint, d.hint.size()), "\n");
  }
  return out;
}

std::string Quote(absl::string_view text) {
  return absl::StrCat("'", Escape(text, kMaxQuoted), "'");
}

std::string OneLine(absl::string_view text) { return Escape(text, text.size()); }

std::string ClosestMatch(absl::string_view word, const std::vector<std::string>& candidates) {
  if (word.size() > kMaxSuggested) return "";
  // Allow roughly one typo per three characters, at least one.
  const size_t limit = std::max<size_t>(1, word.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    if (candidate.size() > kMaxSuggested) continue;
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
  if (!closest.empty()) return absl::StrCat("did you mean ", Quote(closest), "?");
  if (candidates.empty()) return "";
  return absl::StrCat("expected one of: ",
                      absl::StrJoin(candidates, ", ", [](std::string* out, const std::string& c) {
                        out->append(Escape(c, kMaxQuoted));
                      }));
}

}  // namespace bdcoord::coordinator
