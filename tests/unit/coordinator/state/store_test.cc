#include "coordinator/state/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "coordinator/state/metered_store.h"
#include "coordinator/state/store_sqlite.h"
#include "spdlog/spdlog.h"
#include "tests/testing/metrics.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A service of a test cluster.
struct TestService {
  std::string name;
  int count = 1;
  bool run_once = false;
};

// A cluster whose instances are `<service><index>` on hosts h1..h3, with IPs 10.<octet>.0.<n>
// (n from 1 + ip_shift), in service then index order; host hK has shim address 10.<octet>.0.25K.
AppliedCluster MakeCluster(const std::string& name, int octet,
                           const std::vector<TestService>& services, int ip_shift = 0) {
  AppliedCluster cluster;
  cluster.name = name;
  cluster.spec_file = absl::StrCat(name, ".yaml");
  cluster.spec_yaml = absl::StrCat("cluster: ", name, "\n");
  cluster.applied_at = absl::FromUnixSeconds(1700000000);
  cluster.spec.set_cluster(name);
  cluster.spec.set_domain(absl::StrCat(name, ".lan"));
  cluster.placement.set_cluster(name);
  int total = 0;
  for (const TestService& service : services) total += service.count;
  int n = 0;
  for (const TestService& service : services) {
    bdcoord::v1::Service* s = cluster.spec.add_services();
    s->set_name(service.name);
    s->set_count(static_cast<uint32_t>(service.count));
    s->set_run_once(service.run_once);
    for (int index = 1; index <= service.count; ++index, ++n) {
      bdcoord::v1::PlacedInstance* instance = cluster.placement.add_instances();
      instance->set_name(absl::StrCat(service.name, index));
      instance->set_service(service.name);
      instance->set_index(static_cast<uint32_t>(index));
      instance->set_host(absl::StrCat("h", 1 + n % 3));
      instance->set_ip(absl::StrCat("10.", octet, ".0.", 1 + (n + ip_shift) % total));
      instance->set_network("lan");
      instance->set_fqdn(absl::StrCat(instance->name(), ".", name, ".lan"));
    }
  }
  // One shim address per host with instances (host_shim on "lan").
  for (int h = 1; h <= std::min(n, 3); ++h) {
    bdcoord::v1::ShimAddress* shim = cluster.placement.add_shims();
    shim->set_network("lan");
    shim->set_host(absl::StrCat("h", h));
    shim->set_address(absl::StrCat("10.", octet, ".0.", 250 + h));
  }
  return cluster;
}

bdcoord::v1::InstanceStatus MakeStatus(const std::string& name, bdcoord::v1::InstanceState state,
                                       const std::string& container_id = "c0ffee") {
  bdcoord::v1::InstanceStatus status;
  status.set_name(name);
  status.set_service(name.substr(0, name.find_first_of("0123456789")));
  status.set_state(state);
  status.set_container_id(container_id);
  return status;
}

std::vector<std::string> Names(const AppliedCluster& cluster) {
  std::vector<std::string> names;
  for (const auto& instance : cluster.placement.instances()) names.push_back(instance.name());
  return names;
}

template <typename Map>
std::vector<std::string> Keys(const Map& map) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : map) keys.push_back(key);
  return keys;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// A raw SQLite connection, to look at what the store wrote (or to write what it must refuse).
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(
        sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
        SQLITE_OK);
    sqlite3_busy_timeout(db_, 10000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << sql << ": " << (error != nullptr ? error : "");
  }
  // The first column of every row, as text.
  std::vector<std::string> Column(const std::string& sql) {
    std::vector<std::string> values;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sql << ": " << sqlite3_errmsg(db_);
    while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      values.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "NULL");
    }
    sqlite3_finalize(stmt);
    return values;
  }
  std::string One(const std::string& sql) {
    std::vector<std::string> values = Column(sql);
    return values.empty() ? "<no row>" : values[0];
  }

 private:
  sqlite3* db_ = nullptr;
};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Keep the store's info lines out of the test output.
    if (spdlog::get("store") == nullptr) {
      auto logger = spdlog::default_logger()->clone("store");
      logger->set_level(spdlog::level::warn);
      spdlog::register_logger(logger);
    }
    std::string pattern = ::testing::TempDir() + "store_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << pattern;
    dir_ = pattern;
    path_ = dir_ + "/state.db";
  }
  void TearDown() override {
    store_.reset();
    std::error_code error;
    std::filesystem::remove_all(dir_, error);
  }

  Store& Open() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_);
    if (!store.ok()) {
      ADD_FAILURE() << store.status();
      std::abort();  // every test needs it
    }
    store_ = *std::move(store);
    return *store_;
  }

  std::string dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, CreatesTheSchema) {
  Open();
  ASSERT_TRUE(std::filesystem::exists(path_));
  RawDb raw(path_);
  EXPECT_EQ(raw.One("SELECT version FROM schema_version"), "4");
  EXPECT_EQ(raw.One("PRAGMA application_id"), absl::StrCat(kStoreApplicationId));
  EXPECT_EQ(raw.One("PRAGMA journal_mode"), "wal");
  EXPECT_THAT(raw.Column("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"),
              ElementsAre("clusters", "hosts", "instance_states", "placements", "rollouts",
                          "run_once_completions", "schema_version", "shim_addresses"));
}

TEST_F(StoreTest, UpgradesAVersion1DatabaseKeepingItsClusters) {
  ASSERT_TRUE(Open().ApplyCluster(MakeCluster("demo", 1, {{"zk", 3}})).ok());
  store_.reset();
  {
    // What version 1 was: no shim addresses, no rollouts, no reporting hosts.
    RawDb raw(path_);
    raw.Exec(
        "DROP TABLE shim_addresses; DROP TABLE rollouts; ALTER TABLE instance_states DROP COLUMN "
        "host; UPDATE schema_version SET version = 1;");
  }
  Store& store = Open();
  RawDb raw(path_);
  EXPECT_EQ(raw.One("SELECT version FROM schema_version"), "4");
  absl::StatusOr<AppliedCluster> got = store.GetCluster("demo");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Names(*got), ElementsAre("zk1", "zk2", "zk3"));
  EXPECT_EQ(got->placement.shims_size(), 0);
  // And the new table works.
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"zk", 3}})).ok());
  EXPECT_EQ(store.GetCluster("demo")->placement.shims_size(), 3);
}

