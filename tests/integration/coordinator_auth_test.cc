// Authentication over real gRPC: the bearer token of bdcoordd --token-file (in-process server on
// a unix socket, and the real bdcoordd over TCP with mutual TLS), the CLI's connection flags
// (RunHosts in-process: the same code as `bdcoord hosts`), and the agent's link with a client
// certificate. Every wait is on a condition with a deadline.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "agent/coordinator_link.h"
#include "bdcoord/v1/agent.grpc.pb.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "cli/coordinator_client.h"
#include "cli/hosts_command.h"
#include "coordinator/grpc/agent_service.h"
#include "coordinator/grpc/cluster_service.h"
#include "coordinator/grpc/token_auth.h"
#include "coordinator/state/inventory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/rpc/client_channel.h"
#include "spdlog/sinks/null_sink.h"
#include "spdlog/spdlog.h"
#include "tests/integration/tls_test_util.h"
#include "tests/integration/wait_for.h"
#include "tests/testing/coordinator_harness.h"
#include "tests/testing/fake_clock.h"

namespace bdcoord {
namespace {

using test_util::CoordinatorHarness;
using test_util::WaitFor;
using ::testing::HasSubstr;

constexpr char kToken[] = "s3cret-token";

std::string MakeTempDir(const std::string& prefix) {
  std::string path = "/tmp/" + prefix + "-XXXXXX";
  if (mkdtemp(path.data()) == nullptr) return "";
  return path;
}

// The CLI's environment fallbacks must not leak into these tests.
void ClearClientEnvironment() {
  for (const char* name : {"BDCOORD_ADDR", "BDCOORD_TLS_CERT", "BDCOORD_TLS_KEY", "BDCOORD_TLS_CA",
                           "BDCOORD_TLS_SERVER_NAME", "BDCOORD_TOKEN_FILE", "BDCOORD_TOKEN"}) {
    unsetenv(name);
  }
}

// A client without TLS, with `token` when not empty.
rpc::ClientChannelOptions Plain(const std::string& address, const std::string& token = "") {
  rpc::ClientChannelOptions options;
  options.address = address;
  options.token = token;
  return options;
}

cli::CoordinatorFlags CliPlain(const std::string& address, const std::string& token_file = "") {
  cli::CoordinatorFlags flags;
  flags.address = address;
  flags.token_file = token_file;
  return flags;
}

grpc::Status ListHosts(const rpc::ClientChannelOptions& options,
                       bdcoord::v1::ListHostsResponse* response = nullptr) {
  auto channel = rpc::NewClientChannel(options);
  if (!channel.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "no channel");
  auto stub = bdcoord::v1::ClusterService::NewStub(*channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  bdcoord::v1::ListHostsResponse ignored;
  return stub->ListHosts(&context, {}, response != nullptr ? response : &ignored);
}

bool Listed(const rpc::ClientChannelOptions& options, const std::string& host, bool connected) {
  bdcoord::v1::ListHostsResponse response;
  if (!ListHosts(options, &response).ok()) return false;
  for (const auto& view : response.hosts()) {
    if (view.name() == host) return view.connected() == connected;
  }
  return false;
}

// The status of an AgentService.Connect stream that says hello and closes.
grpc::Status ConnectAndHello(const rpc::ClientChannelOptions& options, const std::string& host) {
  auto channel = rpc::NewClientChannel(options);
  if (!channel.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "no channel");
  auto stub = bdcoord::v1::AgentService::NewStub(*channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  auto stream = stub->Connect(&context);
  bdcoord::v1::AgentMessage hello;
  hello.mutable_hello()->set_host(host);
  stream->Write(hello);
  stream->WritesDone();
  return stream->Finish();
}

cli::CoordinatorFlags WithTls(cli::CoordinatorFlags flags) {
  flags.tls_cert = "c.pem";
  flags.tls_key = "k.pem";
  flags.tls_ca = "ca.pem";
  return flags;
}

struct CliResult {
  int code = -1;
  std::string out, err;
};

CliResult RunHosts(const cli::CoordinatorFlags& flags) {
  cli::HostsOptions options;
  options.output = "json";
  options.coordinator = flags;
  options.now = test_util::RealClock();
  std::ostringstream out, err;
  CliResult result;
  result.code = cli::RunHosts(options, out, err);
  result.out = out.str();
  result.err = err.str();
  return result;
}

agent::CoordinatorLinkOptions LinkOptions(std::shared_ptr<grpc::Channel> channel,
                                          const std::string& address, const std::string& host) {
  agent::CoordinatorLinkOptions options;
  options.address = address;
  options.channel = std::move(channel);
  options.host_name = host;
  options.now = test_util::RealClock();
  options.heartbeat_interval = absl::Milliseconds(100);
  options.min_backoff = absl::Milliseconds(50);
  options.max_backoff = absl::Milliseconds(200);
  return options;
}

// bdcoordd's services behind the token wrappers, as bdcoordd registers them with --token-file,
// on a unix socket without TLS.
class TokenAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClearClientEnvironment();
    CoordinatorHarness::Options options;
    options.name = "token";
    options.token = kToken;
    ASSERT_TRUE(harness_.Start(options).ok());
    dir_ = harness_.dir();
    address_ = harness_.address();
    std::ofstream(dir_ + "/token") << kToken << "\n";
    std::ofstream(dir_ + "/wrong") << "not-the-token\n";
  }

  CoordinatorHarness harness_;
  std::string dir_, address_;
};

TEST_F(TokenAuthTest, EveryClusterCallNeedsTheToken) {
  EXPECT_TRUE(ListHosts(Plain(address_, kToken)).ok());
  for (const std::string token : {"", "not-the-token", "s3cret-toke", "s3cret-token2"}) {
    const grpc::Status status = ListHosts(Plain(address_, token));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << "token '" << token << "'";
    EXPECT_EQ(status.error_message(), "missing or invalid bearer token");
  }
  // The other methods too, before they do anything: no cluster is applied, and without the
  // token the caller does not even learn that.
  auto down = [&](const std::string& token) {
    auto stub =
        bdcoord::v1::ClusterService::NewStub(*rpc::NewClientChannel(Plain(address_, token)));
    grpc::ClientContext context;
    bdcoord::v1::DownResponse response;
    return stub->Down(&context, {}, &response).error_code();
  };
  EXPECT_EQ(down(""), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(down(kToken), grpc::StatusCode::NOT_FOUND);
}

TEST_F(TokenAuthTest, AgentsWithoutTlsNeedTheToken) {
  const grpc::Status refused = ConnectAndHello(Plain(address_), "intruder");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(refused.error_message(), "missing or invalid bearer token");
  EXPECT_FALSE(harness_.inventory().Find("intruder").has_value());

  auto channel = rpc::NewClientChannel(Plain(address_, kToken));
  ASSERT_TRUE(channel.ok());
  agent::CoordinatorLink link(LinkOptions(*channel, address_, "h1"), [](const auto&) {});
  link.Start();
  EXPECT_TRUE(WaitFor([&] { return Listed(Plain(address_, kToken), "h1", true); }));
  link.Stop();
}

TEST_F(TokenAuthTest, CliSendsTheTokenFromTheFlagOrTheEnvironment) {
  const std::string token_file = dir_ + "/token";
  CliResult result = RunHosts(CliPlain(address_, token_file));
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("\"hosts\": []"));

  setenv("BDCOORD_TOKEN_FILE", token_file.c_str(), 1);
  result = RunHosts(CliPlain(address_));
  EXPECT_EQ(result.code, 0) << result.err;
  unsetenv("BDCOORD_TOKEN_FILE");

  setenv("BDCOORD_TOKEN", kToken, 1);
  result = RunHosts(CliPlain(address_));
  EXPECT_EQ(result.code, 0) << result.err;
  unsetenv("BDCOORD_TOKEN");
}

TEST_F(TokenAuthTest, CliWithoutOrWithAWrongTokenExitsOneWithAHint) {
  CliResult result = RunHosts(CliPlain(address_));
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "bdcoord: the coordinator at " + address_ +
                            " refused the call: missing or invalid bearer token\n  hint: the "
                            "coordinator requires a token: pass --token-file FILE (or set "
                            "BDCOORD_TOKEN_FILE)\n");

