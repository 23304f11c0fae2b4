#include "net/hosts_file.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace bdcoord::net {
namespace {

constexpr char kLocalhost[] =
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n";

HostsEntry Entry(const char* ip, std::string fqdn, std::string name) {
  absl::StatusOr<Ipv4> parsed = Ipv4::Parse(ip);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return {.ip = parsed.value_or(Ipv4()), .fqdn = std::move(fqdn), .name = std::move(name)};
}

TEST(RenderHostsFileTest, EmptyHasOnlyLocalhost) { EXPECT_EQ(RenderHostsFile({}), kLocalhost); }

TEST(RenderHostsFileTest, OneLinePerEntryFqdnFirst) {
  EXPECT_EQ(RenderHostsFile({Entry("10.0.50.2", "web1.lab.example", "web1")}),
            std::string(kLocalhost) + "10.0.50.2\tweb1.lab.example web1\n");
}

TEST(RenderHostsFileTest, SortsByIpNumericallyThenFqdn) {
  std::vector<HostsEntry> entries = {
      Entry("10.0.50.10", "db1.lab", "db1"),
      Entry("10.0.50.9", "web2.lab", "web2"),
      Entry("10.0.50.9", "alias.lab", "alias"),
      Entry("9.0.0.1", "old.lab", "old"),
  };
  EXPECT_EQ(RenderHostsFile(entries), std::string(kLocalhost) +
                                          "9.0.0.1\told.lab old\n"
                                          "10.0.50.9\talias.lab alias\n"
                                          "10.0.50.9\tweb2.lab web2\n"
                                          "10.0.50.10\tdb1.lab db1\n");
}

TEST(RenderHostsFileTest, NameEqualToFqdnPrintedOnce) {
  EXPECT_EQ(RenderHostsFile({Entry("10.0.0.5", "gw", "gw"), Entry("10.0.0.6", "x.lab", "")}),
            std::string(kLocalhost) +
                "10.0.0.5\tgw\n"
                "10.0.0.6\tx.lab\n");
}

TEST(RenderHostsFileTest, SameBytesWhateverTheInputOrder) {
  std::vector<HostsEntry> entries = {
      Entry("10.0.0.3", "c.lab", "c"), Entry("10.0.0.1", "a.lab", "a"),
      Entry("10.0.0.2", "b.lab", "b"), Entry("10.0.0.2", "b.lab", "b-old"),
      Entry("10.0.0.2", "b.lab", "b"),
  };
  const std::string expected = RenderHostsFile(entries);
  std::sort(entries.begin(), entries.end(),
            [](const HostsEntry& x, const HostsEntry& y) { return x.name > y.name; });
  EXPECT_EQ(RenderHostsFile(entries), expected);
  std::reverse(entries.begin(), entries.end());
  EXPECT_EQ(RenderHostsFile(entries), expected);
  EXPECT_EQ(expected, std::string(kLocalhost) +
                          "10.0.0.1\ta.lab a\n"
                          "10.0.0.2\tb.lab b\n"
                          "10.0.0.2\tb.lab b\n"
                          "10.0.0.2\tb.lab b-old\n"
                          "10.0.0.3\tc.lab c\n");
}

}  // namespace
}  // namespace bdcoord::net
