// Bearer-token checks of bdcoordd: the check itself, the wrapper around ClusterService and the
// token file. No server: the calls are made on the services directly.
#include "coordinator/grpc/token_auth.h"

#include <gmock/gmock.h>
#include <grpcpp/test/server_context_test_spouse.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"
#include "tests/testing/temp_dir.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kToken[] = "s3cret-token";

// A ServerContext whose client sent `authorization` (none when empty). The spouse holds the
// metadata's storage, so it lives as long as the context.
struct CallContext {
  explicit CallContext(const std::string& authorization) : spouse(&context) {
    if (!authorization.empty()) spouse.AddClientMetadata("authorization", authorization);
  }
  grpc::ServerContext context;
  grpc::testing::ServerContextTestSpouse spouse;
};

std::unique_ptr<CallContext> ContextWith(const std::string& authorization) {
  return std::make_unique<CallContext>(authorization);
}

TEST(CheckBearerToken, AcceptsOnlyTheBearerToken) {
  EXPECT_TRUE(CheckBearerToken(ContextWith("Bearer s3cret-token")->context, kToken).ok());
  EXPECT_TRUE(CheckBearerToken(ContextWith("bearer s3cret-token")->context, kToken).ok());
  for (const std::string presented : {"", "Bearer", "Bearer s3cret-toke", "Bearer s3cret-token2",
                                      "Basic s3cret-token", "s3cret-token"}) {
    const grpc::Status status = CheckBearerToken(ContextWith(presented)->context, kToken);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << "'" << presented << "'";
    EXPECT_EQ(status.error_message(), "missing or invalid bearer token");
  }
}

// Records which methods were called and answers OK.
class RecordingClusterService final : public ClusterServiceBase {
 public:
  grpc::Status ListHosts(grpc::ServerContext*, const bdcoord::v1::ListHostsRequest*,
                         bdcoord::v1::ListHostsResponse*) override {
    calls.push_back("ListHosts");
    return grpc::Status::OK;
  }
  grpc::Status Down(grpc::ServerContext*, const bdcoord::v1::DownRequest*,
                    bdcoord::v1::DownResponse* response) override {
    calls.push_back("Down");
    response->set_removed(3);
    return grpc::Status::OK;
  }
  grpc::Status DrainHost(grpc::ServerContext*, const bdcoord::v1::DrainHostRequest*,
                         bdcoord::v1::DrainHostResponse*) override {
    calls.push_back("DrainHost");
    return grpc::Status::OK;
  }
  std::vector<std::string> calls;
};

TEST(TokenClusterService, ForwardsOnlyCallsThatCarryTheToken) {
  RecordingClusterService inner;
  TokenClusterService service(&inner, kToken);
  bdcoord::v1::ListHostsResponse hosts;
  bdcoord::v1::DownResponse down;
  bdcoord::v1::DrainHostResponse drain;
  EXPECT_EQ(service.ListHosts(&ContextWith("")->context, nullptr, &hosts).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(service.Down(&ContextWith("Bearer nope")->context, nullptr, &down).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(inner.calls, IsEmpty());

  EXPECT_TRUE(
      service.ListHosts(&ContextWith("Bearer s3cret-token")->context, nullptr, &hosts).ok());
  EXPECT_TRUE(service.Down(&ContextWith("Bearer s3cret-token")->context, nullptr, &down).ok());
  EXPECT_EQ(down.removed(), 3u);  // the inner service's answer
  EXPECT_TRUE(
      service.DrainHost(&ContextWith("Bearer s3cret-token")->context, nullptr, &drain).ok());
  EXPECT_THAT(inner.calls, ElementsAre("ListHosts", "Down", "DrainHost"));
}

class ReadServerTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    logger_ = std::make_shared<spdlog::logger>(
        "token-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_));
    logger_->set_pattern("%l %v");
  }

  std::string Write(const std::string& name, const std::string& text, mode_t mode) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }

  test_util::TempDir dir_{"token_test"};
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> logger_;
};

TEST_F(ReadServerTokenTest, NoFileNoToken) {
  absl::StatusOr<std::string> token = ReadServerToken("", *logger_);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "");
}

TEST_F(ReadServerTokenTest, ReadsThePrivateFileQuietly) {
  absl::StatusOr<std::string> token = ReadServerToken(Write("t", "s3cret\n", 0600), *logger_);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "s3cret");
  EXPECT_EQ(log_.str(), "");
}

TEST_F(ReadServerTokenTest, WarnsWhenOthersCanReadIt) {
  const std::string path = Write("t", "s3cret\n", 0644);
  absl::StatusOr<std::string> token = ReadServerToken(path, *logger_);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(log_.str(), "warning the token file '" + path +
                            "' can be read by other users than its owner: chmod 600 it\n");
}

TEST_F(ReadServerTokenTest, AMissingFileIsAnErrorNamingTheFlagAndThePath) {
  absl::StatusOr<std::string> token = ReadServerToken(dir_.path() + "/missing", *logger_);
  ASSERT_FALSE(token.ok());
  EXPECT_THAT(token.status().message(),
              HasSubstr("--token-file: cannot read '" + dir_.path() + "/missing'"));
}

}  // namespace
}  // namespace bdcoord::coordinator
