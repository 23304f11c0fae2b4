// The archive reader: FirstTarEntry on arbitrary bytes (what dockerd's archive endpoint could
// answer) returns an entry, nothing yet, or InvalidArgument; it never crashes or reads past the
// input.
#include "agent/docker/tar.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"

namespace agent = bdcoord::agent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const auto entry = agent::FirstTarEntry(input);
  if (!entry.ok() && entry.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
  if (entry.ok() && entry->has_value() && (*entry)->content.size() > size) std::abort();
  return 0;
}
