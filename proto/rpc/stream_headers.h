#ifndef BDCOORD_PROTO_RPC_STREAM_HEADERS_H_
#define BDCOORD_PROTO_RPC_STREAM_HEADERS_H_

namespace bdcoord::rpc {

// In WatchEvents' initial metadata once the watcher is subscribed: the client may say it
// watches. A refused or failed call ends without it (gRPC gives a client initial metadata either
// way).
inline constexpr char kSubscribedHeader[] = "bdcoord-subscribed";

}  // namespace bdcoord::rpc

#endif  // BDCOORD_PROTO_RPC_STREAM_HEADERS_H_