  result = RunHosts(CliPlain(address_, dir_ + "/wrong"));
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.err, "bdcoord: the coordinator at " + address_ +
                            " refused the call: missing or invalid bearer token\n  hint: the "
                            "token is not the coordinator's: check --token-file (or set "
                            "BDCOORD_TOKEN_FILE)\n");

  result = RunHosts(CliPlain(address_, dir_ + "/missing"));
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.err, "bdcoord: --token-file: cannot read '" + dir_ +
                            "/missing': No such file or directory\n");
}

TEST_F(TokenAuthTest, CliTlsFlagsOnAUnixSocketAreACommandLineError) {
  const CliResult result = RunHosts(WithTls(CliPlain(address_)));
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err,
            "bdcoord: --tls-* apply to a TCP coordinator address, not to a unix socket (its file "
            "permissions protect it): '" +
                address_ + "'\n");
}

// The real bdcoordd on loopback TCP with mutual TLS and --token-file.
class BdcoorddMutualTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClearClientEnvironment();
    const std::string binary = std::string(BDCOORD_BINARY_DIR) + "/coordinator/bdcoordd";
    if (!std::filesystem::exists(binary)) GTEST_SKIP() << "bdcoordd is not built: " << binary;
    if (!test_util::HaveOpenssl()) GTEST_SKIP() << "no openssl";
    dir_ = MakeTempDir("bdcoord-mtls-test");
    ASSERT_FALSE(dir_.empty());
    ASSERT_TRUE(test_util::MakeTestCertificates(dir_)) << "openssl failed in " << dir_;
    std::ofstream(dir_ + "/token") << kToken << "\n";
    std::filesystem::permissions(dir_ + "/token", std::filesystem::perms::owner_read);
    const int port = test_util::FreeLoopbackPort();
    ASSERT_NE(port, 0);
    address_ = "127.0.0.1:" + std::to_string(port);
    // Everything the child needs is made before fork: it only calls execl and _exit.
    const std::string cert = dir_ + "/server.pem", key = dir_ + "/server.key",
                      ca = dir_ + "/ca.pem", token = dir_ + "/token", data = dir_ + "/data";
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      ::execl(binary.c_str(), binary.c_str(), "--listen", address_.c_str(), "--tls-cert",
              cert.c_str(), "--tls-key", key.c_str(), "--tls-ca", ca.c_str(), "--token-file",
              token.c_str(), "--data-dir", data.c_str(), "--log-level", "warn",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ASSERT_TRUE(WaitFor([&] { return ListHosts(Client()).ok(); }, absl::Seconds(20)))
        << "bdcoordd never answered on " << address_;
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // A client of the CA with the token; `cert` = "rogue.pem" for one of another CA.
  rpc::ClientChannelOptions Client(const std::string& cert = "client.pem",
                                   const std::string& key = "client.key") const {
    rpc::ClientChannelOptions options = Plain(address_, kToken);
    options.tls_cert = dir_ + "/" + cert;
    options.tls_key = dir_ + "/" + key;
    options.tls_ca = dir_ + "/ca.pem";
    return options;
  }
  cli::CoordinatorFlags CliFlags(const std::string& cert = "client.pem") const {
    cli::CoordinatorFlags flags = CliPlain(address_, dir_ + "/token");
    flags.tls_cert = dir_ + "/" + cert;
    flags.tls_key = dir_ + "/client.key";
    flags.tls_ca = dir_ + "/ca.pem";
    return flags;
  }

  std::string dir_, address_;
  pid_t pid_ = -1;
};