TEST_F(StoreTest, UpgradesAVersion2DatabaseWhoseClustersHaveNoRolloutYet) {
  ASSERT_TRUE(Open().ApplyCluster(MakeCluster("demo", 1, {{"zk", 3}})).ok());
  store_.reset();
  {
    RawDb raw(path_);
    raw.Exec(
        "DROP TABLE rollouts; ALTER TABLE instance_states DROP COLUMN host; UPDATE "
        "schema_version SET version = 2;");
  }
  Store& store = Open();
  EXPECT_EQ(RawDb(path_).One("SELECT version FROM schema_version"), "4");
  absl::StatusOr<AppliedCluster> got = store.GetCluster("demo");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->rollout.state(), bdcoord::v1::Rollout::STATE_UNSPECIFIED);
  EXPECT_TRUE(got->previous_spec_yaml.empty());
}

// Version 3 kept no reporting host: a stored status is taken as its placed host's, as the
// coordinator took reports only from there.
TEST_F(StoreTest, UpgradesAVersion3DatabaseGivingEachStatusItsPlacedHost) {
  {
    Store& store = Open();
    ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"zk", 2}})).ok());
    ASSERT_TRUE(
        store.MarkInstance("demo", "h9", MakeStatus("zk2", bdcoord::v1::INSTANCE_STATE_RUNNING))
            .ok());
  }
  store_.reset();
  {
    RawDb raw(path_);
    raw.Exec(
        "ALTER TABLE instance_states DROP COLUMN host; UPDATE schema_version SET version = 3;");
  }
  Store& store = Open();
  EXPECT_EQ(RawDb(path_).One("SELECT version FROM schema_version"), "4");
  absl::StatusOr<std::map<std::string, ReportedStatus>> statuses = store.InstanceStatuses("demo");
  ASSERT_TRUE(statuses.ok()) << statuses.status();
  EXPECT_THAT(Keys(*statuses), ElementsAre("zk2"));
  EXPECT_EQ(statuses->at("zk2").host, "h2");  // where MakeCluster places zk2
  EXPECT_EQ(statuses->at("zk2").status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
}

TEST_F(StoreTest, KeepsTheRolloutAndThePreviousSpecWithTheCluster) {
  Store& store = Open();
  AppliedCluster cluster = MakeCluster("demo", 1, {{"zk", 2}});
  cluster.rollout.set_state(bdcoord::v1::Rollout::STATE_ROLLING);
  cluster.rollout.set_revision(4);
  bdcoord::v1::RolloutStep* step = cluster.rollout.add_steps();
  step->set_instance("zk1");
  step->set_phase(bdcoord::v1::RolloutStep::PHASE_WAITING);
  step->mutable_previous()->add_command("old");
  cluster.previous_spec_file = "old.yaml";
  cluster.previous_spec_yaml = "cluster: demo\n";
  cluster.previous_spec.set_cluster("demo");
  ASSERT_TRUE(store.ApplyCluster(cluster).ok());
  store_.reset();
  absl::StatusOr<AppliedCluster> got = Open().GetCluster("demo");  // after a restart
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->rollout.SerializeAsString(), cluster.rollout.SerializeAsString());
  EXPECT_EQ(got->previous_spec_file, "old.yaml");
  EXPECT_EQ(got->previous_spec_yaml, "cluster: demo\n");
  EXPECT_EQ(got->previous_spec.cluster(), "demo");
}

TEST_F(StoreTest, ARolloutChangeMadeAgainstAnOlderRevisionIsRefused) {
  Store& store = Open();
  AppliedCluster cluster = MakeCluster("demo", 1, {{"zk", 1}});
  cluster.rollout.set_state(bdcoord::v1::Rollout::STATE_ROLLING);
  cluster.rollout.set_revision(1);
  ASSERT_TRUE(store.ApplyCluster(cluster).ok());

  bdcoord::v1::Rollout paused = cluster.rollout;
  paused.set_state(bdcoord::v1::Rollout::STATE_PAUSED);
  ASSERT_TRUE(store.UpdateRollout("demo", paused).ok());
  EXPECT_EQ(store.GetCluster("demo")->rollout.revision(), 2u);
  EXPECT_EQ(store.GetCluster("demo")->rollout.state(), bdcoord::v1::Rollout::STATE_PAUSED);

  // A second change made from revision 1 (a controller pass that read before the pause).
  bdcoord::v1::Rollout stale = cluster.rollout;
  stale.set_state(bdcoord::v1::Rollout::STATE_DONE);
  const absl::Status refused = store.UpdateRollout("demo", stale);
  EXPECT_TRUE(absl::IsAborted(refused)) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("changed meanwhile (revision 2"));
  EXPECT_EQ(store.GetCluster("demo")->rollout.state(), bdcoord::v1::Rollout::STATE_PAUSED);
  EXPECT_TRUE(absl::IsNotFound(store.UpdateRollout("nope", paused)));
  // Down forgets it with the cluster.
  ASSERT_TRUE(store.DeleteCluster("demo").ok());
  EXPECT_EQ(RawDb(path_).One("SELECT count(*) FROM rollouts"), "0");
}

TEST_F(StoreTest, OpeningAnUpToDateStoreTakesNoWriteLock) {
  ASSERT_TRUE(Open().ApplyCluster(MakeCluster("demo", 1, {{"zk", 1}})).ok());
  store_.reset();
  // Another connection writing: an open that only reads goes on beside it.
  RawDb writer(path_);
  writer.Exec("BEGIN IMMEDIATE");
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "it waited for the lock";
  EXPECT_THAT(Names(*(*store)->GetCluster("demo")), ElementsAre("zk1"));
  writer.Exec("ROLLBACK");
}

TEST_F(StoreTest, ReadsBackShimAddressesInTheirOrder) {
  Store& store = Open();
  AppliedCluster applied = MakeCluster("demo", 1, {{"zk", 2}});
  applied.placement.mutable_shims()->SwapElements(0, 1);  // any order is kept as it is
  ASSERT_TRUE(store.ApplyCluster(applied).ok());
  absl::StatusOr<AppliedCluster> got = store.GetCluster("demo");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->placement.shims_size(), 2);
  EXPECT_EQ(got->placement.shims(0).host(), "h2");
  EXPECT_EQ(got->placement.shims(0).address(), "10.1.0.252");
  EXPECT_EQ(got->placement.shims(1).host(), "h1");
  // A re-apply replaces them.
  applied.placement.mutable_shims()->RemoveLast();
  ASSERT_TRUE(store.ApplyCluster(applied).ok());
  EXPECT_EQ(store.GetCluster("demo")->placement.shims_size(), 1);
}

