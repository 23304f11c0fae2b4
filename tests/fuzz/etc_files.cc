// Files read from images and containers: /etc/passwd and /etc/group (a `user:` resolved the way
// Docker does). Arbitrary bytes never crash them.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "agent/reconcile/container_user.h"
#include "agent/reconcile/reconciler.h"

namespace agent = bdcoord::agent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  // "user\0passwd\0group": the spec's user: and the image's two files.
  std::vector<absl::string_view> parts = absl::StrSplit(input, absl::MaxSplits('\0', 2));
  const absl::string_view user = parts[0];
  std::optional<std::string> passwd;
  std::optional<std::string> group;
  if (parts.size() > 1) passwd = std::string(parts[1]);
  if (parts.size() > 2) group = std::string(parts[2]);

  absl::StatusOr<agent::UserSpec> spec = agent::ParseUserSpec(user);
  if (spec.ok()) {
    (void)agent::NeedsPasswd(*spec);
    (void)agent::NeedsGroup(*spec);
    (void)agent::ResolveUser(*spec, passwd, group);
  }
  return 0;
}
