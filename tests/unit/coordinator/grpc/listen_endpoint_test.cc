// bdcoordd's --listen and --tls-* handling: every refusal with its message, and the unix socket's
// preparation in a temporary directory.
#include "coordinator/grpc/listen_endpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "bdcoord/v1/cluster.grpc.pb.h"
#include "tests/testing/temp_dir.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::HasSubstr;

ListenFlags Flags(const std::string& listen) {
  ListenFlags flags;
  flags.listen = listen;
  return flags;
}

TEST(PrepareListenEndpoint, RefusesContradictoryFlags) {
  ListenFlags partial = Flags("127.0.0.1:7000");
  partial.tls_cert = "cert.pem";
  absl::StatusOr<ListenEndpoint> endpoint = PrepareListenEndpoint(partial);
  EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(endpoint.status().message(),
            "mutual TLS needs all of --tls-cert, --tls-key and --tls-ca");

  ListenFlags unix_tls = Flags("unix:///tmp/x.sock");
  unix_tls.tls_cert = "c";
  unix_tls.tls_key = "k";
  unix_tls.tls_ca = "a";
  endpoint = PrepareListenEndpoint(unix_tls);
  EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(endpoint.status().message(),
            "--tls-* apply to a TCP --listen address, not to a unix socket (its file permissions "
            "protect it)");

  endpoint = PrepareListenEndpoint(Flags("nonsense"));
  EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(endpoint.status().message(),
            "--listen 'nonsense' is neither unix:///PATH nor HOST:PORT");
}

TEST(PrepareListenEndpoint, RefusesTheNetworkWithoutTls) {
  absl::StatusOr<ListenEndpoint> endpoint = PrepareListenEndpoint(Flags("0.0.0.0:7000"));
  EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(endpoint.status().message(),
            "refusing to listen on '0.0.0.0:7000' without TLS: anyone on the network could then "
            "register hosts and deploy containers\n  hint: give --tls-cert, --tls-key and "
            "--tls-ca (mutual TLS), or listen on a loopback address or a unix socket");
}

TEST(PrepareListenEndpoint, LoopbackNeedsATokenAndIsOnlyALiteralLoopbackAddress) {
  for (const std::string listen :
       {"127.0.0.1:7000", "127.1.2.3:7000", "localhost:7000", "[::1]:7000"}) {
    ListenFlags flags = Flags(listen);
    absl::StatusOr<ListenEndpoint> endpoint = PrepareListenEndpoint(flags);
    EXPECT_EQ(endpoint.status().message(),
              "refusing to listen on '" + listen +
                  "' without a token: any user of this machine could then register hosts and "
                  "deploy containers\n  hint: give --token-file FILE (bdcoord and the agents send "
                  "it), or listen on a unix socket (its file permissions protect it)");
    flags.token = true;
    endpoint = PrepareListenEndpoint(flags);
    ASSERT_TRUE(endpoint.ok()) << listen << ": " << endpoint.status();
    EXPECT_EQ(endpoint->grpc_address, listen);
    EXPECT_EQ(endpoint->socket_path, "");
    EXPECT_FALSE(endpoint->mutual_tls);
  }
  // A name that merely starts like a loopback address may resolve anywhere.
  for (const std::string listen : {"127.example.com:7000", "127.0.0.1.nip.io:7000", "[::2]:7000"}) {
    ListenFlags flags = Flags(listen);
    flags.token = true;
    EXPECT_THAT(PrepareListenEndpoint(flags).status().message(),
                HasSubstr("refusing to listen on '" + listen + "' without TLS"));
  }
}

TEST(PrepareListenEndpoint, MutualTlsNeedsATokenForTheClients) {
  ListenFlags flags = Flags("0.0.0.0:7000");
  flags.tls_cert = "c";
  flags.tls_key = "k";
  flags.tls_ca = "a";
  absl::StatusOr<ListenEndpoint> endpoint = PrepareListenEndpoint(flags);
  EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(endpoint.status().message(),
            "mutual TLS without --token-file: every agent certificate could then call "
            "ClusterService (apply, down)\n  hint: give --token-file FILE: bdcoord and other "
            "tools send the token, agents are known by their certificates");
}

