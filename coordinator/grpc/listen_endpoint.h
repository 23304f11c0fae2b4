#ifndef BDCOORD_COORDINATOR_GRPC_LISTEN_ENDPOINT_H_
#define BDCOORD_COORDINATOR_GRPC_LISTEN_ENDPOINT_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace bdcoord::coordinator {

// bdcoordd's --listen and --tls-* flags, and whether --token-file gives a token.
struct ListenFlags {
  std::string listen = "unix:///run/bdcoord/bdcoordd.sock";  // or HOST:PORT
  std::string tls_cert, tls_key, tls_ca;
  bool token = false;
};

// Where and how bdcoordd listens.
struct ListenEndpoint {
  std::string grpc_address;
  std::string socket_path;  // for a unix socket: removed at exit
  bool mutual_tls = false;
  std::shared_ptr<grpc::ServerCredentials> credentials;
};

// Checks the flags and prepares the endpoint: for a unix socket, makes its directory and removes
// a stale socket file; for TCP, refuses a non-loopback address without mutual TLS, a loopback
// one without a token (any local user could deploy), mutual TLS without a token (agent
// certificates must not call ClusterService), and reads the TLS files. Loopback means a
// literal 127.0.0.0/8 or ::1 address, or `localhost`. InvalidArgument for flags that contradict
// each other or unreadable files (a usage error), FailedPrecondition when the socket cannot be
// prepared; every message names the culprit.
absl::StatusOr<ListenEndpoint> PrepareListenEndpoint(const ListenFlags& flags);

// Builds and starts a server on the endpoint with the services `register_services` adds; a unix
// socket gets mode 0600 (owner only), whatever the umask. Unavailable "cannot listen on
// 'LISTEN'" (with a hint for mutual TLS) when it cannot.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartServer(
    const ListenFlags& flags, const ListenEndpoint& endpoint,
    const std::function<void(grpc::ServerBuilder&)>& register_services);
// Stops the server (calls in flight get a few seconds) and removes its unix socket.
void StopServer(grpc::Server& server, const ListenEndpoint& endpoint);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_GRPC_LISTEN_ENDPOINT_H_
