#include "net/hosts_map.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/hosts_file.h"

namespace bdcoord::net {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

HostsEntry Entry(const char* ip, std::string fqdn, std::string name) {
  absl::StatusOr<Ipv4> parsed = Ipv4::Parse(ip);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return {.ip = parsed.value_or(Ipv4()), .fqdn = std::move(fqdn), .name = std::move(name)};
}

std::vector<HostsEntry> Cluster() {
  return {Entry("10.0.50.10", "zk1.lab", "zk1"), Entry("10.0.50.9", "kafka1.lab", "kafka1"),
          Entry("10.0.50.11", "zk2.lab", "zk2"), Entry("10.0.50.2", "gw", "gw"),
          Entry("10.0.50.3", "x.lab", "")};
}

std::vector<std::string> Fqdns(const std::vector<HostsEntry>& entries) {
  std::vector<std::string> fqdns;
  for (const HostsEntry& entry : entries) fqdns.push_back(entry.fqdn);
  return fqdns;
}

TEST(HostsMapTest, RendersWhatTheOldRendererDoesByteForByte) {
  EXPECT_EQ(HostsMap().Render(), RenderHostsFile({}));
  EXPECT_EQ(HostsMap(7, Cluster()).Render(), RenderHostsFile(Cluster()));
  // A cluster's worth: IPs that sort differently as text and as numbers.
  std::vector<HostsEntry> many;
  for (int i = 0; i < 600; ++i) {
    const std::string ip = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    const std::string name = "s" + std::to_string(i % 7) + "-" + std::to_string(i);
    many.push_back(Entry(ip.c_str(), name + ".big.lab", name));
  }
  EXPECT_EQ(HostsMap(1, many).Render(), RenderHostsFile(many));
}

TEST(HostsMapTest, OneEntryPerFqdnTheLaterWins) {
  const HostsMap map(1, {Entry("10.0.0.1", "a.lab", "a"), Entry("10.0.0.2", "a.lab", "a")});
  EXPECT_EQ(map.size(), 1u);
  EXPECT_EQ(map.Render(), RenderHostsFile({Entry("10.0.0.2", "a.lab", "a")}));
}

TEST(HostsMapTest, DiffHasTheAddedChangedAndRemovedEntriesOnly) {
  const HostsMap before(3, Cluster());
  std::vector<HostsEntry> entries = Cluster();
  entries.erase(entries.begin());                            // zk1 leaves
  entries[0] = Entry("10.0.50.99", "kafka1.lab", "kafka1");  // kafka1 moves
  entries.push_back(Entry("10.0.50.12", "zk3.lab", "zk3"));  // zk3 joins
  const HostsMap after(4, entries);

  const HostsDelta delta = Diff(before, after);
  EXPECT_EQ(delta.from_version, 3u);
  EXPECT_EQ(delta.to_version, 4u);
  EXPECT_THAT(Fqdns(delta.upserted), ElementsAre("kafka1.lab", "zk3.lab"));
  EXPECT_EQ(delta.upserted[0].ip.ToString(), "10.0.50.99");
  EXPECT_THAT(delta.removed, ElementsAre("zk1.lab"));
  EXPECT_THAT(Diff(after, after).upserted, IsEmpty());
  EXPECT_THAT(Diff(after, after).removed, IsEmpty());
}

TEST(HostsMapTest, ApplyingTheDiffGivesTheNewMapAndItsFile) {
  const HostsMap before(3, Cluster());
  std::vector<HostsEntry> entries = Cluster();
  entries.pop_back();
  entries.push_back(Entry("10.0.50.4", "new.lab", "new"));
  const HostsMap after(4, entries);

  HostsMap agent = before;
  ASSERT_TRUE(agent.Apply(Diff(before, after)).ok());
  EXPECT_EQ(agent.version(), 4u);
  EXPECT_TRUE(agent.SameEntries(after));
  EXPECT_EQ(agent.Render(), RenderHostsFile(entries));
}

TEST(HostsMapTest, ADeltaFromAnotherVersionIsRefusedAndChangesNothing) {
  const HostsMap v1(1, Cluster());
  HostsMap v2(2, Cluster());
  ASSERT_TRUE(v2.Apply({.from_version = 2,
                        .to_version = 3,
                        .upserted = {Entry("10.0.50.5", "more.lab", "more")},
                        .removed = {}})
                  .ok());
  HostsMap agent = v1;  // missed version 2
  const absl::Status missed = agent.Apply(Diff(HostsMap(2, Cluster()), v2));
  EXPECT_EQ(missed.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(missed.message(),
            "hosts delta from version 2, the map is at 1: the whole map is needed");
  EXPECT_EQ(agent.version(), 1u);
  EXPECT_TRUE(agent.SameEntries(v1));

  // Resync: the whole map replaces whatever the agent had.
  auto whole = FromProto(ToProto(v2));
  ASSERT_TRUE(whole.ok()) << whole.status();
  agent = *whole;
  EXPECT_EQ(agent.version(), 3u);
  EXPECT_EQ(agent.Render(), v2.Render());
}

TEST(HostsMapTest, ADeltaRemovingWhatTheMapLacksIsRefused) {
  HostsMap agent(5, Cluster());
  const absl::Status bad = agent.Apply({.from_version = 5,
                                        .to_version = 6,
                                        .upserted = {Entry("10.0.50.5", "more.lab", "more")},
                                        .removed = {"nope.lab"}});
  EXPECT_EQ(bad.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(bad.message(), "hosts delta removes 'nope.lab', which the map at version 5 lacks");
  EXPECT_EQ(agent.version(), 5u);
  EXPECT_TRUE(agent.SameEntries(HostsMap(5, Cluster())));
}

TEST(HostsMapTest, WireFormsRoundTrip) {
  const HostsMap map(9, Cluster());
  auto back = FromProto(ToProto(map));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->version(), 9u);
  EXPECT_TRUE(back->SameEntries(map));

  std::vector<HostsEntry> entries = Cluster();
  entries.pop_back();
  entries.push_back(Entry("10.0.50.6", "six.lab", "six"));
  const HostsDelta delta = Diff(map, HostsMap(10, entries));
  const bdcoord::v1::HostsDelta wire = ToProto(delta);
  EXPECT_EQ(wire.changes_size(), 2);
  auto parsed = FromProto(wire);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->from_version, 9u);
  EXPECT_EQ(parsed->to_version, 10u);
  EXPECT_THAT(parsed->removed, ElementsAre("x.lab"));
  EXPECT_THAT(Fqdns(parsed->upserted), ElementsAre("six.lab"));
}

TEST(HostsMapTest, TheWholeMapIsALineAnEntry) {
  EXPECT_EQ(ToProto(HostsMap(3, {Entry("10.0.50.9", "kafka1.lab", "kafka1"),
                                 Entry("10.0.50.3", "x.lab", "")}))
                .entries(),
            "10.0.50.9 kafka1.lab kafka1\n10.0.50.3 x.lab \n");
}

TEST(HostsMapTest, AnEntryThatDoesNotParseIsAnError) {
  bdcoord::v1::HostsMap wire;
  wire.set_version(1);
  wire.set_entries("10.0.0.1 good.lab good\n10.0.0.300 bad.lab bad\n");
  absl::StatusOr<HostsMap> map = FromProto(wire);
  ASSERT_FALSE(map.ok());
  EXPECT_EQ(map.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(map.status().message()),
              ::testing::StartsWith("hosts entry 'bad.lab': "));

  wire.set_entries("10.0.0.1 good.lab good\n10.0.0.2 two words here\n");
  map = FromProto(wire);
  ASSERT_FALSE(map.ok());
  EXPECT_EQ(map.status().message(),
            "hosts map line 2: '10.0.0.2 two words here' is not 'IP FQDN NAME'");
}

}  // namespace
}  // namespace bdcoord::net
