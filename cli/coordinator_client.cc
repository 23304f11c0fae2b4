#include "cli/coordinator_client.h"

#include <chrono>
#include <cstdlib>
#include <optional>
#include <utility>

#include "cli/exit_codes.h"
#include "coordinator/spec/diagnostics.h"
#include "coordinator/spec/spec_loader.h"
#include "proto/rpc/bearer_token.h"
#include "proto/rpc/client_channel.h"
#include "proto/rpc/coordinator_addresses.h"

namespace bdcoord::cli {
namespace {

constexpr std::chrono::seconds kLeaderProbeTimeout{3};

std::string OrEnv(const std::string& flag, const char* variable) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv(variable);
  return env != nullptr ? env : "";
}

// Reports of several lines (`file:line:col` lines, a placement explanation) are printed as they
// are; a one-line message gets the command's prefix.
void PrintReport(const std::string& message, std::ostream& err) {
  if (message.find('\n') == std::string::npos) {
    err << "bdcoord: " << message << "\n";
  } else {
    err << message;
    if (message.back() != '\n') err << "\n";
  }
}

// A refused spec: unplaceable (FAILED_PRECONDITION) exits 3, anything else wrong with it 2.
int RefusalExitCode(grpc::StatusCode code) {
  return code == grpc::StatusCode::FAILED_PRECONDITION ? kExitPlacementFailed : kExitInvalidInput;
}

absl::StatusOr<Coordinator> Dial(const bdcoord::rpc::ClientChannelOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = bdcoord::rpc::NewClientChannel(options);
  if (!channel.ok()) return channel.status();
  Coordinator coordinator;
  coordinator.address = options.address;
  coordinator.tls = !options.tls_cert.empty();
  coordinator.token = !options.token.empty();
  coordinator.stub = bdcoord::v1::ClusterService::NewStub(*channel);
  return coordinator;
}

// Several coordinators: the leader, found by a cheap call (ListHosts) to each in turn, a leader
// named by a standby first. None serving: the last one tried, whose error the command reports.
absl::StatusOr<Coordinator> FindLeader(bdcoord::rpc::ClientChannelOptions options,
                                       std::vector<std::string> addresses) {
  bdcoord::rpc::LeaderSearch search(std::move(addresses));
  absl::StatusOr<Coordinator> last = absl::UnavailableError("no coordinator address");
  while (std::optional<std::string> address = search.Next()) {
    options.address = *address;
    last = Dial(options);
    if (!last.ok()) return last.status();  // the TLS or token flags: the same for every address
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kLeaderProbeTimeout);
    bdcoord::v1::ListHostsResponse hosts;
    const grpc::Status status = last->stub->ListHosts(&context, {}, &hosts);
    // Served, or refused for a reason the command reports (a token): this is the one.
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      last->several = true;
      for (const auto& host : hosts.hosts()) {
        if (host.connected()) last->connected_hosts.push_back(host.name());
      }
      return last;
    }
    const auto& trailers = context.GetServerTrailingMetadata();
    if (auto leader = trailers.find(bdcoord::rpc::kLeaderTrailer); leader != trailers.end()) {
      search.Redirected(std::string(leader->second.data(), leader->second.size()));
    }
  }
  return last;
}

}  // namespace

absl::StatusOr<Coordinator> ConnectCoordinator(const CoordinatorFlags& flags) {
  bdcoord::rpc::ClientChannelOptions options;
  options.address = OrEnv(flags.address, "BDCOORD_ADDR");
  if (options.address.empty()) options.address = kDefaultCoordinator;
  options.tls_cert = OrEnv(flags.tls_cert, "BDCOORD_TLS_CERT");
  options.tls_key = OrEnv(flags.tls_key, "BDCOORD_TLS_KEY");
  options.tls_ca = OrEnv(flags.tls_ca, "BDCOORD_TLS_CA");
  options.tls_server_name = OrEnv(flags.tls_server_name, "BDCOORD_TLS_SERVER_NAME");
  if (const std::string file = OrEnv(flags.token_file, "BDCOORD_TOKEN_FILE"); !file.empty()) {
    absl::StatusOr<std::string> token = bdcoord::rpc::ReadTokenFile("--token-file", file);
    if (!token.ok()) return token.status();
    options.token = *std::move(token);
  } else if (const std::string value = OrEnv("", "BDCOORD_TOKEN"); !value.empty()) {
    absl::StatusOr<std::string> token = bdcoord::rpc::CheckToken("BDCOORD_TOKEN", value);
    if (!token.ok()) return token.status();
    options.token = *std::move(token);
  }
  absl::StatusOr<std::vector<std::string>> addresses = bdcoord::rpc::ParseCoordinatorAddresses(
      flags.address.empty() && std::getenv("BDCOORD_ADDR") != nullptr ? "BDCOORD_ADDR"
                                                                      : "--coordinator",
      options.address);
  if (!addresses.ok()) return addresses.status();
  if (addresses->size() == 1) {
    options.address = addresses->front();
    return Dial(options);
  }
  return FindLeader(std::move(options), *std::move(addresses));
}

