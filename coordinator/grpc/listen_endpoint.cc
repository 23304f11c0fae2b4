#include "coordinator/grpc/listen_endpoint.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "proto/rpc/limits.h"
#include "proto/rpc/loopback.h"

namespace bdcoord::coordinator {
namespace {

// True when something accepts connections on the unix socket at `path`.
bool SocketAnswers(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  const bool answers = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return answers;
}

// Makes the socket's directory and removes a stale socket file. An error message, or empty.
std::string PrepareUnixSocket(const std::string& path) {
  if (path.empty() || path[0] != '/') return "a unix socket path must be absolute: '" + path + "'";
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!std::filesystem::exists(parent, ec)) {
    std::filesystem::create_directories(parent, ec);
    if (ec) return "cannot create '" + parent.string() + "': " + ec.message();
    ::chmod(parent.c_str(), 0755);
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return "'" + path + "' exists and is not a socket";
    if (SocketAnswers(path)) return "another process is listening on '" + path + "'";
    if (::unlink(path.c_str()) != 0) {
      return "cannot remove the stale socket '" + path + "': " + std::strerror(errno);
    }
  }
  return "";
}

// A whole file for `flag`; InvalidArgument naming both when it cannot be read.
absl::StatusOr<std::string> ReadTlsFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  if (in) text << in.rdbuf();
  if (!in || text.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": cannot read '", path, "'", in ? " (empty)" : ""));
  }
  return text.str();
}

}  // namespace

absl::StatusOr<ListenEndpoint> PrepareListenEndpoint(const ListenFlags& flags) {
  ListenEndpoint endpoint;
  endpoint.credentials = grpc::InsecureServerCredentials();
  const bool any_tls = !flags.tls_cert.empty() || !flags.tls_key.empty() || !flags.tls_ca.empty();
  const bool all_tls = !flags.tls_cert.empty() && !flags.tls_key.empty() && !flags.tls_ca.empty();
  if (any_tls && !all_tls) {
    return absl::InvalidArgumentError("mutual TLS needs all of --tls-cert, --tls-key and --tls-ca");
  }
  const std::string& listen = flags.listen;
  if (absl::StartsWith(listen, "unix:")) {
    if (any_tls) {
      return absl::InvalidArgumentError(
          "--tls-* apply to a TCP --listen address, not to a unix socket (its file permissions "
          "protect it)");
    }
    endpoint.socket_path = listen.substr(absl::StartsWith(listen, "unix://") ? 7 : 5);
    if (const std::string error = PrepareUnixSocket(endpoint.socket_path); !error.empty()) {
      return absl::FailedPreconditionError(error);
    }
    endpoint.grpc_address = "unix:" + endpoint.socket_path;
    return endpoint;
  }
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen '", listen, "' is neither unix:///PATH nor HOST:PORT"));
  }
  const bool loopback = rpc::IsLoopbackHost(listen.substr(0, colon));
  if (!loopback && !all_tls) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to listen on '", listen,
        "' without TLS: anyone on the network could then register hosts and deploy containers\n"
        "  hint: give --tls-cert, --tls-key and --tls-ca (mutual TLS), or listen on a loopback "
        "address or a unix socket"));
  }
  if (loopback && !all_tls && !flags.token) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to listen on '", listen,
        "' without a token: any user of this machine could then register hosts and deploy "
        "containers\n  hint: give --token-file FILE (bdcoord and the agents send it), or listen "
        "on a unix socket (its file permissions protect it)"));
  }
  if (all_tls && !flags.token) {
    return absl::InvalidArgumentError(
        "mutual TLS without --token-file: every agent certificate could then call "
        "ClusterService (apply, down)\n  hint: give --token-file FILE: bdcoord and other "
        "tools send the token, agents are known by their certificates");
  }
  endpoint.grpc_address = listen;
  if (!all_tls) return endpoint;
  // Mutual TLS: clients (agents, the CLI) must present a certificate signed by --tls-ca.
  absl::StatusOr<std::string> cert = ReadTlsFile("--tls-cert", flags.tls_cert);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadTlsFile("--tls-key", flags.tls_key);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> ca = ReadTlsFile("--tls-ca", flags.tls_ca);
  if (!ca.ok()) return ca.status();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = *ca;
  options.pem_key_cert_pairs.push_back({*key, *cert});
  endpoint.credentials = grpc::SslServerCredentials(options);
  endpoint.mutual_tls = true;
  return endpoint;
}

absl::StatusOr<std::unique_ptr<grpc::Server>> StartServer(
    const ListenFlags& flags, const ListenEndpoint& endpoint,
    const std::function<void(grpc::ServerBuilder&)>& register_services) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(endpoint.grpc_address, endpoint.credentials, &port);
  rpc::ApplyMessageLimits(builder);
  register_services(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || (endpoint.socket_path.empty() && port == 0)) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on '", flags.listen, "'",
                     endpoint.mutual_tls ? " (with mutual TLS: check that the certificate matches "
                                           "the key and that all three are PEM)"
                                         : ""));
  }
  if (!endpoint.socket_path.empty() && ::chmod(endpoint.socket_path.c_str(), 0600) != 0) {
    const std::string error = std::strerror(errno);
    server->Shutdown();
    return absl::UnavailableError(
        absl::StrCat("cannot make '", endpoint.socket_path, "' owner-only (0600): ", error));
  }
  return server;
}

void StopServer(grpc::Server& server, const ListenEndpoint& endpoint) {
  server.Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(3));
  server.Wait();
  if (!endpoint.socket_path.empty()) ::unlink(endpoint.socket_path.c_str());
}

}  // namespace bdcoord::coordinator
