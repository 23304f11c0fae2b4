// What a spec may do to a host: the coordinator's policy, deny by default. Each attack is a
// spec that must be refused at its position with the policy named.
#include "coordinator/spec/host_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coordinator/spec/spec_loader.h"

namespace bdcoord::coordinator {
namespace {

constexpr char kHeader[] = R"(cluster: demo
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24}
services:
)";

std::string Check(const std::string& services, const HostPolicy& policy = {}) {
  const LoadedSpec loaded = LoadSpec(std::string(kHeader) + services);
  EXPECT_TRUE(loaded.diagnostics.empty()) << FormatDiagnostics("x", loaded.diagnostics);
  return FormatDiagnostics("cluster.yaml", CheckHostPolicy(loaded.spec, loaded.positions, policy));
}

TEST(CheckHostPolicy, RootIsRefusedUnlessAllowed) {
  const std::string hint =
      "  hint: run it as the image's own user (e.g. `user: \"1000:1000\"`), or start bdcoordd "
      "with --allow-root\n";
  EXPECT_EQ(Check("  a: {image: x, user: \"0:0\"}\n"),
            "cluster.yaml:5:24: service 'a' runs as root (user \"0:0\"): the coordinator's "
            "policy refuses root\n" +
                hint);
  for (const char* user : {"0", "root", "root:wheel", "0:1000"}) {
    EXPECT_THAT(Check(absl::StrCat("  a: {image: x, user: \"", user, "\"}\n")),
                ::testing::HasSubstr("runs as root"))
        << user;
  }
  for (const char* user : {"1000:1000", "zookeeper", "10:0", "rooty"}) {
    EXPECT_EQ(Check(absl::StrCat("  a: {image: x, user: \"", user, "\"}\n")), "") << user;
  }
  EXPECT_EQ(
      Check("  a: {image: x, user: \"0:0\"}\n", {.allow_root = true, .allowed_host_paths = {}}),
      "");
}

TEST(CheckHostPolicy, HostPathsOnlyUnderAllowedPrefixes) {
  EXPECT_EQ(Check("  a: {image: x, volumes: [\"data:/data\", \"/:/host\"]}\n"),
            "cluster.yaml:5:42: service 'a' mounts '/', which holds the Docker socket: never "
            "allowed\n  hint: whoever reaches the Docker socket controls every container of the "
            "host\n");
  EXPECT_EQ(Check("  a: {image: x, volumes: [\"/etc:/etc2\"]}\n"),
            "cluster.yaml:5:28: service 'a' mounts the host path '/etc': the coordinator's policy "
            "allows host paths under none\n  hint: use a named volume (`data{{index}}:/data`), or "
            "start bdcoordd with --allow-host-path PREFIX\n");
  const HostPolicy srv{.allow_root = false, .allowed_host_paths = {"/srv/data/"}};
  EXPECT_EQ(Check("  a: {image: x, volumes: [\"/srv/data/a:/a\", \"/srv/data:/b\"]}\n", srv), "");
  EXPECT_THAT(Check("  a: {image: x, volumes: [\"/srv/database:/a\"]}\n", srv),
              ::testing::HasSubstr("allows host paths under '/srv/data/'"));
  EXPECT_EQ(Check("  a: {image: x, volumes: [\"/srv/data/../../etc:/a\"]}\n", srv),
            "cluster.yaml:5:28: service 'a' mounts the host path '/srv/data/../../etc' with '..'\n"
            "  hint: write the path without '..'\n");
}

TEST(CheckHostPolicy, TheDockerSocketNeverWhateverThePolicy) {
  const HostPolicy everything{.allow_root = true, .allowed_host_paths = {"/"}};
  for (const char* source : {"/var/run/docker.sock", "/run/docker.sock", "/var/run", "/run", "/var",
                             "/", "/srv/x/docker.sock"}) {
    EXPECT_THAT(
        Check(absl::StrCat("  a: {image: x, volumes: [\"", source, ":/s\"]}\n"), everything),
        ::testing::HasSubstr("which holds the Docker socket: never allowed"))
        << source;
  }
  EXPECT_EQ(Check("  a: {image: x, volumes: [\"/srv:/s\"]}\n", everything), "");
}

TEST(CheckHostPolicy, DockersOwnNetworkNamesAreRefused) {
  const LoadedSpec loaded = LoadSpec(R"(cluster: demo
networks:
  host: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24}
)");
  EXPECT_EQ(FormatDiagnostics("cluster.yaml", CheckHostPolicy(loaded.spec, loaded.positions, {})),
            "cluster.yaml:3:9: network 'host' has the name of one of Docker's own networks\n"
            "  hint: name the cluster's network otherwise, e.g. `lan`\n");
}

}  // namespace
}  // namespace bdcoord::coordinator
