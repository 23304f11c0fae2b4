// The rules bdcoordd adds to validation: what it cannot deploy yet although the spec is valid.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coordinator/spec/spec_loader.h"
#include "coordinator/spec/validation.h"

namespace bdcoord::coordinator {
namespace {

TEST(ValidateForCoordinator, RefusesHostShimAtItsPosition) {
  const LoadedSpec loaded = LoadSpec(R"(cluster: demo
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24}
  shim:
    driver: macvlan
    parent: eth0
    subnet: 10.2.0.0/24
    host_shim: yes
services: {zk: {image: zk, network: lan}}
)");
  ASSERT_TRUE(loaded.diagnostics.empty()) << FormatDiagnostics("x", loaded.diagnostics);
  const std::vector<Diagnostic> diagnostics = ValidateForCoordinator(loaded.spec, loaded.positions);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(FormatDiagnostics("cluster.yaml", diagnostics),
            "cluster.yaml:8:16: network 'shim': host_shim is not supported by bdcoordd yet (it "
            "does not hand out shim addresses)\n  hint: remove host_shim: readiness probes reach "
            "the containers without it\n");
}

TEST(ValidateForCoordinator, AcceptsNetworksWithoutHostShim) {
  const LoadedSpec loaded = LoadSpec(
      "cluster: demo\nnetworks:\n  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24}\n");
  EXPECT_TRUE(ValidateForCoordinator(loaded.spec, loaded.positions).empty());
}

}  // namespace
}  // namespace bdcoord::coordinator