TEST_F(StoreTest, OpenFailsInAMissingDirectoryNamingThePath) {
  path_ = dir_ + "/missing/state.db";
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr(path_));
}

TEST_F(StoreTest, OpenInDirMakesTheDirectoryOrSaysWhyNot) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStoreInDir(dir_ + "/data/bdcoord");
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/data/bdcoord/state.db"));
  WriteFile(dir_ + "/file", "x");
  store = OpenSqliteStoreInDir(dir_ + "/file/bdcoord");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(),
              HasSubstr("cannot create the data directory '" + dir_ + "/file/bdcoord': "));
}

TEST_F(StoreTest, TheDataDirectoryAndTheDatabaseAreOwnerOnlyWhateverTheUmask) {
  const mode_t umask_before = ::umask(0);
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStoreInDir(dir_ + "/data");
  ::umask(umask_before);
  ASSERT_TRUE(store.ok()) << store.status();
  using std::filesystem::perms;
  EXPECT_EQ(std::filesystem::status(dir_ + "/data").permissions(), perms::owner_all);
  EXPECT_EQ(std::filesystem::status(dir_ + "/data/state.db").permissions(),
            perms::owner_read | perms::owner_write);
  // A database an older release left world-readable is made owner-only when opened.
  store->reset();
  std::filesystem::permissions(dir_ + "/data/state.db", perms::others_read | perms::group_read,
                               std::filesystem::perm_options::add);
  ASSERT_TRUE(OpenSqliteStoreInDir(dir_ + "/data").ok());
  EXPECT_EQ(std::filesystem::status(dir_ + "/data/state.db").permissions(),
            perms::owner_read | perms::owner_write);
}

TEST_F(StoreTest, AdmitsListsAndDrainsHosts) {
  Store& store = Open();
  bdcoord::v1::HostFacts facts;
  facts.set_hostname("h2.lan");
  facts.set_cpus(8);
  facts.set_docker_version("20.10.24");
  (*facts.mutable_labels())["rack"] = "r1";
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  ASSERT_TRUE(store.AdmitHost("h2", facts, t0).ok());
  ASSERT_TRUE(store.AdmitHost("h1", bdcoord::v1::HostFacts(), t0).ok());

  absl::StatusOr<std::vector<HostRecord>> hosts = store.ListHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  ASSERT_EQ(hosts->size(), 2u);
  EXPECT_EQ((*hosts)[0].name, "h1");
  EXPECT_EQ((*hosts)[1].name, "h2");
  EXPECT_EQ((*hosts)[1].facts.cpus(), 8u);
  EXPECT_EQ((*hosts)[1].facts.labels().at("rack"), "r1");
  EXPECT_EQ((*hosts)[1].last_seen, t0);
  EXPECT_FALSE((*hosts)[1].drained);

  ASSERT_TRUE(store.SetHostDrained("h2", true).ok());
  ASSERT_TRUE(store.MarkHostSeen("h2", t0 + absl::Seconds(5)).ok());
  // Re-admission updates the facts and keeps the drain.
  facts.set_cpus(16);
  ASSERT_TRUE(store.AdmitHost("h2", facts, t0 + absl::Seconds(9)).ok());
  hosts = store.ListHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  EXPECT_EQ((*hosts)[1].facts.cpus(), 16u);
  EXPECT_EQ((*hosts)[1].last_seen, t0 + absl::Seconds(9));
  EXPECT_TRUE((*hosts)[1].drained);

  ASSERT_TRUE(store.MarkHostSeen("h1", t0 + absl::Seconds(3)).ok());
  ASSERT_TRUE(store.SetHostDrained("h2", false).ok());
  hosts = store.ListHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  EXPECT_EQ((*hosts)[0].last_seen, t0 + absl::Seconds(3));
  EXPECT_FALSE((*hosts)[1].drained);
}

// A drain is one transaction: the host's flag and every re-planned cluster, or nothing.
TEST_F(StoreTest, DrainHostStoresTheFlagAndEveryReplanAtOnce) {
  Store& store = Open();
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("a", 1, {{"zk", 3}})).ok());
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("b", 2, {{"kafka", 2}})).ok());
  AppliedCluster a = MakeCluster("a", 1, {{"zk", 3}});
  AppliedCluster b = MakeCluster("b", 2, {{"kafka", 2}});
  for (AppliedCluster* cluster : {&a, &b}) {
    for (auto& instance : *cluster->placement.mutable_instances()) instance.set_host("h2");
  }
  ASSERT_TRUE(store.DrainHost("h1", bdcoord::v1::HostFacts(), t0, true, {a, b}).ok());
  absl::StatusOr<std::vector<HostRecord>> hosts = store.ListHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_TRUE((*hosts)[0].drained);
  EXPECT_EQ((*hosts)[0].last_seen, t0);
  for (const char* name : {"a", "b"}) {
    absl::StatusOr<AppliedCluster> stored = store.GetCluster(name);
    ASSERT_TRUE(stored.ok()) << stored.status();
    for (const auto& instance : stored->placement.instances()) EXPECT_EQ(instance.host(), "h2");
  }
  ASSERT_TRUE(store.DrainHost("h1", bdcoord::v1::HostFacts(), t0, false, {}).ok());
  hosts = store.ListHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  EXPECT_FALSE((*hosts)[0].drained);
}

TEST_F(StoreTest, DrainHostFailingHalfWayChangesNothing) {
  Store& store = Open();
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("a", 1, {{"zk", 3}})).ok());
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("b", 2, {{"kafka", 2}})).ok());
  AppliedCluster a = MakeCluster("a", 1, {{"zk", 3}});
  for (auto& instance : *a.placement.mutable_instances()) instance.set_host("h2");
  // The second re-plan takes an IP of cluster a: the store refuses it after a is written.
  AppliedCluster b = MakeCluster("b", 2, {{"kafka", 2}});
  b.placement.mutable_instances(0)->set_ip("10.1.0.1");
  const absl::Status status = store.DrainHost("h1", bdcoord::v1::HostFacts(), t0, true, {a, b});
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(status.message(), HasSubstr("10.1.0.1"));
  absl::StatusOr<std::vector<HostRecord>> hosts = store.ListHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  EXPECT_THAT(*hosts, IsEmpty());  // not even admitted
  absl::StatusOr<AppliedCluster> stored = store.GetCluster("a");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->placement.SerializeAsString(),
            MakeCluster("a", 1, {{"zk", 3}}).placement.SerializeAsString());
}

