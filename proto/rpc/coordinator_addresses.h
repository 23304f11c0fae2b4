#ifndef BDCOORD_PROTO_RPC_COORDINATOR_ADDRESSES_H_
#define BDCOORD_PROTO_RPC_COORDINATOR_ADDRESSES_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace bdcoord::rpc {

// The trailing metadata by which a standby coordinator names the leader (bdcoordd's
// leader_gate.h).
inline constexpr char kLeaderTrailer[] = "bdcoord-leader";

// `--coordinator a,b,c` (and BDCOORD_ADDR): the addresses in order. InvalidArgument naming `flag`
// for an empty one ("a,,b", a trailing comma) or one given twice.
absl::StatusOr<std::vector<std::string>> ParseCoordinatorAddresses(const std::string& flag,
                                                                   const std::string& text);

// Which coordinator to try next while looking for the leader: a leader named by a standby first,
// then the given addresses in order, each once. Pure: the caller dials.
class LeaderSearch {
 public:
  explicit LeaderSearch(std::vector<std::string> addresses) : addresses_(std::move(addresses)) {}

  // The next address to try; none when every one was tried.
  std::optional<std::string> Next();
  // The last address tried refused as a standby naming `leader` ("" when it knew none).
  void Redirected(const std::string& leader);

 private:
  std::vector<std::string> addresses_;
  size_t next_ = 0;
  std::string named_;  // a leader to try before the rest
  std::set<std::string> tried_;
};

}  // namespace bdcoord::rpc

#endif  // BDCOORD_PROTO_RPC_COORDINATOR_ADDRESSES_H_
