// The spec's `dns:` block: loading (a missing list differs from an empty one) and validation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coordinator/spec/spec_loader.h"
#include "coordinator/spec/validation.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kBase[] = R"(cluster: demo
domain: demo.lan
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24}
services:
  zk: {image: zk}
)";

LoadedSpec Load(const std::string& dns_block) {
  LoadedSpec loaded = LoadSpec(std::string(kBase) + dns_block);
  EXPECT_THAT(loaded.diagnostics, IsEmpty()) << FormatDiagnostics("x", loaded.diagnostics);
  return loaded;
}

std::vector<Diagnostic> Validate(const LoadedSpec& loaded) {
  return ValidateSpec(loaded.spec, loaded.positions);
}

TEST(LoadDns, ReadsEveryListWithPositions) {
  const LoadedSpec loaded = Load(R"(dns:
  nameservers: [10.1.0.2, "fd00::53"]
  search: [demo.lan, lan]
  options: [ndots:2, timeout:1, rotate]
)");
  const auto& dns = loaded.spec.dns();
  EXPECT_THAT(dns.nameservers(), ElementsAre("10.1.0.2", "fd00::53"));
  EXPECT_THAT(dns.search().values(), ElementsAre("demo.lan", "lan"));
  EXPECT_THAT(dns.options().values(), ElementsAre("ndots:2", "timeout:1", "rotate"));
  EXPECT_EQ(loaded.positions.Find("dns.options.2").line, 10);
  EXPECT_EQ(loaded.positions.Find("dns.options.2").column, 33);
  EXPECT_THAT(Validate(loaded), IsEmpty());
}

TEST(LoadDns, AnOmittedListIsUnsetAndAnEmptyOneIsSetAndEmpty) {
  EXPECT_FALSE(Load("").spec.has_dns());
  const LoadedSpec only_servers = Load("dns: {nameservers: [10.1.0.2]}\n");
  EXPECT_TRUE(only_servers.spec.has_dns());
  EXPECT_FALSE(only_servers.spec.dns().has_search());
  EXPECT_FALSE(only_servers.spec.dns().has_options());
  const LoadedSpec none = Load("dns: {search: [], options: []}\n");
  EXPECT_TRUE(none.spec.dns().has_search());
  EXPECT_THAT(none.spec.dns().search().values(), IsEmpty());
  EXPECT_TRUE(none.spec.dns().has_options());
  // `search:` with nothing after it reads as not written.
  EXPECT_FALSE(Load("dns:\n  search:\n").spec.dns().has_search());
}

TEST(ValidateDns, EveryKnownOptionIsAccepted) {
  EXPECT_THAT(Validate(Load(R"(dns:
  options: [ndots:0, ndots:15, timeout:30, attempts:5, rotate, no-check-names, inet6, edns0,
            single-request, single-request-reopen, no-tld-query, use-vc, no-reload, trust-ad,
            no-aaaa]
)")),
              IsEmpty());
}

TEST(ValidateDns, BadValuesAreErrorsAtTheirPositions) {
  const std::vector<Diagnostic> diagnostics = Validate(Load(R"(dns:
  nameservers: [ns1.demo.lan]
  search: [Demo.Lan]
  options: [ndots:16, timeout:0, use-vc:1, ndot:1]
)"));
  EXPECT_EQ(FormatDiagnostics("cluster.yaml", diagnostics),
            "cluster.yaml:8:17: nameserver 'ns1.demo.lan' in dns is not an IP address\n"
            "  hint: write the server's IPv4 or IPv6 address, e.g. 10.0.50.2 (no resolver can "
            "look up its name yet)\n"
            "cluster.yaml:9:12: search domain 'Demo.Lan' in dns is not a DNS name\n"
            "  hint: use lowercase letters, digits and '-' in dot-separated labels, e.g. "
            "bigdata.lan\n"
            "cluster.yaml:10:13: option 'ndots:16' in dns needs a whole number from 0 to 15\n"
            "  hint: write it as ndots:N, e.g. ndots:1\n"
            "cluster.yaml:10:23: option 'timeout:0' in dns needs a whole number from 1 to 30\n"
            "  hint: write it as timeout:N, e.g. timeout:1\n"
            "cluster.yaml:10:34: option 'use-vc:1' in dns takes no value\n"
            "  hint: write `use-vc`\n"
            "cluster.yaml:10:44: unknown option 'ndot:1' in dns\n"
            "  hint: did you mean 'ndots'?\n");
}

}  // namespace
}  // namespace bdcoord::coordinator