TEST_F(StoreTest, UnknownHostIsNotFound) {
  Store& store = Open();
  absl::Status status = store.MarkHostSeen("ghost", absl::Now());
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("'ghost'"));
  status = store.SetHostDrained("ghost", true);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("'ghost'"));
  EXPECT_EQ(store.AdmitHost("", bdcoord::v1::HostFacts(), absl::Now()).code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::vector<HostRecord>> hosts = store.ListHosts();
  ASSERT_TRUE(hosts.ok());
  EXPECT_THAT(*hosts, IsEmpty());
}

TEST_F(StoreTest, AppliesAndReadsBackACluster) {
  Store& store = Open();
  AppliedCluster applied = MakeCluster("demo", 1, {{"zk", 3}, {"format", 1, true}});
  applied.spec_yaml = "cluster: demo\nservices: {}\n";
  ASSERT_TRUE(store.ApplyCluster(applied).ok());
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("alpha", 2, {{"web", 1}})).ok());

  absl::StatusOr<AppliedCluster> got = store.GetCluster("demo");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name, "demo");
  EXPECT_EQ(got->spec_file, "demo.yaml");
  EXPECT_EQ(got->spec_yaml, applied.spec_yaml);
  EXPECT_EQ(got->applied_at, applied.applied_at);
  EXPECT_EQ(got->spec.SerializeAsString(), applied.spec.SerializeAsString());
  EXPECT_EQ(got->placement.SerializeAsString(), applied.placement.SerializeAsString());
  EXPECT_THAT(Names(*got), ElementsAre("zk1", "zk2", "zk3", "format1"));
  EXPECT_EQ(got->placement.instances(1).fqdn(), "zk2.demo.lan");
  EXPECT_EQ(got->placement.instances(1).host(), "h2");
  EXPECT_EQ(got->placement.instances(1).index(), 2u);

  absl::StatusOr<std::vector<std::string>> names = store.ListClusters();
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_THAT(*names, ElementsAre("alpha", "demo"));

  got = store.GetCluster("nope");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(got.status().message(), HasSubstr("'nope'"));
}

TEST_F(StoreTest, AnInstanceWithoutIpIsStored) {
  Store& store = Open();
  AppliedCluster applied = MakeCluster("demo", 1, {{"a", 2}});
  applied.placement.mutable_instances(0)->clear_ip();
  applied.placement.mutable_instances(1)->clear_ip();
  ASSERT_TRUE(store.ApplyCluster(applied).ok());
  absl::StatusOr<AppliedCluster> got = store.GetCluster("demo");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->placement.instances(1).ip(), "");
  absl::StatusOr<std::map<std::string, IpOwner>> ips = store.AllocatedIps();
  ASSERT_TRUE(ips.ok());
  EXPECT_THAT(*ips, IsEmpty());
}

TEST_F(StoreTest, RejectsAnIpThatAnotherClusterHolds) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("kafka", 1, {{"broker", 3}})).ok());
  // zk2 would get 10.1.0.2, held by broker2 of cluster kafka.
  AppliedCluster clash = MakeCluster("zk", 1, {{"zk", 2}});
  clash.placement.mutable_instances(0)->set_ip("10.9.0.1");
  absl::Status status = store.ApplyCluster(clash);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(),
            "IP 10.1.0.2 of instance 'zk2' of cluster 'zk' is already allocated to instance "
            "'broker2' of cluster 'kafka'");
  // Nothing of it was stored.
  absl::StatusOr<std::vector<std::string>> names = store.ListClusters();
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ElementsAre("kafka"));

  // A re-apply that clashes leaves the previous version in place.
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("zk", 2, {{"zk", 2}})).ok());
  AppliedCluster grown = MakeCluster("zk", 2, {{"zk", 3}});
  grown.placement.mutable_instances(2)->set_ip("10.1.0.3");
  status = store.ApplyCluster(grown);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(status.message(), HasSubstr("'broker3' of cluster 'kafka'"));
  absl::StatusOr<AppliedCluster> got = store.GetCluster("zk");
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(Names(*got), ElementsAre("zk1", "zk2"));
}

TEST_F(StoreTest, TheUniqueConstraintOnIpsIsTheSafetyNet) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("kafka", 1, {{"broker", 1}})).ok());
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("zk", 2, {{"zk", 1}})).ok());
  char* error = nullptr;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE placements SET ip = '10.1.0.1' WHERE cluster = 'zk'", nullptr,
                         nullptr, &error),
            SQLITE_OK);
  EXPECT_THAT(error, HasSubstr("UNIQUE constraint failed: placements.ip"));
  sqlite3_free(error);
  sqlite3_close(db);
}

TEST_F(StoreTest, ReapplyMaySwapIpsWithinACluster) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"a", 3}})).ok());
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"a", 3}}, /*ip_shift=*/1)).ok());
  absl::StatusOr<AppliedCluster> got = store.GetCluster("demo");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->placement.instances(0).ip(), "10.1.0.2");
  EXPECT_EQ(got->placement.instances(2).ip(), "10.1.0.1");
}

TEST_F(StoreTest, RejectsAClusterThatContradictsItself) {
  Store& store = Open();
  AppliedCluster twice = MakeCluster("demo", 1, {{"a", 2}});
  twice.placement.mutable_instances(1)->set_name("a1");
  absl::Status status = store.ApplyCluster(twice);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("instance 'a1' is placed twice"));

  AppliedCluster same_ip = MakeCluster("demo", 1, {{"a", 2}});
  same_ip.placement.mutable_instances(1)->set_ip("10.1.0.1");
  status = store.ApplyCluster(same_ip);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("IP 10.1.0.1 is given to both 'a1' and 'a2'"));

  AppliedCluster same_shim = MakeCluster("demo", 1, {{"a", 2}});
  same_shim.placement.mutable_shims(1)->set_address("10.1.0.251");
  status = store.ApplyCluster(same_shim);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("shim address 10.1.0.251 of network 'lan' is given to "
                                          "both 'h1' and 'h2'"));
  same_shim.placement.mutable_shims(1)->clear_host();
  EXPECT_THAT(store.ApplyCluster(same_shim).message(),
              HasSubstr("a shim address lacks its network, host or address"));
  AppliedCluster two_shims = MakeCluster("demo", 1, {{"a", 2}});
  two_shims.placement.mutable_shims(1)->set_host("h1");
  status = store.ApplyCluster(two_shims);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("host 'h1' has two shim addresses on network 'lan'"));

  AppliedCluster renamed = MakeCluster("demo", 1, {{"a", 1}});
  renamed.spec.set_cluster("other");
  EXPECT_EQ(store.ApplyCluster(renamed).code(), absl::StatusCode::kInvalidArgument);
  renamed = MakeCluster("demo", 1, {{"a", 1}});
  renamed.placement.set_cluster("other");
  EXPECT_EQ(store.ApplyCluster(renamed).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.ApplyCluster(AppliedCluster()).code(), absl::StatusCode::kInvalidArgument);

  absl::StatusOr<std::vector<std::string>> names = store.ListClusters();
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, IsEmpty());
}

