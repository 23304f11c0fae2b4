#include "policy/spec_hash.h"

#include <cstdint>

#include "absl/strings/str_format.h"
#include "policy/file_on_change.h"

namespace bdcoord::policy {

std::string SpecHash(const bdcoord::v1::DesiredInstance& instance) {
  bdcoord::v1::DesiredInstance copy = instance;
  copy.clear_spec_hash();
  copy.clear_completed();
  copy.clear_hold();
  copy.clear_fence_after();
  // A file that is rewritten in place when it changes (on_change signal or none) does not make a
  // new container: its content is left out, its path, mode and on_change stay. A file with the
  // default (restart, "") is serialized as before, so such instances keep their hash.
  for (auto& file : *copy.mutable_files()) {
    if (!ContentInSpecHash(file.on_change())) file.clear_content();
  }
  std::string bytes;
  copy.SerializeToString(&bytes);  // DesiredInstance has no map field: the bytes are stable
  // FNV-1a: stable across processes and releases, unlike std::hash or absl::Hash.
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return absl::StrFormat("%016x", hash);
}

}  // namespace bdcoord::policy
