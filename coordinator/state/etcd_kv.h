#ifndef BDCOORD_COORDINATOR_STATE_ETCD_KV_H_
#define BDCOORD_COORDINATOR_STATE_ETCD_KV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace bdcoord::coordinator {

// One key as etcd keeps it. Revisions are etcd's: 0 means "no such key".
struct EtcdKeyValue {
  std::string key;
  std::string value;  // empty when read keys-only
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t lease = 0;
};

// A condition of a transaction, on one key (or on every key in [key, range_end)).
struct EtcdCompare {
  enum class Target { kCreateRevision, kModRevision, kValue };
  enum class Result { kEqual, kNotEqual, kLess, kGreater };
  std::string key;
  std::string range_end;  // empty: the key alone
  Target target = Target::kModRevision;
  Result result = Result::kEqual;
  int64_t revision = 0;  // for the revision targets
  std::string value;     // for kValue

  // The key's mod_revision is `revision` (0: the key does not exist).
  static EtcdCompare ModRevisionIs(std::string key, int64_t revision) {
    return {std::move(key), "", Target::kModRevision, Result::kEqual, revision, ""};
  }
  static EtcdCompare Exists(std::string key) {
    return {std::move(key), "", Target::kCreateRevision, Result::kGreater, 0, ""};
  }
  static EtcdCompare Missing(std::string key) {
    return {std::move(key), "", Target::kCreateRevision, Result::kEqual, 0, ""};
  }
};

// One operation of a transaction.
struct EtcdOp {
  enum class Kind { kRange, kPut, kDelete };
  Kind kind = Kind::kRange;
  std::string key;
  std::string range_end;   // range and delete: [key, range_end); empty: the key alone
  std::string value;       // put
  int64_t lease = 0;       // put: the key goes with this lease
  bool keys_only = false;  // range: without the values

  static EtcdOp Get(std::string key) { return {Kind::kRange, std::move(key), "", "", 0}; }
  static EtcdOp GetKeyOnly(std::string key) {
    return {Kind::kRange, std::move(key), "", "", 0, true};
  }
  static EtcdOp GetPrefix(const std::string& prefix);
  static EtcdOp Put(std::string key, std::string value, int64_t lease = 0) {
    return {Kind::kPut, std::move(key), "", std::move(value), lease};
  }
  static EtcdOp Delete(std::string key) { return {Kind::kDelete, std::move(key), "", "", 0}; }
  static EtcdOp DeletePrefix(const std::string& prefix);
};

// The end of the range of every key that starts with `prefix` (etcd's "prefix + 1").
std::string EtcdPrefixEnd(const std::string& prefix);

struct EtcdTxnResult {
  bool succeeded = false;  // the compares held: the success ops ran (else the failure ops)
  int64_t revision = 0;    // the store's revision after the transaction
  // What each range op of the branch that ran read, in the order of the ops.
  std::vector<std::vector<EtcdKeyValue>> ranges;
};

struct EtcdRangeResult {
  std::vector<EtcdKeyValue> kvs;  // sorted by key
  int64_t revision = 0;           // the store's revision when read
};

// The little of etcd's v3 API the coordinator uses: ranges, transactions (compares, then
// puts/deletes/ranges, atomically) and leases. One real implementation over the JSON gateway
// (etcd_kv_http.h); a fake in tests/testing/fake_etcd_kv.h. Thread-safe.
//
// Errors: etcd unreachable is Unavailable naming the endpoints; what etcd refuses carries its
// message and gRPC code.
class EtcdKv {
 public:
  virtual ~EtcdKv() = default;

  // [key, range_end) (the key alone when range_end is empty), sorted by key.
  virtual absl::StatusOr<EtcdRangeResult> Range(const std::string& key,
                                                const std::string& range_end,
                                                bool keys_only = false) = 0;
  virtual absl::StatusOr<EtcdTxnResult> Txn(const std::vector<EtcdCompare>& compares,
                                            const std::vector<EtcdOp>& success,
                                            const std::vector<EtcdOp>& failure) = 0;
  // A lease of `ttl` (whole seconds, at least 1); its ID.
  virtual absl::StatusOr<int64_t> LeaseGrant(absl::Duration ttl) = 0;
  // Renews the lease; NotFound when it expired (its keys are gone).
  virtual absl::Status LeaseKeepAlive(int64_t lease) = 0;
  // Ends the lease now, deleting its keys.
  virtual absl::Status LeaseRevoke(int64_t lease) = 0;
  // Where it talks to, for messages ("etcd at http://h1:2379,http://h2:2379").
  virtual std::string Describe() const = 0;

  // Conveniences on Txn.
  absl::Status Put(const std::string& key, const std::string& value, int64_t lease = 0);
  absl::Status Delete(const std::string& key);
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_STATE_ETCD_KV_H_
