#include "cli/coordinator_client.h"

#include <cstdlib>

#include "cli/exit_codes.h"

namespace bdcoord::cli {

std::string CoordinatorAddress(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("BDCOORD_ADDR"); env != nullptr && *env != '\0') return env;
  return kDefaultCoordinator;
}

std::unique_ptr<bdcoord::v1::ClusterService::Stub> ConnectCoordinator(const std::string& address) {
  return bdcoord::v1::ClusterService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

int ReportRpcError(const std::string& address, const grpc::Status& status, std::ostream& err) {
  // UNAVAILABLE also means "a host the plan needs is not connected": that is not about us.
  const bool unreachable = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                           (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
                            status.error_message().find("not connected") == std::string::npos);
  if (unreachable) {
    err << "bdcoord: cannot reach the coordinator at " << address << ": " << status.error_message()
        << "\n  hint: start bdcoordd, or pass --coordinator ADDR (or set BDCOORD_ADDR)\n";
  } else {
    err << "bdcoord: " << status.error_message() << "\n";
  }
  return kExitRuntimeError;
}

int ReportCallError(const std::string& address, const grpc::Status& status, std::ostream& err) {
  const std::string& message = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION: {
      // Printed as they are: `file:line:col` lines, or a placement explanation.
      err << message;
      if (!message.empty() && message.back() != '\n') err << "\n";
      return status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? kExitInvalidInput
                                                                       : kExitPlacementFailed;
    }
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ABORTED:
      err << "bdcoord: " << message << "\n";
      return kExitRuntimeError;
    default:
      return ReportRpcError(address, status, err);
  }
}

}  // namespace bdcoord::cli
