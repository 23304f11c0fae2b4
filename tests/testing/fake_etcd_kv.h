#ifndef BDCOORD_TESTS_TESTING_FAKE_ETCD_KV_H_
#define BDCOORD_TESTS_TESTING_FAKE_ETCD_KV_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/state/etcd_kv.h"

namespace bdcoord::test_util {

// An in-memory etcd with its revisions, transactions and leases, for the fault paths a real one
// will not take on demand: calls that fail (FailNext), a transaction applied whose answer is lost
// (LoseNextTxnAnswer), another writer between a read and a write (before_txn), a lease that
// expires (ExpireLease).
class FakeEtcdKv : public coordinator::EtcdKv {
 public:
  using KeyValue = coordinator::EtcdKeyValue;

  absl::StatusOr<coordinator::EtcdRangeResult> Range(const std::string& key,
                                                     const std::string& range_end,
                                                     bool keys_only) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status failure = TakeFailure(); !failure.ok()) return failure;
    coordinator::EtcdRangeResult result{Read(key, range_end), revision_};
    if (keys_only) {
      for (KeyValue& kv : result.kvs) kv.value.clear();
    }
    return result;
  }

  absl::StatusOr<coordinator::EtcdTxnResult> Txn(
      const std::vector<coordinator::EtcdCompare>& compares,
      const std::vector<coordinator::EtcdOp>& success,
      const std::vector<coordinator::EtcdOp>& failure) override {
    std::function<void()> before;
    {
      absl::MutexLock lock(&mu_);
      before = std::exchange(before_txn_, nullptr);
    }
    if (before) before();  // outside the lock: it may write through this fake
    absl::MutexLock lock(&mu_);
    if (absl::Status failure_status = TakeFailure(); !failure_status.ok()) return failure_status;
    ++txns_;
    coordinator::EtcdTxnResult result;
    result.succeeded = true;
    for (const coordinator::EtcdCompare& compare : compares) {
      if (!Holds(compare)) result.succeeded = false;
    }
    for (const coordinator::EtcdOp& op : result.succeeded ? success : failure) {
      if (op.kind == coordinator::EtcdOp::Kind::kPut && op.lease != 0 && !leases_.count(op.lease)) {
        return absl::NotFoundError("etcdserver: requested lease not found");
      }
    }
    bool wrote = false;
    for (const coordinator::EtcdOp& op : result.succeeded ? success : failure) {
      if (op.kind != coordinator::EtcdOp::Kind::kRange && !wrote) {
        wrote = true;
        ++revision_;
      }
      switch (op.kind) {
        case coordinator::EtcdOp::Kind::kRange:
          result.ranges.push_back(Read(op.key, op.range_end));
          if (op.keys_only) {
            for (KeyValue& kv : result.ranges.back()) kv.value.clear();
          }
          break;
        case coordinator::EtcdOp::Kind::kPut: {
          KeyValue& kv = kvs_[op.key];
          if (kv.create_revision == 0) kv.create_revision = revision_;
          kv.key = op.key;
          kv.value = op.value;
          kv.mod_revision = revision_;
          kv.lease = op.lease;
          break;
        }
        case coordinator::EtcdOp::Kind::kDelete:
          for (const KeyValue& kv : Read(op.key, op.range_end)) kvs_.erase(kv.key);
          break;
      }
    }
    result.revision = revision_;
    if (lose_next_answer_) {
      lose_next_answer_ = false;
      return absl::UnavailableError("fake etcd: the answer was lost (the transaction was done)");
    }
    return result;
  }

  absl::StatusOr<int64_t> LeaseGrant(absl::Duration) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status failure = TakeFailure(); !failure.ok()) return failure;
    leases_.insert(++next_lease_);
    return next_lease_;
  }
  absl::Status LeaseKeepAlive(int64_t lease) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status failure = TakeFailure(); !failure.ok()) return failure;
    return leases_.count(lease) ? absl::OkStatus() : absl::NotFoundError("lease expired");
  }
  absl::Status LeaseRevoke(int64_t lease) override {
    ExpireLease(lease);
    return absl::OkStatus();
  }
  std::string Describe() const override { return "fake etcd"; }

  // The lease ends as if its TTL passed: its keys go.
  void ExpireLease(int64_t lease) {
    absl::MutexLock lock(&mu_);
    leases_.erase(lease);
    for (auto it = kvs_.begin(); it != kvs_.end();) {
      it = it->second.lease == lease ? kvs_.erase(it) : std::next(it);
    }
  }
  // The lease of `key` ends (as when its holder died and its TTL passed).
  void ExpireAllLeasesOf(const std::string& key) {
    int64_t lease = 0;
    {
      absl::MutexLock lock(&mu_);
      auto it = kvs_.find(key);
      if (it == kvs_.end()) return;
      lease = it->second.lease;
    }
    if (lease != 0) ExpireLease(lease);
  }
  // The next calls fail with these, one each, before doing anything.
  void FailNext(absl::Status status) {
    absl::MutexLock lock(&mu_);
    failures_.push_back(std::move(status));
  }
  // The next transaction is done but its caller hears Unavailable.
  void LoseNextTxnAnswer() {
    absl::MutexLock lock(&mu_);
    lose_next_answer_ = true;
  }
  // Runs once, just before the next transaction (another writer coming in between).
  void BeforeNextTxn(std::function<void()> before) {
    absl::MutexLock lock(&mu_);
    before_txn_ = std::move(before);
  }
  int txns() const {
    absl::MutexLock lock(&mu_);
    return txns_;
  }
  // Every key, as stored.
  std::map<std::string, std::string> Dump() const {
    absl::MutexLock lock(&mu_);
    std::map<std::string, std::string> dump;
    for (const auto& entry : kvs_) dump[entry.first] = entry.second.value;
    return dump;
  }

 private:
  absl::Status TakeFailure() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (failures_.empty()) return absl::OkStatus();
    absl::Status status = failures_.front();
    failures_.pop_front();
    return status;
  }
  std::vector<KeyValue> Read(const std::string& key, const std::string& range_end) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<KeyValue> found;
    if (range_end.empty()) {
      if (auto it = kvs_.find(key); it != kvs_.end()) found.push_back(it->second);
      return found;
    }
    const bool to_end = range_end == std::string(1, '\0');
    for (auto it = kvs_.lower_bound(key); it != kvs_.end() && (to_end || it->first < range_end);
         ++it) {
      found.push_back(it->second);
    }
    return found;
  }
  bool Holds(const coordinator::EtcdCompare& compare) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<KeyValue> kvs = Read(compare.key, compare.range_end);
    // etcd compares a missing key (or an empty range) as one with revisions 0.
    if (kvs.empty()) {
      if (compare.target == coordinator::EtcdCompare::Target::kValue) return false;
      kvs.push_back(KeyValue{compare.key, "", 0, 0, 0});
    }
    for (const KeyValue& kv : kvs) {
      using Target = coordinator::EtcdCompare::Target;
      using Result = coordinator::EtcdCompare::Result;
      int order = 0;
      if (compare.target == Target::kValue) {
        order = kv.value.compare(compare.value);
      } else {
        const int64_t have =
            compare.target == Target::kCreateRevision ? kv.create_revision : kv.mod_revision;
        order = have < compare.revision ? -1 : have > compare.revision ? 1 : 0;
      }
      const bool holds = compare.result == Result::kEqual      ? order == 0
                         : compare.result == Result::kNotEqual ? order != 0
                         : compare.result == Result::kLess     ? order < 0
                                                               : order > 0;
      if (!holds) return false;
    }
    return true;
  }

  mutable absl::Mutex mu_;
  std::map<std::string, KeyValue> kvs_ ABSL_GUARDED_BY(mu_);
  int64_t revision_ ABSL_GUARDED_BY(mu_) = 1;
  std::set<int64_t> leases_ ABSL_GUARDED_BY(mu_);
  int64_t next_lease_ ABSL_GUARDED_BY(mu_) = 7000;
  std::deque<absl::Status> failures_ ABSL_GUARDED_BY(mu_);
  bool lose_next_answer_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> before_txn_ ABSL_GUARDED_BY(mu_);
  int txns_ ABSL_GUARDED_BY(mu_) = 0;
};

