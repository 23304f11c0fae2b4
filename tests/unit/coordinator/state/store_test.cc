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
#include "tests/unit/coordinator/state/store_contract.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

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

// The contract (store_contract.cc) on SQLite: a database in a fresh directory.
class SqliteBackend : public StoreBackend {
 public:
  SqliteBackend() {
    std::string pattern = ::testing::TempDir() + "store_contract.XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) dir_ = pattern;
  }
  ~SqliteBackend() override {
    std::error_code error;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, error);
  }
  absl::StatusOr<std::unique_ptr<Store>> Open() override {
    return OpenSqliteStore(dir_ + "/state.db");
  }
  std::vector<std::string> Leftovers(const std::string& cluster) override {
    RawDb raw(dir_ + "/state.db");
    std::vector<std::string> rows;
    for (const char* table : {"clusters", "placements", "instance_states", "run_once_completions",
                              "shim_addresses", "rollouts"}) {
      const std::string count = raw.One(absl::StrCat(
          "SELECT count(*) FROM ", table, " WHERE ",
          std::string(table) == "clusters" ? "name" : "cluster", " = '", cluster, "'"));
      if (count != "0") rows.push_back(absl::StrCat(table, ": ", count, " rows"));
    }
    return rows;
  }

 private:
  std::string dir_;
};

INSTANTIATE_TEST_SUITE_P(
    Sqlite, StoreContractTest,
    ::testing::Values(StoreBackendParam{
        "Sqlite", [] { return std::unique_ptr<StoreBackend>(std::make_unique<SqliteBackend>()); }}),
    BackendName);

// What the contract cannot see: the columns kept beside the blobs, the first completion's record.
TEST_F(StoreTest, KeepsTheQueriedColumnsAndTheFirstCompletion) {
  Store& store = Open();
  ASSERT_TRUE(store.ApplyCluster(MakeCluster("demo", 1, {{"zk", 2}, {"format", 1, true}})).ok());
  bdcoord::v1::InstanceStatus running = MakeStatus("zk2", bdcoord::v1::INSTANCE_STATE_RUNNING);
  running.set_ready(true);
  ASSERT_TRUE(store.MarkInstance("demo", "h2", running).ok());
  for (const char* id : {"c0ffee", "x"}) {
    ASSERT_TRUE(store
                    .MarkInstance("demo", "h1",
                                  MakeStatus("format1", bdcoord::v1::INSTANCE_STATE_COMPLETED, id))
                    .ok());
  }
  RawDb raw(path_);
  EXPECT_EQ(raw.One("SELECT state || ' ' || ready || ' ' || container_id FROM instance_states "
                    "WHERE name = 'zk2'"),
            "3 1 c0ffee");
  EXPECT_EQ(raw.One("SELECT container_id FROM run_once_completions"), "c0ffee");
}

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

// A drain is one transaction: the host's flag and every re-planned cluster, or nothing.
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

// A host's report is one transaction: every status recorded, or none of them.
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