TEST_F(StoreTest, AllocatedIpsAcrossClusters) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("kafka", 1, {{"broker", 2}})).ok());
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("zk", 2, {{"zk", 1}})).ok());
  absl::StatusOr<std::map<std::string, IpOwner>> ips = store.AllocatedIps();
  ASSERT_TRUE(ips.ok()) << ips.status();
  EXPECT_THAT(Keys(*ips), ElementsAre("10.1.0.1", "10.1.0.2", "10.2.0.1"));
  EXPECT_EQ(ips->at("10.1.0.2").cluster, "kafka");
  EXPECT_EQ(ips->at("10.1.0.2").instance, "broker2");
  EXPECT_EQ(ips->at("10.2.0.1").cluster, "zk");

  ASSERT_TRUE(store.DeleteCluster("kafka").ok());
  ips = store.AllocatedIps();
  ASSERT_TRUE(ips.ok());
  EXPECT_THAT(Keys(*ips), ElementsAre("10.2.0.1"));
  // The freed IPs can go to another cluster.
  EXPECT_TRUE(store.ApplyCluster(MakeCluster("other", 1, {{"x", 2}})).ok());
}

TEST_F(StoreTest, MarksInstancesAndReadsTheLatestStatus) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"zk", 2}})).ok());
  bdcoord::v1::InstanceStatus failed = MakeStatus("zk1", bdcoord::v1::INSTANCE_STATE_FAILED, "abc");
  failed.set_exit_code(137);
  failed.set_message("OOM killed");
  failed.add_last_log_lines("line 1");
  failed.add_last_log_lines("line 2");
  failed.mutable_started_at()->set_seconds(1700000001);
  failed.mutable_finished_at()->set_seconds(1700000002);
  ASSERT_TRUE(
      store.MarkInstance("demo", "h1", MakeStatus("zk1", bdcoord::v1::INSTANCE_STATE_CREATED))
          .ok());
  ASSERT_TRUE(store.MarkInstance("demo", "h1", failed).ok());
  bdcoord::v1::InstanceStatus running = MakeStatus("zk2", bdcoord::v1::INSTANCE_STATE_RUNNING);
  running.set_ready(true);
  bdcoord::v1::InstanceStatus elsewhere = running;  // zk2 as another host reported it
  elsewhere.set_ready(false);
  ASSERT_TRUE(store.MarkInstance("demo", "h3", elsewhere).ok());
  ASSERT_TRUE(store.MarkInstance("demo", "h2", running).ok());

  absl::StatusOr<std::map<std::string, ReportedStatus>> statuses = store.InstanceStatuses("demo");
  ASSERT_TRUE(statuses.ok()) << statuses.status();
  EXPECT_THAT(Keys(*statuses), ElementsAre("zk1", "zk2"));
  EXPECT_EQ(statuses->at("zk1").status.SerializeAsString(), failed.SerializeAsString());
  EXPECT_EQ(statuses->at("zk1").host, "h1");
  // The latest report wins, with the host that made it.
  EXPECT_TRUE(statuses->at("zk2").status.ready());
  EXPECT_EQ(statuses->at("zk2").status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(statuses->at("zk2").host, "h2");

  RawDb raw(path_);
  EXPECT_EQ(raw.One("SELECT state || ' ' || ready || ' ' || container_id FROM instance_states "
                    "WHERE name = 'zk2'"),
            "3 1 c0ffee");
}

// A host's report is one transaction: every status recorded, or none of them.
TEST_F(StoreTest, MarkInstancesRecordsAReportWhole) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"zk", 3}})).ok());
  ASSERT_TRUE(store
                  .MarkInstances("demo", "h1",
                                 {MakeStatus("zk1", bdcoord::v1::INSTANCE_STATE_RUNNING),
                                  MakeStatus("zk2", bdcoord::v1::INSTANCE_STATE_CREATED)})
                  .ok());
  auto statuses = store.InstanceStatuses("demo");
  ASSERT_TRUE(statuses.ok());
  EXPECT_THAT(Keys(*statuses), ElementsAre("zk1", "zk2"));
  // zk9 is not placed: the whole report is refused, zk3 not recorded either.
  const absl::Status refused =
      store.MarkInstances("demo", "h1",
                          {MakeStatus("zk3", bdcoord::v1::INSTANCE_STATE_RUNNING),
                           MakeStatus("zk9", bdcoord::v1::INSTANCE_STATE_RUNNING)});
  EXPECT_EQ(refused.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(refused.message(), HasSubstr("instance 'zk9' is not placed in cluster 'demo'"));
  statuses = store.InstanceStatuses("demo");
  ASSERT_TRUE(statuses.ok());
  EXPECT_THAT(Keys(*statuses), ElementsAre("zk1", "zk2"));
  EXPECT_TRUE(store.MarkInstances("demo", "h1", {}).ok());
}