// Hands a store a FakeEtcdKv (or any EtcdKv) it does not own: several stores, and the test, share
// one etcd as several coordinators would.
class SharedEtcdKv : public coordinator::EtcdKv {
 public:
  explicit SharedEtcdKv(coordinator::EtcdKv* kv) : kv_(kv) {}
  absl::StatusOr<coordinator::EtcdRangeResult> Range(const std::string& key,
                                                     const std::string& range_end,
                                                     bool keys_only) override {
    return kv_->Range(key, range_end, keys_only);
  }
  absl::StatusOr<coordinator::EtcdTxnResult> Txn(
      const std::vector<coordinator::EtcdCompare>& compares,
      const std::vector<coordinator::EtcdOp>& success,
      const std::vector<coordinator::EtcdOp>& failure) override {
    return kv_->Txn(compares, success, failure);
  }
  absl::StatusOr<int64_t> LeaseGrant(absl::Duration ttl) override { return kv_->LeaseGrant(ttl); }
  absl::Status LeaseKeepAlive(int64_t lease) override { return kv_->LeaseKeepAlive(lease); }
  absl::Status LeaseRevoke(int64_t lease) override { return kv_->LeaseRevoke(lease); }
  std::string Describe() const override { return kv_->Describe(); }

 private:
  coordinator::EtcdKv* kv_;
};

}  // namespace bdcoord::test_util

#endif  // BDCOORD_TESTS_TESTING_FAKE_ETCD_KV_H_
