#ifndef BDCOORD_PROTO_RPC_LOOPBACK_H_
#define BDCOORD_PROTO_RPC_LOOPBACK_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace bdcoord::rpc {

// True for a literal 127.0.0.0/8 or ::1 address (bracketed or not), or `localhost`: only what
// surely stays on this machine, so a name such as 127.example.com is not loopback.
bool IsLoopbackHost(std::string host);

// The HOST and PORT of a daemon's `--FLAG HOST:PORT` (HTTP endpoints): the host as given (an
// IPv6 address in brackets keeps them), the port 0..65535. InvalidArgument naming the flag and
// `example` otherwise.
struct ListenAddress {
  std::string host;
  int port = 0;
};
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view flag, const std::string& listen,
                                                 absl::string_view example);

}  // namespace bdcoord::rpc

#endif  // BDCOORD_PROTO_RPC_LOOPBACK_H_