int ReportConnectError(const absl::Status& status, std::ostream& err) {
  err << "bdcoord: " << status.message() << "\n";
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitInvalidInput
                                                             : kExitRuntimeError;
}

int ReportRpcError(const Coordinator& coordinator, const grpc::Status& status, std::ostream& err) {
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    err << "bdcoord: the coordinator at " << coordinator.address
        << " refused the call: " << status.error_message() << "\n  hint: "
        << (coordinator.token ? "the token is not the coordinator's: check --token-file"
                              : "the coordinator requires a token: pass --token-file FILE")
        << " (or set BDCOORD_TOKEN_FILE)\n";
    return kExitRuntimeError;
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      status.error_message().find("is a standby") != std::string::npos) {
    err << "bdcoord: the coordinator at " << coordinator.address
        << " refused the call: " << status.error_message()
        << "\n  hint: pass every coordinator's address, --coordinator ADDR,ADDR,... (or set "
           "BDCOORD_ADDR so): the leader is then found\n";
    return kExitRuntimeError;
  }
  // UNAVAILABLE also means "a host the plan needs is not connected": that is not about us.
  const bool unreachable = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                           (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
                            status.error_message().find("not connected") == std::string::npos);
  if (!unreachable) {
    err << "bdcoord: " << status.error_message() << "\n";
    return kExitRuntimeError;
  }
  err << "bdcoord: cannot reach the coordinator at " << coordinator.address << ": "
      << status.error_message() << "\n";
  if (bdcoord::rpc::LooksLikeTlsFailure(status)) {
    err << "  hint: the TLS handshake failed: --tls-ca must be the CA of the coordinator's "
           "certificate, --tls-cert/--tls-key a client certificate of the CA it trusts, and "
           "the address (or --tls-server-name) a name in its certificate\n";
  } else if (coordinator.tls) {
    err << "  hint: start bdcoordd, or pass --coordinator ADDR (or set BDCOORD_ADDR); if it "
           "runs, it may have rejected this client's certificate (--tls-cert, --tls-key)\n";
  } else {
    err << "  hint: start bdcoordd, or pass --coordinator ADDR (or set BDCOORD_ADDR); a "
           "coordinator with mutual TLS needs --tls-cert, --tls-key and --tls-ca\n";
  }
  return kExitRuntimeError;
}

int ReportCallError(const Coordinator& coordinator, const grpc::Status& status, std::ostream& err) {
  const std::string& message = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION: {
      PrintReport(message, err);
      return RefusalExitCode(status.error_code());
    }
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ABORTED:
      err << "bdcoord: " << message << "\n";
      return kExitRuntimeError;
    default:
      return ReportRpcError(coordinator, status, err);
  }
}

int ReportRejection(const bdcoord::v1::Rejection& rejection, std::ostream& err) {
  PrintReport(rejection.report(), err);
  return RefusalExitCode(static_cast<grpc::StatusCode>(rejection.code()));
}

bool ReportEncodingError(const std::string& file, const std::string& text, std::ostream& err) {
  std::optional<coordinator::Diagnostic> error = coordinator::EncodingError(text);
  if (!error) return false;
  err << coordinator::FormatDiagnostics(file, {*std::move(error)});
  return true;
}

}  // namespace bdcoord::cli
