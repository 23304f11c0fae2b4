#ifndef BDCOORD_TESTS_TESTING_FAKE_LINK_MANAGER_H_
#define BDCOORD_TESTS_TESTING_FAKE_LINK_MANAGER_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/link_manager.h"

namespace bdcoord::agent::testing {

// Host shims in memory: what EnsureShim was last given, by link name. `ensure_error`, when set,
// is what EnsureShim answers (and it then changes nothing), like a kernel refusing the link.
class FakeLinkManager : public net::LinkManager {
 public:
  absl::Status EnsureShim(const net::ShimConfig& config) override {
    if (!ensure_error.ok()) return ensure_error;
    shims[config.name] = config;
    return absl::OkStatus();
  }
  absl::Status RemoveShim(const std::string& name) override {
    shims.erase(name);
    return absl::OkStatus();
  }
  absl::StatusOr<bool> ShimExists(const std::string& name) override { return shims.contains(name); }

  std::map<std::string, net::ShimConfig> shims;
  absl::Status ensure_error;
};

}  // namespace bdcoord::agent::testing

#endif  // BDCOORD_TESTS_TESTING_FAKE_LINK_MANAGER_H_
