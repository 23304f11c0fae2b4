// An instance's `user:` as numbers, the way Docker resolves it from the image's own files.
#include "agent/reconcile/container_user.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace bdcoord::agent {
namespace {

constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "\n"
    "  zookeeper:x:107:113::/var/lib/zookeeper:/bin/false\n"
    "1234:x:4321:4321::/:/bin/false\n"
    "zookeeper:x:999:999:a second entry: the first wins:/:/bin/false\n"
    "broken:x:notanumber:1::/:/bin/false\n";
constexpr char kGroup[] = "root:x:0:\nzookeeper:x:113:\nhadoop:x:500:hdfs,yarn\n";

// "uid:gid", or the error's message.
std::string Resolve(const std::string& user, std::optional<std::string> passwd = kPasswd,
                    std::optional<std::string> group = kGroup) {
  absl::StatusOr<UserSpec> spec = ParseUserSpec(user);
  if (!spec.ok()) return std::string(spec.status().message());
  absl::StatusOr<NumericUser> numbers = ResolveUser(*spec, passwd, group);
  if (!numbers.ok()) return std::string(numbers.status().message());
  return absl::StrCat(numbers->uid, ":", numbers->gid);
}

TEST(ContainerUser, ResolvesLikeDocker) {
  EXPECT_EQ(Resolve("zookeeper"), "107:113");         // a name brings its primary group
  EXPECT_EQ(Resolve("zookeeper:hadoop"), "107:500");  // a group replaces it
  EXPECT_EQ(Resolve("zookeeper:2000"), "107:2000");   // a gid is taken as it is
  EXPECT_EQ(Resolve("107"), "107:113");               // a uid the image lists: its group
  EXPECT_EQ(Resolve("5000"), "5000:0");               // one it does not: group 0
  EXPECT_EQ(Resolve("5000:hadoop"), "5000:500");
  EXPECT_EQ(Resolve("1000:1000", std::nullopt, std::nullopt), "1000:1000");
  EXPECT_EQ(Resolve("1234"), "1234:0") << "a number is a uid, never a user name";
  EXPECT_EQ(Resolve("0"), "0:0");
}

TEST(ContainerUser, NamesTheImageLacksAreErrors) {
  EXPECT_EQ(Resolve("zookeper"), "user 'zookeper' is not in the image's /etc/passwd");
  EXPECT_EQ(Resolve("zookeeper:hadop"), "group 'hadop' is not in the image's /etc/group");
  EXPECT_EQ(Resolve("zookeeper", std::nullopt),
            "user 'zookeeper' is not in the image's /etc/passwd (the image has none)");
  EXPECT_EQ(Resolve("5000:hadoop", kPasswd, std::nullopt),
            "group 'hadoop' is not in the image's /etc/group (the image has none)");
  EXPECT_EQ(Resolve("5000", std::nullopt), "5000:0");
  EXPECT_EQ(Resolve("broken"), "the image's /etc/passwd has a malformed line for user 'broken'");
}

TEST(ContainerUser, SyntaxAndWhatItNeeds) {
  for (const char* bad :
       {"", ":", "zk:", ":zk", "a:b:c", "zoo keeper", "-u", "2147483648", "zk:4294967296"}) {
    EXPECT_EQ(Resolve(bad),
              absl::StrCat("user '", bad,
                           "' is not USER or USER:GROUP (names, or numbers up to 2147483647)"));
  }
  const auto needs = [](const char* user) {
    const UserSpec spec = *ParseUserSpec(user);
    return std::make_pair(NeedsPasswd(spec), NeedsGroup(spec));
  };
  EXPECT_EQ(needs("1000:1000"), std::make_pair(false, false));
  EXPECT_EQ(needs("1000"), std::make_pair(true, false));
  EXPECT_EQ(needs("zk"), std::make_pair(true, false));
  EXPECT_EQ(needs("zk:zk"), std::make_pair(true, true));
  EXPECT_EQ(needs("1000:zk"), std::make_pair(false, true));
  EXPECT_EQ(needs("zk:1000"), std::make_pair(true, false));
}

}  // namespace
}  // namespace bdcoord::agent
