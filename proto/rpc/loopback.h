#ifndef BDCOORD_PROTO_RPC_LOOPBACK_H_
#define BDCOORD_PROTO_RPC_LOOPBACK_H_

#include <string>

namespace bdcoord::rpc {

// True for a literal 127.0.0.0/8 or ::1 address (bracketed or not), or `localhost`: only what
// surely stays on this machine, so a name such as 127.example.com is not loopback.
bool IsLoopbackHost(std::string host);

}  // namespace bdcoord::rpc

#endif  // BDCOORD_PROTO_RPC_LOOPBACK_H_