TEST_F(StoreTest, MarkInstanceNeedsAPlacedInstance) {
  Store& store = Open();
  absl::Status status =
      store.MarkInstance("demo", "h1", MakeStatus("zk1", bdcoord::v1::INSTANCE_STATE_RUNNING));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("cluster 'demo' not found"));
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"zk", 1}})).ok());
  status = store.MarkInstance("demo", "h1", MakeStatus("zk9", bdcoord::v1::INSTANCE_STATE_RUNNING));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("instance 'zk9' is not placed in cluster 'demo'"));
  EXPECT_EQ(store.MarkInstance("demo", "h1", bdcoord::v1::InstanceStatus()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.InstanceStatuses("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.RunOnceCompleted("nope", "x").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, ReapplyKeepsTheStatesOfSurvivorsAndDropsTheRemoved) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"zk", 3}, {"kafka", 2}})).ok());
  for (const char* name : {"zk1", "zk2", "zk3", "kafka1", "kafka2"}) {
    ASSERT_TRUE(
        store.MarkInstance("demo", "h1", MakeStatus(name, bdcoord::v1::INSTANCE_STATE_RUNNING))
            .ok());
  }
  // zk3 and kafka go; zk1 and zk2 move to other IPs and hosts; web is new.
  ASSERT_TRUE(
      store.ApplyCluster(MakeCluster("demo", 1, {{"web", 1}, {"zk", 2}}, /*ip_shift=*/1)).ok());
  // Kept as reported (by h1): StatusesOnPlacement drops those of the hosts they left.
  absl::StatusOr<std::map<std::string, ReportedStatus>> statuses = store.InstanceStatuses("demo");
  ASSERT_TRUE(statuses.ok()) << statuses.status();
  EXPECT_THAT(Keys(*statuses), ElementsAre("zk1", "zk2"));
  EXPECT_EQ(statuses->at("zk1").status.state(), bdcoord::v1::INSTANCE_STATE_RUNNING);
  EXPECT_EQ(statuses->at("zk1").host, "h1");
  absl::StatusOr<AppliedCluster> got = store.GetCluster("demo");
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(Names(*got), ElementsAre("web1", "zk1", "zk2"));
  // A removed instance takes no status any more.
  EXPECT_EQ(
      store.MarkInstance("demo", "h1", MakeStatus("kafka1", bdcoord::v1::INSTANCE_STATE_REMOVED))
          .code(),
      absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, RunOnceCompletionIsSticky) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("hdfs", 1, {{"format", 1, true}, {"nn", 1}})).ok());
  absl::StatusOr<bool> done = store.RunOnceCompleted("hdfs", "format1");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(*done);
  ASSERT_TRUE(
      store.MarkInstance("hdfs", "h1", MakeStatus("format1", bdcoord::v1::INSTANCE_STATE_RUNNING))
          .ok());
  EXPECT_FALSE(*store.RunOnceCompleted("hdfs", "format1"));
  ASSERT_TRUE(
      store.MarkInstance("hdfs", "h1", MakeStatus("format1", bdcoord::v1::INSTANCE_STATE_COMPLETED))
          .ok());
  EXPECT_TRUE(*store.RunOnceCompleted("hdfs", "format1"));
  EXPECT_FALSE(*store.RunOnceCompleted("hdfs", "nn1"));

  // Later statuses replace the status, never the completion.
  for (auto state : {bdcoord::v1::INSTANCE_STATE_REMOVED, bdcoord::v1::INSTANCE_STATE_FAILED,
                     bdcoord::v1::INSTANCE_STATE_PENDING}) {
    ASSERT_TRUE(store.MarkInstance("hdfs", "h1", MakeStatus("format1", state, "second")).ok());
    EXPECT_TRUE(*store.RunOnceCompleted("hdfs", "format1"));
  }
  EXPECT_EQ(store.InstanceStatuses("hdfs")->at("format1").status.state(),
            bdcoord::v1::INSTANCE_STATE_PENDING);
  // A second completion keeps the first record.
  ASSERT_TRUE(store
                  .MarkInstance("hdfs", "h1",
                                MakeStatus("format1", bdcoord::v1::INSTANCE_STATE_COMPLETED, "x"))
                  .ok());
  RawDb raw(path_);
  EXPECT_EQ(raw.One("SELECT container_id FROM run_once_completions"), "c0ffee");

  // Re-applies keep it, even one that drops the instance for a while.
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("hdfs", 1, {{"format", 1, true}, {"nn", 2}})).ok());
  EXPECT_TRUE(*store.RunOnceCompleted("hdfs", "format1"));
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("hdfs", 1, {{"nn", 2}})).ok());
  EXPECT_TRUE(*store.RunOnceCompleted("hdfs", "format1"));
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("hdfs", 1, {{"format", 1, true}, {"nn", 1}})).ok());
  EXPECT_TRUE(*store.RunOnceCompleted("hdfs", "format1"));

  // And a restarted coordinator sees it.
  Store& reopened = Open();
  EXPECT_TRUE(*reopened.RunOnceCompleted("hdfs", "format1"));

  // Deleting the cluster forgets it.
  ASSERT_TRUE(reopened.DeleteCluster("hdfs").ok());
  ASSERT_TRUE(reopened.ApplyCluster(MakeCluster("hdfs", 1, {{"format", 1, true}, {"nn", 1}})).ok());
  EXPECT_FALSE(*reopened.RunOnceCompleted("hdfs", "format1"));
}

TEST_F(StoreTest, DeleteClusterRemovesAllItsRows) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("a", 1, {{"job", 2, true}})).ok());
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("b", 2, {{"job", 1, true}})).ok());
  for (const char* cluster : {"a", "b"}) {
    ASSERT_TRUE(
        store.MarkInstance(cluster, "h1", MakeStatus("job1", bdcoord::v1::INSTANCE_STATE_COMPLETED))
            .ok());
  }
  ASSERT_TRUE(store.DeleteCluster("a").ok());
  RawDb raw(path_);
  for (const char* table :
       {"clusters", "placements", "instance_states", "run_once_completions", "shim_addresses"}) {
    EXPECT_EQ(
        raw.One(absl::StrCat("SELECT count(*) FROM ", table, " WHERE ",
                             std::string(table) == "clusters" ? "name" : "cluster", " = 'a'")),
        "0")
        << table;
    EXPECT_NE(raw.One(absl::StrCat("SELECT count(*) FROM ", table)), "0") << table;
  }
  absl::Status status = store.DeleteCluster("a");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("'a'"));
  absl::StatusOr<std::vector<std::string>> names = store.ListClusters();
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ElementsAre("b"));
}

