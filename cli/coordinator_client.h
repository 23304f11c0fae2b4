#ifndef BDCOORD_CLI_COORDINATOR_CLIENT_H_
#define BDCOORD_CLI_COORDINATOR_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bdcoord/v1/cluster.grpc.pb.h"

namespace bdcoord::cli {

inline constexpr char kDefaultCoordinator[] = "unix:///run/bdcoord/bdcoordd.sock";

// How every command that talks to the coordinator reaches it (--coordinator, --tls-cert,
// --tls-key, --tls-ca, --tls-server-name, --token-file). An empty field falls back to its
// environment variable: BDCOORD_ADDR, BDCOORD_TLS_CERT, BDCOORD_TLS_KEY, BDCOORD_TLS_CA,
// BDCOORD_TLS_SERVER_NAME, BDCOORD_TOKEN_FILE (then BDCOORD_TOKEN, the token itself).
struct CoordinatorFlags {
  std::string address;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  std::string tls_server_name;
  std::string token_file;
};

struct Coordinator {
  std::string address;
  bool tls = false;
  bool token = false;
  std::unique_ptr<bdcoord::v1::ClusterService::Stub> stub;
  // Given several addresses: the leader was searched for, and these hosts were connected to it
  // then (what a new leader must have back before a command is sent to it again).
  bool several = false;
  std::vector<std::string> connected_hosts;
};

// A stub whose channel has the flags' mutual TLS and bearer token. InvalidArgument for flags that
// do not go together, NotFound for files that cannot be read.
absl::StatusOr<Coordinator> ConnectCoordinator(const CoordinatorFlags& flags);

// Prints why ConnectCoordinator failed and returns the exit code: 2 for the command line, 1 for
// unreadable files.
int ReportConnectError(const absl::Status& status, std::ostream& err);

// Prints a failed call the way every command does (an unreachable coordinator, a rejected token
// or certificate each get a hint) and returns the exit code for it.
int ReportRpcError(const Coordinator& coordinator, const grpc::Status& status, std::ostream& err);

// Like ReportRpcError, but INVALID_ARGUMENT (an invalid spec: the coordinator's `file:line:col`
// lines, or a wrong argument) exits 2, FAILED_PRECONDITION (an impossible placement, with its
// explanation) exits 3, NOT_FOUND and ABORTED exit 1. Reports of several lines are printed as they
// are, one-line messages after "bdcoord: ".
int ReportCallError(const Coordinator& coordinator, const grpc::Status& status, std::ostream& err);

// Prints a refused spec's full report (Apply's last progress, Place's response) as `bdcoord
// place` prints it, however long, and returns 2 for an invalid spec, 3 for an impossible
// placement.
int ReportRejection(const bdcoord::v1::Rejection& rejection, std::ostream& err);

// A spec that is not UTF-8 is refused here, before any call, with the message the coordinator
// (and `bdcoord place`) gives: prints its `file:line:col` line and returns true.
bool ReportEncodingError(const std::string& file, const std::string& text, std::ostream& err);

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_COORDINATOR_CLIENT_H_
