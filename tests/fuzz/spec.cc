// The spec loader and validation on arbitrary bytes: whatever the input, LoadSpec returns (no
// crash, hang or unbounded allocation) and every diagnostic formats as `file:line:col` lines.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "coordinator/spec/diagnostics.h"
#include "coordinator/spec/spec_loader.h"
#include "coordinator/spec/validation.h"

namespace coord = bdcoord::coordinator;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const coord::LoadedSpec loaded = coord::LoadSpec(text);
  std::vector<coord::Diagnostic> diagnostics = loaded.diagnostics;
  if (diagnostics.empty()) {
    diagnostics = coord::ValidateSpec(loaded.spec, loaded.positions);
  }
  for (const coord::Diagnostic& d : diagnostics) {
    // The one-line contract: a message never spans lines, and positions are 1-based.
    if (d.pos.line < 1 || d.pos.column < 1 || d.message.find('\n') != std::string::npos) {
      std::abort();
    }
  }
  const std::string formatted = coord::FormatDiagnostics("cluster.yaml", diagnostics);
  if (!diagnostics.empty() && formatted.rfind("cluster.yaml:", 0) != 0) std::abort();
  return 0;
}