TEST_F(StoreTest, EverythingSurvivesAReopen) {
  {
    Store& store = Open();
    bdcoord::v1::HostFacts facts;
    facts.set_cpus(4);
    ASSERT_TRUE(store.AdmitHost("h1", facts, absl::FromUnixSeconds(100)).ok());
    ASSERT_TRUE(store.SetHostDrained("h1", true).ok());
    ASSERT_TRUE(store.ApplyCluster(MakeCluster("kafka", 1, {{"broker", 3}})).ok());
    ASSERT_TRUE(store.ApplyCluster(MakeCluster("hdfs", 2, {{"format", 1, true}})).ok());
    ASSERT_TRUE(store
                    .MarkInstance("hdfs", "h1",
                                  MakeStatus("format1", bdcoord::v1::INSTANCE_STATE_COMPLETED))
                    .ok());
    ASSERT_TRUE(
        store
            .MarkInstance("kafka", "h1", MakeStatus("broker2", bdcoord::v1::INSTANCE_STATE_RUNNING))
            .ok());
  }
  Store& store = Open();
  absl::StatusOr<std::vector<HostRecord>> hosts = store.ListHosts();
  ASSERT_TRUE(hosts.ok());
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_EQ((*hosts)[0].facts.cpus(), 4u);
  EXPECT_TRUE((*hosts)[0].drained);
  EXPECT_EQ((*hosts)[0].last_seen, absl::FromUnixSeconds(100));
  EXPECT_THAT(*store.ListClusters(), ElementsAre("hdfs", "kafka"));
  absl::StatusOr<AppliedCluster> kafka = store.GetCluster("kafka");
  ASSERT_TRUE(kafka.ok());
  EXPECT_EQ(kafka->placement.SerializeAsString(),
            MakeCluster("kafka", 1, {{"broker", 3}}).placement.SerializeAsString());
  EXPECT_EQ(store.AllocatedIps()->size(), 4u);
  EXPECT_THAT(Keys(*store.InstanceStatuses("kafka")), ElementsAre("broker2"));
  EXPECT_TRUE(*store.RunOnceCompleted("hdfs", "format1"));
}

TEST_F(StoreTest, SharesOneConnectionBetweenThreads) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"a", 8}})).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string name = absl::StrCat("a", 1 + (t * 2 + i % 2));
        EXPECT_TRUE(
            store.MarkInstance("demo", "h1", MakeStatus(name, bdcoord::v1::INSTANCE_STATE_RUNNING))
                .ok());
        EXPECT_TRUE(store.InstanceStatuses("demo").ok());
        EXPECT_TRUE(store.AllocatedIps().ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(store.InstanceStatuses("demo")->size(), 8u);
}

// Refusals: a file that is not ours is never changed.

TEST_F(StoreTest, RefusesAFileThatIsNotADatabase) {
  std::string garbage = "cluster: demo\nthis is a YAML file, not a database\n";
  while (garbage.size() < 8192) garbage += garbage;
  WriteFile(path_, garbage);
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.status().message(),
            absl::StrCat("store '", path_,
                         "' is not a bdcoord database: file is not a database; it is left as "
                         "it is"));
  EXPECT_EQ(ReadFile(path_), garbage);
  EXPECT_FALSE(std::filesystem::exists(path_ + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(path_ + "-journal"));
}

TEST_F(StoreTest, RefusesAnotherApplicationsDatabase) {
  {
    RawDb raw(path_);
    raw.Exec("CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('alice');");
  }
  const std::string before = ReadFile(path_);
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(),
              HasSubstr(absl::StrCat("store '", path_, "' is not a bdcoord database")));
  EXPECT_EQ(ReadFile(path_), before);

  // Also with our application_id but no schema_version table.
  {
    RawDb raw(path_);
    raw.Exec(absl::StrCat("PRAGMA application_id = ", kStoreApplicationId));
  }
  const std::string marked = ReadFile(path_);
  store = OpenSqliteStore(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("it has no schema_version table"));
  EXPECT_EQ(ReadFile(path_), marked);
}

TEST_F(StoreTest, RefusesANewerSchema) {
  Open();
  store_.reset();
  {
    RawDb raw(path_);
    raw.Exec(absl::StrCat("UPDATE schema_version SET version = ", kStoreSchemaVersion + 1));
    raw.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  const std::string before = ReadFile(path_);
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr(path_));
  EXPECT_THAT(
      store.status().message(),
      HasSubstr(absl::StrCat("its schema version ", kStoreSchemaVersion + 1,
                             " is newer than this build supports (", kStoreSchemaVersion, ")")));
  EXPECT_EQ(ReadFile(path_), before);
}

TEST_F(StoreTest, RefusesADamagedDatabase) {
  {
    Store& store = Open();
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(store.ApplyCluster(MakeCluster(absl::StrCat("c", i), i, {{"a", 10}})).ok());
    }
  }
  store_.reset();  // the last connection checkpoints the WAL into the file
  std::string bytes = ReadFile(path_);
  ASSERT_GE(bytes.size(), 4u * 4096);
  // Scribble over the second and third pages (page 1 holds the header and the schema).
  std::fill(bytes.begin() + 4096, bytes.begin() + 3 * 4096, '\x5a');
  WriteFile(path_, bytes);
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr(path_));
  EXPECT_THAT(store.status().message(), HasSubstr("damaged"));
  EXPECT_EQ(ReadFile(path_), bytes);
}

// Crash safety: a child applies clusters and marks statuses in a loop, writing one byte to a
// pipe after each committed operation ('A' apply, 'D' delete, 'M' mark); the parent reads a
// random number of bytes, kills the child with SIGKILL, reopens the file and checks it.

constexpr int kCrashClusters = 3;

// Operation k of the child acts on cluster k % kCrashClusters: it deletes it when k % 5 == 4,
// applies it (spec_yaml "seq: k") otherwise.
bool IsDelete(int k) { return k % 5 == 4; }

AppliedCluster CrashCluster(int k) {
  const int c = k % kCrashClusters;
  AppliedCluster cluster = MakeCluster(absl::StrCat("c", c), 10 + c,
                                       {{"svc", 1 + (k * 7) % 6}, {"job", 1 + k % 2, true}},
                                       /*ip_shift=*/k);
  cluster.spec_yaml = absl::StrCat("seq: ", k);
  return cluster;
}

[[noreturn]] void CrashChild(const std::string& path, int fd, int first) {
  auto say = [fd](char c) {
    if (write(fd, &c, 1) != 1) _exit(3);
  };
  absl::StatusOr<std::unique_ptr<Store>> opened = OpenSqliteStore(path);
  if (!opened.ok()) {
    say('E');
    _exit(2);
  }
  Store& store = **opened;
  for (int k = first; k < first + 100000; ++k) {
    const std::string name = absl::StrCat("c", k % kCrashClusters);
    if (IsDelete(k)) {
      absl::Status status = store.DeleteCluster(name);
      if (!status.ok() && status.code() != absl::StatusCode::kNotFound) {
        say('E');
        _exit(2);
      }
      say('D');
      continue;
    }
    const AppliedCluster cluster = CrashCluster(k);
    if (!store.ApplyCluster(cluster).ok()) {
      say('E');
      _exit(2);
    }
    say('A');
    int i = 0;
    for (const auto& instance : cluster.placement.instances()) {
      const auto state = static_cast<bdcoord::v1::InstanceState>(1 + (k + i++) % 5);
      if (!store.MarkInstance(name, "h1", MakeStatus(instance.name(), state)).ok()) {
        say('E');
        _exit(2);
      }
      say('M');
    }
  }
  _exit(0);
}

