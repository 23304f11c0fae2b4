#include "coordinator/state/store_etcd.h"

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/state/store_checks.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace bdcoord::coordinator {
namespace {

using store_internal::CheckedFacts;
using store_internal::CheckedSpec;
using store_internal::ClusterNotFound;
using store_internal::Quoted;
using Json = nlohmann::json;

std::shared_ptr<spdlog::logger> Logger() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto existing = spdlog::get("store");
    return existing ? existing : spdlog::default_logger()->clone("store");
  }();
  return logger;
}

// How often a write is tried again from its reads when another writer changed what it read.
constexpr int kAttempts = 20;

// The key layout, under the prefix P (default /bdcoord/). Values are JSON, protos in them
// serialized and base64 (`*_b64`); times are Unix microseconds.
//   P schema                         the layout version ("1")
//   P hosts/NAME                     {facts_b64, last_seen_us, drained}
//   P clusters/NAME                  {spec_file, spec_yaml, spec_b64, applied_at_us,
//                                     placement_b64}: the spec and where every instance went
//   P rollouts/NAME                  {revision, rollout_b64, previous_spec_file,
//                                     previous_spec_yaml, previous_spec_b64}
//   P ips/IP                         {cluster, instance}: one owner per IP across clusters
//   P statuses/CLUSTER/INSTANCE      {host, status_b64}: the latest report
//   P completions/CLUSTER/INSTANCE   {status_b64}: the first COMPLETED report, for good
// Writes that span keys (an apply: the cluster, its rollout, its IPs, the statuses of removed
// instances) are one transaction whose compares are the mod_revisions of the keys read (or of
// every key under ips/ at once).
struct Keys {
  std::string p;
  std::string Schema() const { return p + "schema"; }
  std::string Hosts() const { return p + "hosts/"; }
  std::string Host(const std::string& name) const { return Hosts() + name; }
  std::string Clusters() const { return p + "clusters/"; }
  std::string Cluster(const std::string& name) const { return Clusters() + name; }
  std::string Rollout(const std::string& name) const { return p + "rollouts/" + name; }
  std::string Ips() const { return p + "ips/"; }
  std::string Ip(const std::string& ip) const { return Ips() + ip; }
  std::string Statuses(const std::string& cluster) const { return p + "statuses/" + cluster + "/"; }
  std::string Status(const std::string& cluster, const std::string& name) const {
    return Statuses(cluster) + name;
  }
  std::string Completions(const std::string& cluster) const {
    return p + "completions/" + cluster + "/";
  }
  std::string Completion(const std::string& cluster, const std::string& name) const {
    return Completions(cluster) + name;
  }
};

std::string B64(const std::string& bytes) { return absl::Base64Escape(bytes); }

bool ParseB64(const Json& record, const char* field, google::protobuf::MessageLite* message) {
  auto it = record.find(field);
  std::string bytes;
  return it != record.end() && it->is_string() &&
         absl::Base64Unescape(it->get<std::string>(), &bytes) && message->ParseFromString(bytes);
}

// A record read back; discarded (is_discarded()) when it is not a JSON object.
Json Parse(const std::string& value) {
  Json record = Json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object()) return Json(Json::value_t::discarded);
  return record;
}

struct ClusterRecord {
  int64_t mod_revision = 0;  // 0: no such cluster
  AppliedCluster cluster;    // name, spec, placement, applied_at (the rest is in the rollout)
};

// The writes of one operation, made of its steps, committed as one transaction. Each key is
// written at most once (etcd refuses a transaction that writes a key twice): a later write of a
// key replaces an earlier one. Reads see the writes made so far.
class Batch {
 public:
  void Expect(EtcdCompare compare) {
    compares_[compare.key + '\0' + compare.range_end] = std::move(compare);
  }
  void Put(const std::string& key, std::string value) {
    writes_[key] = EtcdOp::Put(key, std::move(value));
  }
  void Delete(const std::string& key) { writes_[key] = EtcdOp::Delete(key); }
  void DeletePrefix(const std::string& prefix) {
    // Keys written under it so far go with it.
    for (auto it = writes_.lower_bound(prefix);
         it != writes_.end() && absl::StartsWith(it->first, prefix);) {
      it = writes_.erase(it);
    }
    writes_[prefix] = EtcdOp::DeletePrefix(prefix);
  }
  // What this batch has written to `key` so far: true and the value (empty optional: deleted).
  bool Pending(const std::string& key, std::optional<std::string>* value) const {
    auto it = writes_.find(key);
    if (it == writes_.end()) return false;
    *value = it->second.kind == EtcdOp::Kind::kPut ? std::optional(it->second.value) : std::nullopt;
    return true;
  }
  // Applies the pending writes under `prefix` to `values` (key -> value).
  void Overlay(const std::string& prefix, std::map<std::string, std::string>* values) const {
    for (auto it = writes_.lower_bound(prefix);
         it != writes_.end() && absl::StartsWith(it->first, prefix); ++it) {
      if (it->second.kind == EtcdOp::Kind::kPut) {
        (*values)[it->first] = it->second.value;
      } else {
        values->erase(it->first);
      }
    }
  }
  std::vector<EtcdCompare> compares() const {
    std::vector<EtcdCompare> list;
    for (const auto& entry : compares_) list.push_back(entry.second);
    return list;
  }
  std::vector<EtcdOp> ops() const {
    std::vector<EtcdOp> list;
    for (const auto& entry : writes_) list.push_back(entry.second);
    return list;
  }

