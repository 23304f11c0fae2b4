// --coordinator a,b,c: the parsing and the order in which the leader is looked for (pure).
#include "proto/rpc/coordinator_addresses.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bdcoord::rpc {
namespace {

using ::testing::ElementsAre;

TEST(ParseCoordinatorAddresses, SplitsOnCommas) {
  EXPECT_THAT(*ParseCoordinatorAddresses("--coordinator", "unix:///a.sock"),
              ElementsAre("unix:///a.sock"));
  EXPECT_THAT(*ParseCoordinatorAddresses("--coordinator", "10.0.0.1:7443, 10.0.0.2:7443"),
              ElementsAre("10.0.0.1:7443", "10.0.0.2:7443"));
}

TEST(ParseCoordinatorAddresses, RefusesEmptyAndRepeatedAddresses) {
  for (const std::string text : {"", "a:1,,b:1", "a:1,"}) {
    const auto parsed = ParseCoordinatorAddresses("BDCOORD_ADDR", text);
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status())) << text;
    EXPECT_EQ(parsed.status().message(),
              "BDCOORD_ADDR '" + text +
                  "' has an empty address: give one or more addresses separated by commas (such "
                  "as unix:///run/a.sock,10.0.0.2:7443)");
  }
  EXPECT_EQ(ParseCoordinatorAddresses("--coordinator", "a:1,b:1,a:1").status().message(),
            "--coordinator 'a:1,b:1,a:1' names 'a:1' twice");
}

std::vector<std::string> Order(LeaderSearch search,
                               const std::map<std::string, std::string>& redirects) {
  std::vector<std::string> tried;
  while (std::optional<std::string> next = search.Next()) {
    tried.push_back(*next);
    if (auto found = redirects.find(*next); found != redirects.end()) {
      search.Redirected(found->second);
    }
  }
  return tried;
}

TEST(LeaderSearch, TriesEachInOrderOnce) {
  EXPECT_THAT(Order(LeaderSearch({"a", "b", "c"}), {}), ElementsAre("a", "b", "c"));
}

TEST(LeaderSearch, FollowsTheLeaderAStandbyNamesFirst) {
  EXPECT_THAT(Order(LeaderSearch({"a", "b", "c"}), {{"a", "c"}}), ElementsAre("a", "c", "b"));
  // A leader outside the list is tried too; one already tried is not tried again.
  EXPECT_THAT(Order(LeaderSearch({"a", "b"}), {{"a", "z"}, {"z", "a"}}),
              ElementsAre("a", "z", "b"));
  // A standby that knows no leader: the next in order.
  EXPECT_THAT(Order(LeaderSearch({"a", "b"}), {{"a", ""}}), ElementsAre("a", "b"));
}

}  // namespace
}  // namespace bdcoord::rpc
