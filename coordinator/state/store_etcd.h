#ifndef BDCOORD_COORDINATOR_STATE_STORE_ETCD_H_
#define BDCOORD_COORDINATOR_STATE_STORE_ETCD_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/state/etcd_kv.h"
#include "coordinator/state/leader_fence.h"
#include "coordinator/state/store.h"

namespace bdcoord::coordinator {

// The layout version this build writes and reads (the key PREFIX "schema"). A newer one is
// refused.
inline constexpr int kEtcdStoreSchemaVersion = 1;

// The Store on etcd (bdcoordd --store etcd://...), every key under `prefix`: what SQLite does in
// one transaction is one etcd transaction, conditioned on the keys it read being unchanged
// (their mod_revision), and tried again from the reads when another writer came first. Opening
// checks that etcd answers and that the prefix holds a bdcoord store of a known version (an
// empty prefix gets one).
//
// With a `fence` (the coordinators' leader election), every write also compares the leader key's
// create revision with the fence's: a coordinator that does not lead, or whose leadership ended
// even if it does not know yet, writes nothing (FailedPrecondition naming the leader). Reads are
// not fenced. The fence outlives the store.
absl::StatusOr<std::unique_ptr<Store>> OpenEtcdStore(std::unique_ptr<EtcdKv> kv, std::string prefix,
                                                     const LeaderFence* fence = nullptr);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_STATE_STORE_ETCD_H_
