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

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_COORDINATOR_CLIENT_H_