TEST_F(BdcoorddMutualTlsTest, CliWithTheCasClientCertificateAndTheTokenIsAnswered) {
  const CliResult result = RunHosts(CliFlags());
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("\"hosts\": []"));
  EXPECT_EQ(result.err, "");
  // The environment does the same as the flags.
  setenv("BDCOORD_ADDR", address_.c_str(), 1);
  setenv("BDCOORD_TLS_CERT", (dir_ + "/client.pem").c_str(), 1);
  setenv("BDCOORD_TLS_KEY", (dir_ + "/client.key").c_str(), 1);
  setenv("BDCOORD_TLS_CA", (dir_ + "/ca.pem").c_str(), 1);
  setenv("BDCOORD_TOKEN", kToken, 1);
  EXPECT_EQ(RunHosts({}).code, 0);
  ClearClientEnvironment();
}

TEST_F(BdcoorddMutualTlsTest, ACertificateDoesNotReplaceTheTokenForTheCli) {
  cli::CoordinatorFlags flags = CliFlags();
  flags.token_file.clear();
  const CliResult result = RunHosts(flags);
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.err, HasSubstr("refused the call: missing or invalid bearer token\n  hint: "
                                    "the coordinator requires a token: pass --token-file FILE"));
}

TEST_F(BdcoorddMutualTlsTest, ClientCertificateOfAnotherCaIsRejected) {
  const CliResult result = RunHosts(CliFlags("rogue.pem"));
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.err, HasSubstr("bdcoord: cannot reach the coordinator at " + address_));
  EXPECT_THAT(result.err, HasSubstr("rejected this client's certificate (--tls-cert, --tls-key)"))
      << result.err;
  // And without any client certificate (plaintext, or TLS without a certificate).
  EXPECT_FALSE(ListHosts(Plain(address_, kToken)).ok());
  grpc::SslCredentialsOptions no_cert;
  no_cert.pem_root_certs = test_util::Slurp(dir_ + "/ca.pem");
  auto stub = bdcoord::v1::ClusterService::NewStub(
      grpc::CreateChannel(address_, grpc::SslCredentials(no_cert)));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  bdcoord::v1::ListHostsResponse response;
  EXPECT_FALSE(stub->ListHosts(&context, {}, &response).ok());
}

