#ifndef BDCOORD_PROTO_RPC_CLIENT_CHANNEL_H_
#define BDCOORD_PROTO_RPC_CLIENT_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace bdcoord::rpc {

// How a client (bdcoord, bdagent) reaches the coordinator. The TLS files are paths; the token is
// the value itself (read from a file by the caller).
struct ClientChannelOptions {
  std::string address;          // unix:///PATH, or HOST:PORT
  std::string tls_cert;         // client certificate (PEM)
  std::string tls_key;          // its private key (PEM)
  std::string tls_ca;           // the CA (PEM) that signed the coordinator's certificate
  std::string tls_server_name;  // the name checked in the coordinator's certificate
  std::string token;            // sent as `authorization: Bearer <token>` on every call
};

// True for unix:/PATH, unix:///PATH and unix-abstract: addresses.
bool IsUnixAddress(const std::string& address);

// A channel to the coordinator: mutual TLS when the three --tls-* files are given (TCP only),
// plaintext otherwise; with a token, every call carries it. InvalidArgument for flags that do
// not go together (the message names what is missing or wrong, with the flag names), NotFound
// for a file that cannot be read (the message names the flag and the path).
absl::StatusOr<std::shared_ptr<grpc::Channel>> NewClientChannel(
    const ClientChannelOptions& options);

// Whether a failed call looks like a failed TLS handshake or a rejected certificate.
bool LooksLikeTlsFailure(const grpc::Status& status);

}  // namespace bdcoord::rpc

#endif  // BDCOORD_PROTO_RPC_CLIENT_CHANNEL_H_
