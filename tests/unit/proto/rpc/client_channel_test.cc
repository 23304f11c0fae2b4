// The flag checks of NewClientChannel (the connections themselves are tested against a real
// server in tests/integration/coordinator_auth_test.cc).
#include "proto/rpc/client_channel.h"

#include "gtest/gtest.h"

namespace bdcoord::rpc {
namespace {

absl::Status Make(std::string address, std::string cert = "", std::string key = "",
                  std::string ca = "", std::string server_name = "", std::string token = "") {
  ClientChannelOptions options;
  options.address = std::move(address);
  options.tls_cert = std::move(cert);
  options.tls_key = std::move(key);
  options.tls_ca = std::move(ca);
  options.tls_server_name = std::move(server_name);
  options.token = std::move(token);
  return NewClientChannel(options).status();
}

TEST(NewClientChannelTest, PlaintextAndTokenNeedNoFiles) {
  EXPECT_TRUE(Make("unix:///tmp/x.sock").ok());
  EXPECT_TRUE(Make("127.0.0.1:7443", "", "", "", "", "t").ok());
}

TEST(NewClientChannelTest, TlsFlagsAreAllOrNoneAndNameWhatIsMissing) {
  absl::Status status = Make("10.0.0.5:7443", "c.pem");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "mutual TLS needs all of --tls-cert, --tls-key and --tls-ca; missing: --tls-key, "
            "--tls-ca");
  status = Make("10.0.0.5:7443", "c", "k");
  EXPECT_EQ(status.message(),
            "mutual TLS needs all of --tls-cert, --tls-key and --tls-ca; missing: --tls-ca");
  status = Make("10.0.0.5:7443", "", "", "ca");
  EXPECT_EQ(status.message(),
            "mutual TLS needs all of --tls-cert, --tls-key and --tls-ca; missing: --tls-cert, "
            "--tls-key");
  status = Make("10.0.0.5:7443", "", "", "", "bdcoordd");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "--tls-server-name needs --tls-cert, --tls-key and --tls-ca");
}

TEST(NewClientChannelTest, TlsFlagsDoNotApplyToAUnixSocket) {
  const absl::Status status = Make("unix:///run/x.sock", "c", "k", "ca");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "--tls-* apply to a TCP coordinator address, not to a unix socket (its file "
            "permissions protect it): 'unix:///run/x.sock'");
}

TEST(NewClientChannelTest, UnreadableFilesNameTheFlagAndThePath) {
  const absl::Status status =
      Make("10.0.0.5:7443", "/nonexistent/c.pem", "/nonexistent/k.pem", "/nonexistent/ca.pem");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(),
            "--tls-cert: cannot read '/nonexistent/c.pem': No such file or directory");
}

TEST(LooksLikeTlsFailureTest, RecognizesHandshakeErrors) {
  EXPECT_TRUE(LooksLikeTlsFailure(
      grpc::Status(grpc::StatusCode::UNAVAILABLE,
                   "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: Ssl "
                   "handshake failed: SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:"
                   "CERTIFICATE_VERIFY_FAILED")));
  EXPECT_FALSE(LooksLikeTlsFailure(grpc::Status(
      grpc::StatusCode::UNAVAILABLE,
      "failed to connect to all addresses; last error: UNKNOWN: unix:/x.sock: No such file or "
      "directory")));
  // Paths and names may contain "ssl" or "tls".
  EXPECT_FALSE(LooksLikeTlsFailure(grpc::Status(
      grpc::StatusCode::UNAVAILABLE,
      "failed to connect to all addresses; last error: UNKNOWN: unix:/tmp/tls-ssl/x.sock: No "
      "such file or directory")));
}

}  // namespace
}  // namespace bdcoord::rpc