 private:
  std::map<std::string, EtcdCompare> compares_;
  std::map<std::string, EtcdOp> writes_;
};

class EtcdStore final : public Store {
 public:
  EtcdStore(std::unique_ptr<EtcdKv> kv, std::string prefix, const LeaderFence* fence)
      : kv_(std::move(kv)), keys_{std::move(prefix)}, fence_(fence) {}

  absl::Status Init();

  absl::Status AdmitHost(const std::string& name, const bdcoord::v1::HostFacts& facts,
                         absl::Time now) override;
  absl::Status MarkHostSeen(const std::string& name, absl::Time now) override;
  absl::Status SetHostDrained(const std::string& name, bool drained) override;
  absl::StatusOr<std::vector<HostRecord>> ListHosts() override;
  absl::Status DrainHost(const std::string& name, const bdcoord::v1::HostFacts& facts,
                         absl::Time now, bool drained,
                         const std::vector<AppliedCluster>& replanned) override;

  absl::Status ApplyCluster(const AppliedCluster& cluster) override;
  absl::StatusOr<AppliedCluster> GetCluster(const std::string& name) override;
  absl::Status UpdateRollout(const std::string& cluster,
                             const bdcoord::v1::Rollout& rollout) override;
  absl::StatusOr<std::vector<std::string>> ListClusters() override;
  absl::Status DeleteCluster(const std::string& name) override;
  absl::StatusOr<std::map<std::string, IpOwner>> AllocatedIps() override;

  absl::Status MarkInstances(const std::string& cluster, const std::string& host,
                             const std::vector<bdcoord::v1::InstanceStatus>& statuses) override;
  absl::StatusOr<std::map<std::string, ReportedStatus>> InstanceStatuses(
      const std::string& cluster) override;
  absl::StatusOr<bool> RunOnceCompleted(const std::string& cluster,
                                        const std::string& instance) override;

 private:
  // "store etcd at URLS prefix 'P': OP: message", keeping the code.
  absl::Status Error(absl::string_view op, const absl::Status& status) const {
    if (status.ok()) return status;
    return absl::Status(status.code(),
                        absl::StrCat("store ", kv_->Describe(), " prefix ", Quoted(keys_.p), ": ",
                                     op, ": ", status.message()));
  }
  absl::Status Damaged(absl::string_view what) const {
    return absl::DataLossError(
        absl::StrCat("store ", kv_->Describe(), " prefix ", Quoted(keys_.p), ": ", what));
  }
  // Runs `build` (reads, then writes into a batch) and commits the batch when what it read is
  // unchanged; builds again from fresh reads when not. Returns the revision of the commit.
  template <typename Build>
  absl::StatusOr<int64_t> Commit(const std::string& op, Build&& build)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // FailedPrecondition naming the leader (from the leader key) when there is one.
  absl::Status NotLeader() const;
  // One key's value and mod_revision (0 when it does not exist).
  absl::StatusOr<std::pair<std::string, int64_t>> Read(const std::string& key);

  absl::StatusOr<ClusterRecord> ReadCluster(const std::string& name);
  // The host's record with its mod_revision (0: none).
  absl::StatusOr<std::pair<Json, int64_t>> ReadHost(const std::string& name);
  absl::Status ApplyClusterStep(Batch& batch, const AppliedCluster& cluster,
                                const std::string& spec) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Placed instance names of a cluster as of its mod_revision: MarkInstances checks reports
  // against them without reading the placement each time (its transaction compares the revision).
  struct Placed {
    int64_t mod_revision = 0;
    std::set<std::string> names;
  };
  void RememberPlaced(const AppliedCluster& cluster, int64_t revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Placed& placed = placed_[cluster.name];
    placed.mod_revision = revision;
    placed.names.clear();
    for (const auto& instance : cluster.placement.instances()) placed.names.insert(instance.name());
  }

