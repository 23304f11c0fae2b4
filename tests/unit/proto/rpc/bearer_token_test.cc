#include "proto/rpc/bearer_token.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace bdcoord::rpc {
namespace {

TEST(BearerTokenMatchesTest, AcceptsOnlyTheExactTokenAfterTheBearerScheme) {
  EXPECT_TRUE(BearerTokenMatches("Bearer s3cret", "s3cret"));
  EXPECT_TRUE(BearerTokenMatches("bearer s3cret", "s3cret"));  // the scheme in any case
  EXPECT_FALSE(BearerTokenMatches("Bearer s3cre", "s3cret"));  // a prefix
  EXPECT_FALSE(BearerTokenMatches("Bearer s3cret2", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("Bearer S3cret", "s3cret"));  // the token is case-sensitive
  EXPECT_FALSE(BearerTokenMatches("Bearer s3creT", "s3cret"));  // the last byte counts
  EXPECT_FALSE(BearerTokenMatches("Bearer ", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("s3cret", "s3cret"));  // no scheme
  EXPECT_FALSE(BearerTokenMatches("Basic s3cret", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("Bearer ", ""));  // never an empty token
}

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/bdcoord-token-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }
  std::string dir_;
};

TEST_F(TokenFileTest, ReadsOneTokenWithoutTheNewline) {
  const auto token = ReadTokenFile("--token-file", Write("t", "  s3cret-Token_1\n"));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "s3cret-Token_1");
}

TEST_F(TokenFileTest, ErrorsNameTheFlagAndThePath) {
  const std::string missing = dir_ + "/missing";
  auto token = ReadTokenFile("--token-file", missing);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(token.status().message(),
            "--token-file: cannot read '" + missing + "': No such file or directory");

  const std::string empty = Write("empty", "\n");
  token = ReadTokenFile("--token-file", empty);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(token.status().message(), "--token-file '" + empty + "': the token is empty");

  const std::string two = Write("two", "one\ntwo\n");
  token = ReadTokenFile("--token-file", two);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(token.status().message(),
            "--token-file '" + two + "': the token must be one word of printable ASCII characters");
}

TEST(CheckTokenTest, NamesTheOrigin) {
  EXPECT_EQ(*CheckToken("BDCOORD_TOKEN", "abc\n"), "abc");
  EXPECT_EQ(CheckToken("BDCOORD_TOKEN", "a\tb").status().message(),
            "BDCOORD_TOKEN: the token must be one word of printable ASCII characters");
  EXPECT_EQ(CheckToken("BDCOORD_TOKEN", "caf\xc3\xa9").status().message(),
            "BDCOORD_TOKEN: the token must be one word of printable ASCII characters");
}

}  // namespace
}  // namespace bdcoord::rpc
