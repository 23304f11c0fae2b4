#include "proto/rpc/client_channel.h"

#include <grpcpp/support/client_interceptor.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "proto/rpc/bearer_token.h"
#include "proto/rpc/limits.h"

namespace bdcoord::rpc {
namespace {

// Adds `authorization: Bearer <token>` to the initial metadata of every call. Call credentials
// would do the same, but gRPC sends them only on channels it considers secure, and the unix
// socket is a plaintext channel.
class BearerTokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(const std::string* header) : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({kAuthorizationKey, *header_});
    }
    methods->Proceed();
  }

 private:
  const std::string* header_;
};

class BearerTokenInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenInterceptorFactory(const std::string& token)
      : header_(kBearerPrefix + token) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerTokenInterceptor(&header_);
  }

 private:
  const std::string header_;  // lives as long as the channel, which owns the factory
};

absl::StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path) {
  absl::StatusOr<std::string> text = ReadFlagFile(flag, path);
  if (text.ok() && text->empty()) {
    return absl::NotFoundError(absl::StrCat(flag, ": '", path, "' is empty"));
  }
  return text;
}

}  // namespace

bool IsUnixAddress(const std::string& address) {
  return absl::StartsWith(address, "unix:") || absl::StartsWith(address, "unix-abstract:");
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> NewClientChannel(
    const ClientChannelOptions& options) {
  std::vector<std::string> given, missing;
  for (const auto& [flag, value] :
       {std::pair<const char*, const std::string&>{"--tls-cert", options.tls_cert},
        {"--tls-key", options.tls_key},
        {"--tls-ca", options.tls_ca}}) {
    (value.empty() ? missing : given).push_back(flag);
  }
  const bool tls = missing.empty();
  if (!given.empty() && !tls) {
    return absl::InvalidArgumentError(
        absl::StrCat("mutual TLS needs all of --tls-cert, --tls-key and --tls-ca; missing: ",
                     absl::StrJoin(missing, ", ")));
  }
  if (!options.tls_server_name.empty() && !tls) {
    return absl::InvalidArgumentError("--tls-server-name needs --tls-cert, --tls-key and --tls-ca");
  }
  if (IsUnixAddress(options.address) && (tls || !options.tls_server_name.empty())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls-* apply to a TCP coordinator address, not to a unix socket (its file permissions "
        "protect it): '",
        options.address, "'"));
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  grpc::ChannelArguments arguments;
  ApplyClientChannelArguments(arguments);
  if (tls) {
    grpc::SslCredentialsOptions ssl;
    absl::StatusOr<std::string> cert = ReadPem("--tls-cert", options.tls_cert);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem("--tls-key", options.tls_key);
    if (!key.ok()) return key.status();
    absl::StatusOr<std::string> ca = ReadPem("--tls-ca", options.tls_ca);
    if (!ca.ok()) return ca.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
    ssl.pem_root_certs = *std::move(ca);
    credentials = grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) {
      arguments.SetSslTargetNameOverride(options.tls_server_name);
    }
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  if (!options.token.empty()) {
    interceptors.push_back(std::make_unique<BearerTokenInterceptorFactory>(options.token));
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      options.address, credentials, arguments, std::move(interceptors));
}

bool LooksLikeTlsFailure(const grpc::Status& status) {
  const std::string message = absl::AsciiStrToLower(status.error_message());
  // Not a bare "ssl" or "tls": addresses and paths may contain them.
  for (const char* sign : {"handshake", "certificate", "ssl_error", "ssl routines"}) {
    if (absl::StrContains(message, sign)) return true;
  }
  return false;
}

}  // namespace bdcoord::rpc
