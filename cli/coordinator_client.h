#ifndef BDCOORD_CLI_COORDINATOR_CLIENT_H_
#define BDCOORD_CLI_COORDINATOR_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <ostream>
#include <string>

#include "bdcoord/v1/cluster.grpc.pb.h"

namespace bdcoord::cli {

inline constexpr char kDefaultCoordinator[] = "unix:///run/bdcoord/bdcoordd.sock";

// The coordinator address: the flag, else $BDCOORD_ADDR, else the default unix socket.
std::string CoordinatorAddress(const std::string& flag);

std::unique_ptr<bdcoord::v1::ClusterService::Stub> ConnectCoordinator(const std::string& address);

// Prints a failed call the way every command does (an unreachable coordinator gets a hint) and
// returns the exit code for it.
int ReportRpcError(const std::string& address, const grpc::Status& status, std::ostream& err);

// Like ReportRpcError, but INVALID_ARGUMENT (an invalid spec: the coordinator's `file:line:col`
// lines, or a wrong argument) prints the message as it is and exits 2, FAILED_PRECONDITION (an
// impossible placement, with its explanation) exits 3, NOT_FOUND and ABORTED exit 1.
int ReportCallError(const std::string& address, const grpc::Status& status, std::ostream& err);

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_COORDINATOR_CLIENT_H_