  const std::unique_ptr<EtcdKv> kv_;
  const Keys keys_;
  const LeaderFence* const fence_;  // null: writes are not fenced
  bool opening_ = true;             // the schema key is written unfenced
  absl::Mutex mu_;                  // one operation at a time, as SQLite's one connection
  std::map<std::string, Placed> placed_ ABSL_GUARDED_BY(mu_);
};

template <typename Build>
absl::StatusOr<int64_t> EtcdStore::Commit(const std::string& op, Build&& build) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    Batch batch;
    if (absl::Status built = build(batch); !built.ok()) return built;
    const bool fenced = fence_ != nullptr && !opening_;
    const int64_t leading = fenced ? fence_->revision() : 0;
    if (fenced) {
      if (leading == 0) return Error(op, NotLeader());
      batch.Expect({fence_->key(), "", EtcdCompare::Target::kCreateRevision,
                    EtcdCompare::Result::kEqual, leading, ""});
    }
    absl::StatusOr<EtcdTxnResult> result = kv_->Txn(batch.compares(), batch.ops(), {});
    if (!result.ok()) return Error(op, result.status());
    if (result->succeeded) return result->revision;
    if (fenced) {
      // Lost the leadership, or only a conflict with what was read?
      absl::StatusOr<EtcdRangeResult> key = kv_->Range(fence_->key(), "");
      if (!key.ok()) return Error(op, key.status());
      if (key->kvs.empty() || key->kvs[0].create_revision != leading) return Error(op, NotLeader());
    }
  }
  return Error(op, absl::AbortedError(absl::StrCat("what it read kept changing under it (",
                                                   kAttempts, " attempts)")));
}

absl::Status EtcdStore::NotLeader() const {
  std::string leader;
  if (absl::StatusOr<EtcdRangeResult> key = kv_->Range(fence_->key(), ""); key.ok()) {
    if (!key->kvs.empty()) leader = key->kvs[0].value;
  }
  return absl::FailedPreconditionError(
      absl::StrCat("this coordinator is not the leader",
                   leader.empty() ? std::string(" (there is none right now)")
                                  : absl::StrCat("; the leader is ", Quoted(leader))));
}

absl::StatusOr<std::pair<std::string, int64_t>> EtcdStore::Read(const std::string& key) {
  absl::StatusOr<EtcdRangeResult> range = kv_->Range(key, "");
  if (!range.ok()) return range.status();
  if (range->kvs.empty()) return std::make_pair(std::string(), int64_t{0});
  return std::make_pair(range->kvs[0].value, range->kvs[0].mod_revision);
}

absl::StatusOr<ClusterRecord> EtcdStore::ReadCluster(const std::string& name) {
  absl::StatusOr<std::pair<std::string, int64_t>> read = Read(keys_.Cluster(name));
  if (!read.ok()) return read.status();
  ClusterRecord record;
  record.mod_revision = read->second;
  if (record.mod_revision == 0) return record;
  const Json json = Parse(read->first);
  AppliedCluster& cluster = record.cluster;
  cluster.name = name;
  if (json.is_discarded() || !ParseB64(json, "spec_b64", &cluster.spec) ||
      !ParseB64(json, "placement_b64", &cluster.placement)) {
    return Damaged(absl::StrCat("the record of cluster ", Quoted(name), " does not parse"));
  }
  cluster.spec_file = json.value("spec_file", "");
  cluster.spec_yaml = json.value("spec_yaml", "");
  cluster.applied_at = absl::FromUnixMicros(json.value("applied_at_us", int64_t{0}));
  return record;
}

absl::StatusOr<std::pair<Json, int64_t>> EtcdStore::ReadHost(const std::string& name) {
  absl::StatusOr<std::pair<std::string, int64_t>> read = Read(keys_.Host(name));
  if (!read.ok()) return read.status();
  if (read->second == 0) return std::make_pair(Json(), int64_t{0});
  Json json = Parse(read->first);
  if (json.is_discarded()) {
    return Damaged(absl::StrCat("the record of host ", Quoted(name), " does not parse"));
  }
  return std::make_pair(std::move(json), read->second);
}