class UnixSocketTest : public ::testing::Test {
 protected:
  test_util::TempDir temp_{"listen_test"};
  const std::string dir_ = temp_.path();
};

TEST_F(UnixSocketTest, MakesTheSocketsDirectory) {
  const std::string path = dir_ + "/run/bdcoord/bdcoordd.sock";
  absl::StatusOr<ListenEndpoint> endpoint = PrepareListenEndpoint(Flags("unix://" + path));
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ(endpoint->socket_path, path);
  EXPECT_EQ(endpoint->grpc_address, "unix:" + path);
  EXPECT_TRUE(std::filesystem::is_directory(dir_ + "/run/bdcoord"));
}

TEST_F(UnixSocketTest, RefusesARelativePathAndAFileThatIsNoSocket) {
  absl::StatusOr<ListenEndpoint> endpoint = PrepareListenEndpoint(Flags("unix:rel.sock"));
  EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(endpoint.status().message(), "a unix socket path must be absolute: 'rel.sock'");
  const std::string file = dir_ + "/plain";
  std::ofstream(file) << "x";
  endpoint = PrepareListenEndpoint(Flags("unix://" + file));
  EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(endpoint.status().message(), "'" + file + "' exists and is not a socket");
}

TEST_F(UnixSocketTest, TlsFilesThatCannotBeReadAreNamed) {
  ListenFlags flags = Flags("127.0.0.1:7000");
  flags.token = true;
  flags.tls_cert = dir_ + "/cert.pem";
  flags.tls_key = dir_ + "/key.pem";
  flags.tls_ca = dir_ + "/ca.pem";
  absl::StatusOr<ListenEndpoint> endpoint = PrepareListenEndpoint(flags);
  EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(endpoint.status().message(), "--tls-cert: cannot read '" + flags.tls_cert + "'");
  std::ofstream(flags.tls_cert) << "PEM";
  std::ofstream(flags.tls_key) << "";
  endpoint = PrepareListenEndpoint(flags);
  EXPECT_EQ(endpoint.status().message(), "--tls-key: cannot read '" + flags.tls_key + "' (empty)");
}

TEST_F(UnixSocketTest, TheSocketIsOwnerOnlyWhateverTheUmask) {
  const std::string path = dir_ + "/bdcoordd.sock";
  ListenFlags flags = Flags("unix://" + path);
  absl::StatusOr<ListenEndpoint> endpoint = PrepareListenEndpoint(flags);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const mode_t umask_before = ::umask(0);        // a umask that would leave the socket 0777
  bdcoord::v1::ClusterService::Service service;  // a server needs one
  auto server = StartServer(
      flags, *endpoint, [&](grpc::ServerBuilder& builder) { builder.RegisterService(&service); });
  ::umask(umask_before);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(std::filesystem::status(path).permissions(),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  StopServer(**server, *endpoint);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(UnixSocketTest, StartServerSaysWhereItCannotListen) {
  ListenFlags flags = Flags("unix://" + dir_ + "/missing/x.sock");
  ListenEndpoint endpoint;
  endpoint.grpc_address = "unix:" + dir_ + "/missing/x.sock";  // its directory was never made
  endpoint.socket_path = dir_ + "/missing/x.sock";
  endpoint.credentials = grpc::InsecureServerCredentials();
  auto server = StartServer(flags, endpoint, [](grpc::ServerBuilder&) {});
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(server.status().message(), "cannot listen on '" + flags.listen + "'");
  endpoint.mutual_tls = true;
  server = StartServer(flags, endpoint, [](grpc::ServerBuilder&) {});
  EXPECT_THAT(server.status().message(),
              HasSubstr("(with mutual TLS: check that the certificate matches the key and that "
                        "all three are PEM)"));
}

}  // namespace
}  // namespace bdcoord::coordinator
