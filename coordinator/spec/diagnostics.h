#ifndef BDCOORD_COORDINATOR_SPEC_DIAGNOSTICS_H_
#define BDCOORD_COORDINATOR_SPEC_DIAGNOSTICS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace bdcoord::coordinator {

// A position in the spec file, 1-based like compilers print it.
struct SourcePos {
  int line = 1;
  int column = 1;
};

// One problem with the user's input, printed as `file:line:col: message` and an optional hint.
struct Diagnostic {
  SourcePos pos;
  std::string message;
  std::string hint;
};

// Sorted by position (then message), one `file:line:col: message` line each, the hint indented
// on the next line.
std::string FormatDiagnostics(absl::string_view file, std::vector<Diagnostic> diagnostics);

// User text for a message: in single quotes, on one line (control characters escaped C-style,
// `\n`, `\x01`), cut after kMaxQuoted bytes with "..." so a huge value cannot flood the output.
inline constexpr size_t kMaxQuoted = 80;
std::string Quote(absl::string_view text);

// A whole message or hint on one line: control characters escaped as Quote does, nothing cut.
// Messages built from other modules' errors (an IP parser's, quoting the user's text its own
// way) may carry a raw newline; a diagnostic never does, wherever it is shown.
std::string OneLine(absl::string_view text);

// The closest candidate within a small edit distance, or "" (for "did you mean" hints). Words
// and candidates longer than kMaxSuggested are skipped: the distance costs length squared.
inline constexpr size_t kMaxSuggested = 64;
std::string ClosestMatch(absl::string_view word, const std::vector<std::string>& candidates);

// `did you mean 'x'?` when a close candidate exists, else `expected one of: a, b, c`.
std::string SuggestionHint(absl::string_view word, const std::vector<std::string>& candidates);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_SPEC_DIAGNOSTICS_H_