TEST_F(BdcoorddMutualTlsTest, ServerNameOverrideIsTheNameChecked) {
  cli::CoordinatorFlags flags = CliFlags();
  flags.tls_server_name = "localhost";  // in the server certificate
  CliResult result = RunHosts(flags);
  EXPECT_EQ(result.code, 0) << result.err;
  flags.tls_server_name = "bdcoordd.example";  // not in it
  result = RunHosts(flags);
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.err, HasSubstr("bdcoord: cannot reach the coordinator at " + address_));
  EXPECT_THAT(result.err, HasSubstr("  hint: the TLS handshake failed: --tls-ca must be the CA of "
                                    "the coordinator's certificate"))
      << result.err;
}

TEST_F(BdcoorddMutualTlsTest, AgentConnectsWithItsClientCertificateWithoutTheToken) {
  rpc::ClientChannelOptions agent = Client("host1.pem", "host1.key");
  agent.token.clear();
  auto channel = rpc::NewClientChannel(agent);
  ASSERT_TRUE(channel.ok());
  agent::CoordinatorLink link(LinkOptions(*channel, address_, "host1"), [](const auto&) {});
  link.Start();
  EXPECT_TRUE(WaitFor([&] { return Listed(Client(), "host1", true); }));
  EXPECT_TRUE(link.connected());

  // An agent with a certificate of another CA never gets a stream.
  rpc::ClientChannelOptions rogue = Client("rogue.pem");
  const grpc::Status refused = ConnectAndHello(rogue, "rogue-host");
  EXPECT_FALSE(refused.ok());
  EXPECT_FALSE(Listed(Client(), "rogue-host", true));
  link.Stop();
  EXPECT_TRUE(WaitFor([&] { return Listed(Client(), "host1", false); }));
}

// The attack: an agent certificate of the CA speaks for another host, or invents one, or takes
// over a live host's session. Each is refused with the reason; the live session stays.
TEST_F(BdcoorddMutualTlsTest, ACertificateIsOneHost) {
  rpc::ClientChannelOptions host1 = Client("host1.pem", "host1.key");
  host1.token.clear();
  auto channel = rpc::NewClientChannel(host1);
  ASSERT_TRUE(channel.ok());
  agent::CoordinatorLink link(LinkOptions(*channel, address_, "host1"), [](const auto&) {});
  link.Start();
  ASSERT_TRUE(WaitFor([&] { return Listed(Client(), "host1", true); }));

  grpc::Status refused = ConnectAndHello(host1, "host2");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(refused.error_message(),
            "this agent's certificate is for 'host1', 'host1.example', not for host 'host2': a "
            "certificate is one host (its CN or a DNS subject alternative name)");
  EXPECT_FALSE(Listed(Client(), "host2", true));
  EXPECT_FALSE(Listed(Client(), "host2", false));

  // The CLI's certificate (CN client) cannot take over host1's session, even with the token.
  rpc::ClientChannelOptions other = Client();
  refused = ConnectAndHello(other, "host1");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(refused.error_message(),
            "this agent's certificate is for 'client', 'localhost', not for host 'host1': a "
            "certificate is one host (its CN or a DNS subject alternative name)");
  EXPECT_TRUE(link.connected());
  EXPECT_TRUE(Listed(Client(), "host1", true));
  // Its DNS name is the host too.
  EXPECT_EQ(ConnectAndHello(host1, "host1.example").error_code(), grpc::StatusCode::OK);
  link.Stop();
}

}  // namespace
}  // namespace bdcoord