absl::Status EtcdStore::Init() {
  absl::MutexLock lock(&mu_);
  const std::string version = std::to_string(kEtcdStoreSchemaVersion);
  absl::StatusOr<int64_t> created = Commit("open", [&](Batch& batch) -> absl::Status {
    absl::StatusOr<std::pair<std::string, int64_t>> schema = Read(keys_.Schema());
    if (!schema.ok()) return Error("open", schema.status());
    if (schema->second != 0) {
      int stored = 0;
      if (!absl::SimpleAtoi(schema->first, &stored) || stored < 1) {
        return absl::FailedPreconditionError(
            absl::StrCat("store ", kv_->Describe(), " prefix ", Quoted(keys_.p),
                         " is not a bdcoord store: its schema key holds ", Quoted(schema->first),
                         "; it is left as it is"));
      }
      if (stored > kEtcdStoreSchemaVersion) {
        return absl::FailedPreconditionError(absl::StrCat(
            "store ", kv_->Describe(), " prefix ", Quoted(keys_.p), ": its schema version ", stored,
            " is newer than this build supports (", kEtcdStoreSchemaVersion, ")"));
      }
      return absl::OkStatus();  // nothing to write: an empty transaction
    }
    batch.Expect(EtcdCompare::Missing(keys_.Schema()));
    batch.Put(keys_.Schema(), version);
    return absl::OkStatus();
  });
  opening_ = false;
  if (!created.ok()) return created.status();
  Logger()->info("store {} prefix '{}' (schema version {})", kv_->Describe(), keys_.p,
                 kEtcdStoreSchemaVersion);
  return absl::OkStatus();
}

// Hosts.

Json HostJson(const std::string& facts, absl::Time last_seen, bool drained) {
  return {{"facts_b64", B64(facts)},
          {"last_seen_us", absl::ToUnixMicros(last_seen)},
          {"drained", drained}};
}

absl::Status EtcdStore::AdmitHost(const std::string& name, const bdcoord::v1::HostFacts& facts,
                                  absl::Time now) {
  absl::StatusOr<std::string> bytes = CheckedFacts(name, facts);
  if (!bytes.ok()) return bytes.status();
  absl::MutexLock lock(&mu_);
  const std::string op = absl::StrCat("AdmitHost ", Quoted(name));
  return Commit(op,
                [&](Batch& batch) -> absl::Status {
                  absl::StatusOr<std::pair<Json, int64_t>> host = ReadHost(name);
                  if (!host.ok()) return Error(op, host.status());
                  const bool drained = host->second != 0 && host->first.value("drained", false);
                  batch.Expect(EtcdCompare::ModRevisionIs(keys_.Host(name), host->second));
                  batch.Put(keys_.Host(name), HostJson(*bytes, now, drained).dump());
                  return absl::OkStatus();
                })
      .status();
}

absl::Status EtcdStore::MarkHostSeen(const std::string& name, absl::Time now) {
  absl::MutexLock lock(&mu_);
  const std::string op = absl::StrCat("MarkHostSeen ", Quoted(name));
  return Commit(op,
                [&](Batch& batch) -> absl::Status {
                  absl::StatusOr<std::pair<Json, int64_t>> host = ReadHost(name);
                  if (!host.ok()) return Error(op, host.status());
                  if (host->second == 0) {
                    return absl::NotFoundError(absl::StrCat("host ", Quoted(name), " not found"));
                  }
                  host->first["last_seen_us"] = absl::ToUnixMicros(now);
                  batch.Expect(EtcdCompare::ModRevisionIs(keys_.Host(name), host->second));
                  batch.Put(keys_.Host(name), host->first.dump());
                  return absl::OkStatus();
                })
      .status();
}

absl::Status EtcdStore::SetHostDrained(const std::string& name, bool drained) {
  absl::MutexLock lock(&mu_);
  const std::string op = absl::StrCat("SetHostDrained ", Quoted(name));
  return Commit(op,
                [&](Batch& batch) -> absl::Status {
                  absl::StatusOr<std::pair<Json, int64_t>> host = ReadHost(name);
                  if (!host.ok()) return Error(op, host.status());
                  if (host->second == 0) {
                    return absl::NotFoundError(absl::StrCat("host ", Quoted(name), " not found"));
                  }
                  host->first["drained"] = drained;
                  batch.Expect(EtcdCompare::ModRevisionIs(keys_.Host(name), host->second));
                  batch.Put(keys_.Host(name), host->first.dump());
                  return absl::OkStatus();
                })
      .status();
}

