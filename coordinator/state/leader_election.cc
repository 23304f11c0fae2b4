#include "coordinator/state/leader_election.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace bdcoord::coordinator {
namespace {

std::shared_ptr<spdlog::logger> Logger() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto existing = spdlog::get("election");
    return existing ? existing : spdlog::default_logger()->clone("election");
  }();
  return logger;
}

}  // namespace

LeaderElection::LeaderElection(EtcdKv* kv, LeaderElectionOptions options)
    : kv_(kv), options_(std::move(options)), logic_(options_.ttl) {}

LeaderElection::~LeaderElection() { Resign(); }

void LeaderElection::Start() {
  thread_ = std::thread([this] { Run(); });
}

void LeaderElection::Run() {
  for (;;) {
    Step();
    absl::MutexLock lock(&mu_);
    const absl::Duration wait = logic_.NextActionAt(last_campaign_) - options_.now();
    if (mu_.AwaitWithTimeout(absl::Condition(&stop_), std::max(wait, absl::Milliseconds(10)))) {
      return;
    }
  }
}

void LeaderElection::Step() {
  int64_t lease = 0;
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    const absl::Time now = options_.now();
    if (logic_.ExpiredAt(now)) {
      // No renewal was answered in time: etcd may give the key to another any moment.
      Logger()->warn("leadership of '{}' lost: the lease was not renewed in time", options_.key);
      logic_.LeaseGone();
    }
    lease = lease_;
    if (logic_.won()) {
      const absl::Time sent = now;
      mu_.Unlock();
      const absl::Status renewed = kv_->LeaseKeepAlive(lease);
      mu_.Lock();
      if (renewed.ok()) {
        logic_.KeptAlive(sent);
      } else if (absl::IsNotFound(renewed)) {
        Logger()->warn("leadership of '{}' lost: {}", options_.key, std::string(renewed.message()));
        logic_.LeaseGone();
        lease_ = 0;
      } else {
        Logger()->warn("renewing the leader lease: {}", std::string(renewed.message()));
      }
      return;
    }
    lease_ = 0;
    last_campaign_ = now;
  }
  if (lease != 0) (void)kv_->LeaseRevoke(lease);  // a lease of a lost leadership: its key goes
  // Campaign: the key with a new lease, only if nobody holds it.
  const absl::Time sent = options_.now();
  absl::StatusOr<int64_t> granted = kv_->LeaseGrant(options_.ttl);
  if (!granted.ok()) {
    Logger()->warn("campaign for '{}': {}", options_.key, std::string(granted.status().message()));
    return;
  }
  absl::StatusOr<EtcdTxnResult> txn = kv_->Txn(
      {EtcdCompare::Missing(options_.key)},
      {EtcdOp::Put(options_.key, options_.advertise, *granted)}, {EtcdOp::Get(options_.key)});
  if (txn.ok() && txn->succeeded) {
    absl::MutexLock lock(&mu_);
    if (!stop_) {
      lease_ = *granted;
      logic_.Won(txn->revision, sent);
      Logger()->info("leader: '{}' is '{}' (revision {})", options_.key, options_.advertise,
                     txn->revision);
      return;
    }
  }
  (void)kv_->LeaseRevoke(*granted);  // lost, failed, or stopping meanwhile
  if (!txn.ok()) {
    Logger()->warn("campaign for '{}': {}", options_.key, std::string(txn.status().message()));
    return;
  }
  std::string leader;
  if (!txn->ranges.empty() && !txn->ranges[0].empty()) leader = txn->ranges[0][0].value;
  absl::MutexLock lock(&mu_);
  if (leader != logic_.leader()) Logger()->info("following the leader '{}'", leader);
  logic_.Lost(std::move(leader));
}

void LeaderElection::Resign() {
  Abandon();
  int64_t lease = 0;
  {
    absl::MutexLock lock(&mu_);
    lease = std::exchange(lease_, 0);
    logic_.LeaseGone();
  }
  if (lease != 0) {
    const absl::Status revoked = kv_->LeaseRevoke(lease);
    if (revoked.ok() || absl::IsNotFound(revoked)) {  // NotFound: it had ended already
      Logger()->info("resigned the leadership of '{}'", options_.key);
    } else {
      Logger()->warn("resigning the leadership of '{}': {}", options_.key,
                     std::string(revoked.message()));
    }
  }
}

void LeaderElection::Abandon() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool LeaderElection::IsLeader() const {
  absl::MutexLock lock(&mu_);
  return logic_.LeadsAt(options_.now());
}

std::string LeaderElection::Leader() const {
  absl::MutexLock lock(&mu_);
  return logic_.LeadsAt(options_.now()) ? options_.advertise : logic_.leader();
}

bool LeaderElection::AwaitLeadership(absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  while (!IsLeader()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

int64_t LeaderElection::revision() const {
  absl::MutexLock lock(&mu_);
  return logic_.RevisionAt(options_.now());
}

}  // namespace bdcoord::coordinator