TEST_F(StoreTest, SurvivesSigkillAtAnyMoment) {
  std::random_device device;
  const unsigned seed = device();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937 rng(seed);
  int first = 0;  // the first operation of the next round
  for (int round = 0; round < 16; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    store_.reset();  // the child must not share a connection with the parent
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      CrashChild(path_, fds[1], first);
    }
    close(fds[1]);
    const int want = std::uniform_int_distribution<int>(1, 40)(rng);
    std::string seen;
    while (static_cast<int>(seen.size()) < want) {
      char c;
      const ssize_t n = read(fds[0], &c, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n != 1 || c == 'E') break;
      seen.push_back(c);
    }
    kill(pid, SIGKILL);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    close(fds[0]);
    ASSERT_EQ(static_cast<int>(seen.size()), want) << "the child failed: " << seen;
    ASSERT_TRUE(WIFSIGNALED(wstatus));

    // The last acknowledged operation on each cluster.
    std::map<int, int> last_op;  // cluster -> k
    int k = first;
    for (char c : seen) {
      if (c == 'A' || c == 'D') {
        last_op[k % kCrashClusters] = k;
        ++k;
      }
    }

    Store& store = Open();
    {
      RawDb raw(path_);
      EXPECT_EQ(raw.One("PRAGMA integrity_check"), "ok");
      EXPECT_THAT(raw.Column("PRAGMA foreign_key_check"), IsEmpty());
    }
    absl::StatusOr<std::vector<std::string>> names = store.ListClusters();
    ASSERT_TRUE(names.ok()) << names.status();
    std::set<std::string> ips;
    int max_seq = first - 1;
    for (int c = 0; c < kCrashClusters; ++c) {
      const std::string name = absl::StrCat("c", c);
      absl::StatusOr<AppliedCluster> cluster = store.GetCluster(name);
      if (!cluster.ok()) {
        // Deleted, by an acknowledged delete or by one the child made before it could say so.
        ASSERT_EQ(cluster.status().code(), absl::StatusCode::kNotFound) << cluster.status();
        continue;
      }
      int seq = -1;
      ASSERT_TRUE(absl::SimpleAtoi(absl::string_view(cluster->spec_yaml).substr(5), &seq))
          << cluster->spec_yaml;
      EXPECT_EQ(seq % kCrashClusters, c);
      max_seq = std::max(max_seq, seq);
      // Nothing acknowledged was lost.
      if (last_op.count(c)) {
        EXPECT_GE(seq, last_op[c]) << name;
        if (IsDelete(last_op[c])) {
          EXPECT_GT(seq, last_op[c]) << name;
        }
      }
      // The cluster is whole: the placement of that very spec, every instance of its services.
      int count = 0;
      for (const auto& service : cluster->spec.services()) count += service.count();
      EXPECT_EQ(cluster->placement.instances_size(), count) << name;
      EXPECT_EQ(cluster->placement.SerializeAsString(),
                CrashCluster(seq).placement.SerializeAsString())
          << name;
      absl::StatusOr<std::map<std::string, ReportedStatus>> statuses = store.InstanceStatuses(name);
      ASSERT_TRUE(statuses.ok()) << statuses.status();
      const std::vector<std::string> placed = Names(*cluster);
      for (const auto& [instance, status] : *statuses) {
        EXPECT_NE(std::find(placed.begin(), placed.end(), instance), placed.end()) << instance;
      }
      for (const auto& instance : cluster->placement.instances()) {
        EXPECT_TRUE(ips.insert(instance.ip()).second) << instance.ip();
      }
    }
    first = std::max(k, max_seq + 1);
  }
}

// MeteredStore: each operation of the store it wraps timed by name, real failures counted, the
// answers callers expect (not found, a taken IP) not.
TEST_F(StoreTest, MeteredStoreTimesEachOperationAndCountsOnlyRealFailures) {
  Store& sqlite = Open();
  prometheus::Registry registry;
  absl::Time now = absl::FromUnixSeconds(1700000000);
  // Every reading of the clock is 250 ms after the previous one: each operation takes 250 ms.
  MeteredStore store(sqlite, registry, [&now] { return now += absl::Milliseconds(250); });
  const std::string kDurations = "bdcoord_store_operation_duration_seconds";

  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"zk", 3}})).ok());
  absl::StatusOr<AppliedCluster> read = store.GetCluster("demo");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->placement.instances_size(), 3);  // the inner store's answer, passed on
  EXPECT_EQ(test_util::MetricValue(registry, kDurations, {{"operation", "apply_cluster"}}), 1);
  EXPECT_EQ(test_util::HistogramSum(registry, kDurations, {{"operation", "apply_cluster"}}), 0.25);
  EXPECT_EQ(test_util::MetricValue(registry, kDurations, {{"operation", "get_cluster"}}), 1);

  // Expected answers: an unknown cluster, another cluster's IP.
  EXPECT_TRUE(absl::IsNotFound(store.GetCluster("nope").status()));
  EXPECT_TRUE(absl::IsAlreadyExists(store.ApplyCluster(MakeCluster("other", 1, {{"zk", 1}}))));
  EXPECT_EQ(test_util::MetricValue(registry, kDurations, {{"operation", "get_cluster"}}), 2);
  EXPECT_EQ(test_util::MetricValue(registry, "bdcoord_store_errors_total",
                                   {{"operation", "get_cluster"}}),
            std::nullopt);
  EXPECT_EQ(test_util::MetricValue(registry, "bdcoord_store_errors_total",
                                   {{"operation", "apply_cluster"}}),
            std::nullopt);

  // A real failure: the hosts table gone under the store.
  RawDb(path_).Exec("DROP TABLE hosts");
  absl::StatusOr<std::vector<HostRecord>> hosts = store.ListHosts();
  ASSERT_FALSE(hosts.ok());
  EXPECT_THAT(hosts.status().message(), HasSubstr("hosts"));
  EXPECT_EQ(
      test_util::MetricValue(registry, "bdcoord_store_errors_total", {{"operation", "list_hosts"}}),
      1);
  EXPECT_EQ(test_util::MetricValue(registry, kDurations, {{"operation", "list_hosts"}}), 1);
}

}  // namespace
}  // namespace bdcoord::coordinator