absl::Status EtcdStore::DrainHost(const std::string& name, const bdcoord::v1::HostFacts& facts,
                                  absl::Time now, bool drained,
                                  const std::vector<AppliedCluster>& replanned) {
  absl::StatusOr<std::string> bytes = CheckedFacts(name, facts);
  if (!bytes.ok()) return bytes.status();
  std::vector<std::string> specs;
  for (const AppliedCluster& cluster : replanned) {
    absl::StatusOr<std::string> spec = CheckedSpec(cluster);
    if (!spec.ok()) return spec.status();
    specs.push_back(*std::move(spec));
  }
  absl::MutexLock lock(&mu_);
  const std::string op = absl::StrCat("DrainHost ", Quoted(name));
  absl::StatusOr<int64_t> revision =
      Commit(op, [&](Batch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
        absl::StatusOr<std::pair<Json, int64_t>> host = ReadHost(name);
        if (!host.ok()) return Error(op, host.status());
        batch.Expect(EtcdCompare::ModRevisionIs(keys_.Host(name), host->second));
        batch.Put(keys_.Host(name), HostJson(*bytes, now, drained).dump());
        for (size_t i = 0; i < replanned.size(); ++i) {
          if (absl::Status step = ApplyClusterStep(batch, replanned[i], specs[i]); !step.ok()) {
            return step;
          }
        }
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  for (const AppliedCluster& cluster : replanned) RememberPlaced(cluster, *revision);
  Logger()->info("{} host '{}' ({} clusters re-planned)", drained ? "drained" : "undrained", name,
                 replanned.size());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<HostRecord>> EtcdStore::ListHosts() {
  absl::StatusOr<EtcdRangeResult> range = kv_->Range(keys_.Hosts(), EtcdPrefixEnd(keys_.Hosts()));
  if (!range.ok()) return Error("ListHosts", range.status());
  std::vector<HostRecord> hosts;
  for (const EtcdKeyValue& kv : range->kvs) {
    HostRecord& host = hosts.emplace_back();
    host.name = kv.key.substr(keys_.Hosts().size());
    const Json json = Parse(kv.value);
    if (json.is_discarded() || !ParseB64(json, "facts_b64", &host.facts)) {
      return Damaged(absl::StrCat("the facts of host ", Quoted(host.name), " do not parse"));
    }
    host.last_seen = absl::FromUnixMicros(json.value("last_seen_us", int64_t{0}));
    host.drained = json.value("drained", false);
  }
  return hosts;
}

// Clusters.

absl::Status EtcdStore::ApplyCluster(const AppliedCluster& cluster) {
  absl::StatusOr<std::string> spec = CheckedSpec(cluster);
  if (!spec.ok()) return spec.status();
  absl::MutexLock lock(&mu_);
  absl::StatusOr<int64_t> revision = Commit(absl::StrCat("ApplyCluster ", Quoted(cluster.name)),
                                            [&](Batch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                                              return ApplyClusterStep(batch, cluster, *spec);
                                            });
  if (!revision.ok()) return revision.status();
  RememberPlaced(cluster, *revision);
  Logger()->info("applied cluster '{}' ({} instances)", cluster.name,
                 cluster.placement.instances_size());
  return absl::OkStatus();
}

absl::Status EtcdStore::ApplyClusterStep(Batch& batch, const AppliedCluster& cluster,
                                         const std::string& spec) {
  const std::string& name = cluster.name;
  const std::string op = absl::StrCat("ApplyCluster ", Quoted(name));
  absl::StatusOr<ClusterRecord> old = ReadCluster(name);
  if (!old.ok()) return Error(op, old.status());
  batch.Expect(EtcdCompare::ModRevisionIs(keys_.Cluster(name), old->mod_revision));

  // Every IP's owner, in one read; the transaction holds only if no IP changed since.
  absl::StatusOr<EtcdRangeResult> ips = kv_->Range(keys_.Ips(), EtcdPrefixEnd(keys_.Ips()));
  if (!ips.ok()) return Error(op, ips.status());
  batch.Expect({keys_.Ips(), EtcdPrefixEnd(keys_.Ips()), EtcdCompare::Target::kModRevision,
                EtcdCompare::Result::kLess, ips->revision + 1, ""});
  std::map<std::string, std::string> owners;
  for (const EtcdKeyValue& kv : ips->kvs) owners[kv.key] = kv.value;
  batch.Overlay(keys_.Ips(), &owners);  // the clusters re-planned before this one in a drain

  std::set<std::string> new_ips;
  for (const bdcoord::v1::PlacedInstance& instance : cluster.placement.instances()) {
    if (instance.ip().empty()) continue;
    new_ips.insert(instance.ip());
    const std::string key = keys_.Ip(instance.ip());
    const std::string value = Json{{"cluster", name}, {"instance", instance.name()}}.dump();
    auto it = owners.find(key);
    if (it != owners.end()) {
      const Json owner = Parse(it->second);
      const std::string owner_cluster = owner.is_discarded() ? "" : owner.value("cluster", "");
      if (owner_cluster != name) {
        return absl::AlreadyExistsError(
            absl::StrCat("IP ", instance.ip(), " of instance ", Quoted(instance.name()),
                         " of cluster ", Quoted(name), " is already allocated to instance ",
                         Quoted(owner.is_discarded() ? "" : owner.value("instance", "")),
                         " of cluster ", Quoted(owner_cluster)));
      }
      if (it->second == value) continue;  // unchanged
    }
    batch.Put(key, value);
  }
  std::set<std::string> new_names;
  for (const auto& instance : cluster.placement.instances()) new_names.insert(instance.name());
  if (old->mod_revision != 0) {
    for (const auto& instance : old->cluster.placement.instances()) {
      if (!instance.ip().empty() && !new_ips.count(instance.ip())) {
        batch.Delete(keys_.Ip(instance.ip()));
      }
      // Statuses exist only for placed instances (MarkInstances compares the cluster's
      // revision): those of the old placement that are not in the new one go.
      if (!new_names.count(instance.name())) batch.Delete(keys_.Status(name, instance.name()));
    }
  }
  bdcoord::v1::Placement placement = cluster.placement;
  placement.set_cluster(name);
  batch.Put(keys_.Cluster(name), Json{{"spec_file", cluster.spec_file},
                                      {"spec_yaml", cluster.spec_yaml},
                                      {"spec_b64", B64(spec)},
                                      {"applied_at_us", absl::ToUnixMicros(cluster.applied_at)},
                                      {"placement_b64", B64(placement.SerializeAsString())}}
                                     .dump());
  batch.Put(keys_.Rollout(name),
            Json{{"revision", cluster.rollout.revision()},
                 {"rollout_b64", B64(cluster.rollout.SerializeAsString())},
                 {"previous_spec_file", cluster.previous_spec_file},
                 {"previous_spec_yaml", cluster.previous_spec_yaml},
                 {"previous_spec_b64", B64(cluster.previous_spec.SerializeAsString())}}
                .dump());
  return absl::OkStatus();
}

absl::StatusOr<AppliedCluster> EtcdStore::GetCluster(const std::string& name) {
  const std::string op = absl::StrCat("GetCluster ", Quoted(name));
  // Both keys as of one revision.
  absl::StatusOr<EtcdTxnResult> read =
      kv_->Txn({}, {EtcdOp::Get(keys_.Cluster(name)), EtcdOp::Get(keys_.Rollout(name))}, {});
  if (!read.ok()) return Error(op, read.status());
  if (read->ranges.size() != 2) return Damaged(absl::StrCat(op, ": a short answer"));
  if (read->ranges[0].empty()) return ClusterNotFound(name);
  const Json json = Parse(read->ranges[0][0].value);
  AppliedCluster cluster;
  cluster.name = name;
  if (json.is_discarded() || !ParseB64(json, "spec_b64", &cluster.spec) ||
      !ParseB64(json, "placement_b64", &cluster.placement)) {
    return Damaged(absl::StrCat("the spec of cluster ", Quoted(name), " does not parse"));
  }
  cluster.spec_file = json.value("spec_file", "");
  cluster.spec_yaml = json.value("spec_yaml", "");
  cluster.applied_at = absl::FromUnixMicros(json.value("applied_at_us", int64_t{0}));
  if (read->ranges[1].empty()) return cluster;
  const Json rollout = Parse(read->ranges[1][0].value);
  if (rollout.is_discarded() || !ParseB64(rollout, "rollout_b64", &cluster.rollout) ||
      !ParseB64(rollout, "previous_spec_b64", &cluster.previous_spec)) {
    return Damaged(absl::StrCat("the rollout of cluster ", Quoted(name), " does not parse"));
  }
  cluster.previous_spec_file = rollout.value("previous_spec_file", "");
  cluster.previous_spec_yaml = rollout.value("previous_spec_yaml", "");
  return cluster;
}

absl::Status EtcdStore::UpdateRollout(const std::string& cluster,
                                      const bdcoord::v1::Rollout& rollout) {
  absl::MutexLock lock(&mu_);
  const std::string op = absl::StrCat("UpdateRollout ", Quoted(cluster));
  return Commit(op,
                [&](Batch& batch) -> absl::Status {
                  absl::StatusOr<EtcdTxnResult> read =
                      kv_->Txn({},
                               {EtcdOp::GetKeyOnly(keys_.Cluster(cluster)),
                                EtcdOp::Get(keys_.Rollout(cluster))},
                               {});
                  if (!read.ok()) return Error(op, read.status());
                  if (read->ranges.size() != 2)
                    return Damaged(absl::StrCat(op, ": a short answer"));
                  if (read->ranges[0].empty()) return ClusterNotFound(cluster);
                  Json record =
                      read->ranges[1].empty() ? Json::object() : Parse(read->ranges[1][0].value);
                  if (record.is_discarded()) {
                    return Damaged(absl::StrCat("the rollout of cluster ", Quoted(cluster),
                                                " does not parse"));
                  }
                  const uint64_t stored = record.value("revision", uint64_t{0});
                  if (stored != rollout.revision()) {
                    return absl::AbortedError(absl::StrCat(
                        "the rollout of cluster ", Quoted(cluster), " changed meanwhile (revision ",
                        stored, ", this change was made against ", rollout.revision(), ")"));
                  }
                  bdcoord::v1::Rollout next = rollout;
                  next.set_revision(rollout.revision() + 1);
                  record["revision"] = next.revision();
                  record["rollout_b64"] = B64(next.SerializeAsString());
                  batch.Expect(EtcdCompare::ModRevisionIs(
                      keys_.Rollout(cluster),
                      read->ranges[1].empty() ? 0 : read->ranges[1][0].mod_revision));
                  batch.Expect(EtcdCompare::ModRevisionIs(keys_.Cluster(cluster),
                                                          read->ranges[0][0].mod_revision));
                  batch.Put(keys_.Rollout(cluster), record.dump());
                  return absl::OkStatus();
                })
      .status();
}

absl::StatusOr<std::vector<std::string>> EtcdStore::ListClusters() {
  absl::StatusOr<EtcdRangeResult> range =
      kv_->Range(keys_.Clusters(), EtcdPrefixEnd(keys_.Clusters()), /*keys_only=*/true);
  if (!range.ok()) return Error("ListClusters", range.status());
  std::vector<std::string> names;
  for (const EtcdKeyValue& kv : range->kvs) names.push_back(kv.key.substr(keys_.Clusters().size()));
  return names;
}

absl::Status EtcdStore::DeleteCluster(const std::string& name) {
  absl::MutexLock lock(&mu_);
  const std::string op = absl::StrCat("DeleteCluster ", Quoted(name));
  absl::StatusOr<int64_t> revision = Commit(op, [&](Batch& batch) -> absl::Status {
    absl::StatusOr<ClusterRecord> old = ReadCluster(name);
    if (!old.ok()) return Error(op, old.status());
    if (old->mod_revision == 0) return ClusterNotFound(name);
    batch.Expect(EtcdCompare::ModRevisionIs(keys_.Cluster(name), old->mod_revision));
    for (const auto& instance : old->cluster.placement.instances()) {
      if (!instance.ip().empty()) batch.Delete(keys_.Ip(instance.ip()));
    }
    batch.DeletePrefix(keys_.Statuses(name));
    batch.DeletePrefix(keys_.Completions(name));
    batch.Delete(keys_.Rollout(name));
    batch.Delete(keys_.Cluster(name));
    return absl::OkStatus();
  });
  if (!revision.ok()) return revision.status();
  placed_.erase(name);
  Logger()->info("deleted cluster '{}'", name);
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, IpOwner>> EtcdStore::AllocatedIps() {
  absl::StatusOr<EtcdRangeResult> range = kv_->Range(keys_.Ips(), EtcdPrefixEnd(keys_.Ips()));
  if (!range.ok()) return Error("AllocatedIps", range.status());
  std::map<std::string, IpOwner> ips;
  for (const EtcdKeyValue& kv : range->kvs) {
    const Json owner = Parse(kv.value);
    const std::string ip = kv.key.substr(keys_.Ips().size());
    if (owner.is_discarded()) {
      return Damaged(absl::StrCat("the owner of IP ", ip, " does not parse"));
    }
    ips[ip] = IpOwner{owner.value("cluster", ""), owner.value("instance", "")};
  }
  return ips;
}

// Instances.

absl::Status EtcdStore::MarkInstances(const std::string& cluster, const std::string& host,
                                      const std::vector<bdcoord::v1::InstanceStatus>& statuses) {
  std::map<std::string, std::string> bytes;  // the latest status of each instance in the report
  for (const bdcoord::v1::InstanceStatus& status : statuses) {
    if (status.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cluster ", Quoted(cluster), ": a status names no instance"));
    }
    if (!status.SerializeToString(&bytes[status.name()])) {
      return absl::InternalError(
          absl::StrCat("serializing the status of instance ", Quoted(status.name())));
    }
  }
  if (statuses.empty()) return absl::OkStatus();
  std::vector<std::string> first_completions;
  absl::MutexLock lock(&mu_);
  const std::string op =
      absl::StrCat("MarkInstances ", Quoted(cluster), " ", Quoted(statuses.front().name()),
                   statuses.size() > 1 ? absl::StrCat(" and ", statuses.size() - 1, " more") : "");
  int attempt = 0;
  absl::StatusOr<int64_t> revision =
      Commit(op, [&](Batch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
        // The placed names as remembered; read again on a retry (the compare failed) and before
        // refusing an instance (another coordinator may have applied since).
        bool read_now = false;
        auto refresh = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
          read_now = true;
          placed_.erase(cluster);
          absl::StatusOr<ClusterRecord> record = ReadCluster(cluster);
          if (!record.ok()) return Error(op, record.status());
          if (record->mod_revision == 0) return ClusterNotFound(cluster);
          RememberPlaced(record->cluster, record->mod_revision);
          return absl::OkStatus();
        };
        if (attempt++ > 0 || !placed_.count(cluster)) {
          if (absl::Status status = refresh(); !status.ok()) return status;
        }
        for (const bdcoord::v1::InstanceStatus& status : statuses) {
          if (placed_[cluster].names.count(status.name())) continue;
          if (!read_now) {
            if (absl::Status refreshed = refresh(); !refreshed.ok()) return refreshed;
            if (placed_[cluster].names.count(status.name())) continue;
          }
          return absl::NotFoundError(absl::StrCat("instance ", Quoted(status.name()),
                                                  " is not placed in cluster ", Quoted(cluster)));
        }
        batch.Expect(
            EtcdCompare::ModRevisionIs(keys_.Cluster(cluster), placed_[cluster].mod_revision));
        first_completions.clear();
        std::set<std::string> completed;
        bool any_completed = false;
        for (const bdcoord::v1::InstanceStatus& status : statuses) {
          any_completed |= status.state() == bdcoord::v1::INSTANCE_STATE_COMPLETED;
        }
        if (any_completed) {
          absl::StatusOr<EtcdRangeResult> done = kv_->Range(
              keys_.Completions(cluster), EtcdPrefixEnd(keys_.Completions(cluster)), true);
          if (!done.ok()) return Error(op, done.status());
          for (const EtcdKeyValue& kv : done->kvs) {
            completed.insert(kv.key.substr(keys_.Completions(cluster).size()));
          }
        }
        for (const bdcoord::v1::InstanceStatus& status : statuses) {
          const std::string& name = status.name();
          const std::string& status_bytes = bytes[name];
          batch.Put(keys_.Status(cluster, name),
                    Json{{"host", host}, {"status_b64", B64(status_bytes)}}.dump());
          if (status.state() == bdcoord::v1::INSTANCE_STATE_COMPLETED &&
              completed.insert(name).second) {
            batch.Expect(EtcdCompare::Missing(keys_.Completion(cluster, name)));
            batch.Put(keys_.Completion(cluster, name),
                      Json{{"status_b64", B64(status_bytes)}}.dump());
            first_completions.push_back(name);
          }
        }
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  for (const std::string& name : first_completions) {
    Logger()->info("instance '{}' of cluster '{}' completed: it never runs again", name, cluster);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, ReportedStatus>> EtcdStore::InstanceStatuses(
    const std::string& cluster) {
  const std::string op = absl::StrCat("InstanceStatuses ", Quoted(cluster));
  absl::StatusOr<EtcdTxnResult> read = kv_->Txn(
      {}, {EtcdOp::GetKeyOnly(keys_.Cluster(cluster)), EtcdOp::GetPrefix(keys_.Statuses(cluster))},
      {});
  if (!read.ok()) return Error(op, read.status());
  if (read->ranges.size() != 2) return Damaged(absl::StrCat(op, ": a short answer"));
  if (read->ranges[0].empty()) return ClusterNotFound(cluster);
  std::map<std::string, ReportedStatus> statuses;
  for (const EtcdKeyValue& kv : read->ranges[1]) {
    const std::string name = kv.key.substr(keys_.Statuses(cluster).size());
    const Json json = Parse(kv.value);
    ReportedStatus& reported = statuses[name];
    if (json.is_discarded() || !ParseB64(json, "status_b64", &reported.status)) {
      return Damaged(absl::StrCat("the status of instance ", Quoted(name), " of cluster ",
                                  Quoted(cluster), " does not parse"));
    }
    reported.host = json.value("host", "");
  }
  return statuses;
}

absl::StatusOr<bool> EtcdStore::RunOnceCompleted(const std::string& cluster,
                                                 const std::string& instance) {
  absl::StatusOr<EtcdTxnResult> read =
      kv_->Txn({},
               {EtcdOp::GetKeyOnly(keys_.Cluster(cluster)),
                EtcdOp::GetKeyOnly(keys_.Completion(cluster, instance))},
               {});
  if (!read.ok()) {
    return Error(absl::StrCat("RunOnceCompleted ", Quoted(cluster), " ", Quoted(instance)),
                 read.status());
  }
  if (read->ranges.size() != 2) return Damaged("RunOnceCompleted: a short answer");
  if (read->ranges[0].empty()) return ClusterNotFound(cluster);
  return !read->ranges[1].empty();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenEtcdStore(std::unique_ptr<EtcdKv> kv, std::string prefix,
                                                     const LeaderFence* fence) {
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  auto store = std::make_unique<EtcdStore>(std::move(kv), std::move(prefix), fence);
  if (absl::Status status = store->Init(); !status.ok()) return status;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace bdcoord::coordinator
