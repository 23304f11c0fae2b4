#include "coordinator/state/store_sqlite.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/state/store_checks.h"
#include "google/protobuf/message_lite.h"
#include "spdlog/spdlog.h"

namespace bdcoord::coordinator {
namespace {

using store_internal::CheckedFacts;
using store_internal::CheckedSpec;
using store_internal::ClusterNotFound;
using store_internal::Quoted;

std::shared_ptr<spdlog::logger> Logger() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto existing = spdlog::get("store");
    return existing ? existing : spdlog::default_logger()->clone("store");
  }();
  return logger;
}

constexpr int kBusyTimeoutMs = 10000;

// Schema version 1. Protos are stored serialized (the `spec`, `facts` and `status` blobs are
// authoritative); what is queried has a column of its own. Times are Unix microseconds.
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE schema_version (
  version INTEGER NOT NULL
);
CREATE TABLE hosts (
  name TEXT NOT NULL PRIMARY KEY,
  facts BLOB NOT NULL,                 -- bdcoord.v1.HostFacts
  last_seen_us INTEGER NOT NULL,
  drained INTEGER NOT NULL DEFAULT 0 CHECK (drained IN (0, 1))
);
CREATE TABLE clusters (
  name TEXT NOT NULL PRIMARY KEY,
  spec_file TEXT NOT NULL,
  spec_yaml TEXT NOT NULL,
  spec BLOB NOT NULL,                  -- bdcoord.v1.ClusterSpec
  applied_at_us INTEGER NOT NULL
);
CREATE TABLE placements (
  cluster TEXT NOT NULL REFERENCES clusters (name) ON DELETE CASCADE,
  name TEXT NOT NULL,
  position INTEGER NOT NULL,           -- order in the placement
  service TEXT NOT NULL,
  idx INTEGER NOT NULL,
  host TEXT NOT NULL,
  ip TEXT UNIQUE,                      -- one owner across all clusters; NULL when none
  network TEXT NOT NULL,
  fqdn TEXT NOT NULL,
  PRIMARY KEY (cluster, name)
);
CREATE INDEX placements_by_host ON placements (host);
CREATE TABLE instance_states (
  cluster TEXT NOT NULL REFERENCES clusters (name) ON DELETE CASCADE,
  name TEXT NOT NULL,
  state INTEGER NOT NULL,              -- bdcoord.v1.InstanceState
  ready INTEGER NOT NULL,
  container_id TEXT NOT NULL,
  status BLOB NOT NULL,                -- bdcoord.v1.InstanceStatus, the latest
  PRIMARY KEY (cluster, name)
);
CREATE TABLE run_once_completions (
  cluster TEXT NOT NULL REFERENCES clusters (name) ON DELETE CASCADE,
  name TEXT NOT NULL,
  container_id TEXT NOT NULL,
  status BLOB NOT NULL,                -- the first COMPLETED bdcoord.v1.InstanceStatus
  PRIMARY KEY (cluster, name)
);
INSERT INTO schema_version (version) VALUES (1);
)sql";

// Version 2 adds the hosts' shim addresses (host_shim networks). A version 1 database is
// upgraded when it is opened; a new one is made as version 1 and upgraded in the same
// transaction, so every upgrade script runs on every database.
constexpr char kSchemaV2[] = R"sql(
CREATE TABLE shim_addresses (
  cluster TEXT NOT NULL REFERENCES clusters (name) ON DELETE CASCADE,
  network TEXT NOT NULL,
  host TEXT NOT NULL,
  position INTEGER NOT NULL,           -- order in the placement
  address TEXT NOT NULL,
  PRIMARY KEY (cluster, network, host)
);
UPDATE schema_version SET version = 2;
)sql";

// Version 3 adds each cluster's rolling update and the spec applied before its current one (what
// `rollout undo` brings back).
constexpr char kSchemaV3[] = R"sql(
CREATE TABLE rollouts (
  cluster TEXT NOT NULL PRIMARY KEY REFERENCES clusters (name) ON DELETE CASCADE,
  revision INTEGER NOT NULL,           -- Rollout.revision: writes made against an older one fail
  rollout BLOB NOT NULL,               -- bdcoord.v1.Rollout
  previous_spec_file TEXT NOT NULL,
  previous_spec_yaml TEXT NOT NULL,    -- empty: no previous spec
  previous_spec BLOB NOT NULL          -- bdcoord.v1.ClusterSpec
);
UPDATE schema_version SET version = 3;
)sql";

// Version 4 records which host reported each instance's status: after a move only the new
// host's counts (StatusesOnPlacement). A status stored before is taken as its placed host's, as
// the coordinator took reports only from there.
constexpr char kSchemaV4[] = R"sql(
ALTER TABLE instance_states ADD COLUMN host TEXT NOT NULL DEFAULT '';
UPDATE instance_states SET host = COALESCE((SELECT p.host FROM placements p
  WHERE p.cluster = instance_states.cluster AND p.name = instance_states.name), '');
UPDATE schema_version SET version = 4;
)sql";

// The upgrade scripts in order: script i brings version i + 1 to i + 2.
constexpr const char* kUpgrades[] = {kSchemaV2, kSchemaV3, kSchemaV4};

absl::StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
      return absl::StatusCode::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    case SQLITE_FULL:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return absl::StatusCode::kPermissionDenied;
    case SQLITE_CONSTRAINT:
      return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY
                 ? absl::StatusCode::kAlreadyExists
                 : absl::StatusCode::kFailedPrecondition;
    default:
      return absl::StatusCode::kInternal;
  }
}

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  ~SqliteStore() override;

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Checks the file, creates the schema when it is empty, sets the journal mode.
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
  // One use of a cached prepared statement: bind, step, read columns; reset when it goes.
  class Query {
   public:
    Query(SqliteStore* store, sqlite3_stmt* stmt) : store_(store), stmt_(stmt) {}
    Query(Query&& other) noexcept
        : store_(other.store_), stmt_(std::exchange(other.stmt_, nullptr)), rc_(other.rc_) {}
    Query& operator=(Query&&) = delete;
    ~Query() {
      if (stmt_ != nullptr) {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
      }
    }

    Query& Text(int i, const std::string& value) {
      return Check(sqlite3_bind_text(stmt_, i, value.data(), static_cast<int>(value.size()),
                                     SQLITE_TRANSIENT));
    }
    Query& Blob(int i, const std::string& value) {
      return Check(sqlite3_bind_blob(stmt_, i, value.data(), static_cast<int>(value.size()),
                                     SQLITE_TRANSIENT));
    }
    Query& Int(int i, int64_t value) { return Check(sqlite3_bind_int64(stmt_, i, value)); }
    Query& Null(int i) { return Check(sqlite3_bind_null(stmt_, i)); }

    // True when a row is there to read, false at the end.
    absl::StatusOr<bool> Next() ABSL_EXCLUSIVE_LOCKS_REQUIRED(store_->mu_) {
      if (rc_ != SQLITE_OK) return store_->SqlError(rc_);
      const int rc = sqlite3_step(stmt_);
      if (rc == SQLITE_ROW) return true;
      if (rc == SQLITE_DONE) return false;
      return store_->SqlError(rc);
    }
    // Steps over every row, calling `read()` on each to read its columns. `read` returns void,
    // or a Status that stops the loop when it is not OK.
    template <typename Read>
    absl::Status ForEachRow(Read&& read) ABSL_EXCLUSIVE_LOCKS_REQUIRED(store_->mu_) {
      for (;;) {
        absl::StatusOr<bool> row = Next();
        if (!row.ok()) return row.status();
        if (!*row) return absl::OkStatus();
        if constexpr (std::is_void_v<std::invoke_result_t<Read>>) {
          read();
        } else if (absl::Status status = read(); !status.ok()) {
          return status;
        }
      }
    }
    // Steps to the end; the number of rows changed.
    absl::StatusOr<int> Run() ABSL_EXCLUSIVE_LOCKS_REQUIRED(store_->mu_) {
      if (absl::Status status = ForEachRow([] {}); !status.ok()) return status;
      return sqlite3_changes(store_->db_);
    }

    bool IsNull(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
    int64_t IntAt(int col) { return sqlite3_column_int64(stmt_, col); }
    std::string TextAt(int col) {
      const unsigned char* text = sqlite3_column_text(stmt_, col);
      if (text == nullptr) return "";
      return std::string(reinterpret_cast<const char*>(text),
                         static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
    }
    bool ParseAt(int col, google::protobuf::MessageLite* message) {
      const void* blob = sqlite3_column_blob(stmt_, col);
      const int size = sqlite3_column_bytes(stmt_, col);
      return message->ParseFromArray(blob, size);
    }

   private:
    Query& Check(int rc) {
      if (rc_ == SQLITE_OK) rc_ = rc;
      return *this;
    }

    SqliteStore* store_;
    sqlite3_stmt* stmt_;
    int rc_ = SQLITE_OK;  // the first binding error
  };

  // "store 'PATH': OPERATION: SQLite's message".
  absl::Status SqlError(int rc) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    last_error_ = rc;
    const absl::string_view message = sqlite3_errmsg(db_);
    const absl::string_view generic = sqlite3_errstr(rc);
    return absl::Status(CodeFor(rc),
                        absl::StrCat("store ", Quoted(path_), ": ", op_, ": ", message,
                                     message == generic ? "" : absl::StrCat(" (", generic, ")")));
  }
  absl::Status Damaged(absl::string_view what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return absl::DataLossError(absl::StrCat("store ", Quoted(path_), ": ", op_, ": ", what));
  }

  absl::StatusOr<Query> Sql(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Exec(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `body` in one transaction (BEGIN IMMEDIATE when it writes); commits when it returns OK,
  // rolls back otherwise.
  template <typename Body>
  absl::Status Transaction(std::string op, bool write, Body&& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<bool> ClusterExists(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The steps that operations share, each inside the caller's transaction.
  absl::Status AdmitHostStep(const std::string& name, const std::string& facts, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SetHostDrainedStep(const std::string& name, bool drained)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ApplyClusterStep(const AppliedCluster& cluster, const std::string& spec)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The cause when the file is not a bdcoord database, empty when it is one (then `*version` is
  // its schema version).
  absl::StatusOr<std::string> Foreign(int64_t* version) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CreateSchema() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs a script of several statements (the schema's).
  absl::Status ExecScript(const char* sql, const char* what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The schema version of a database that Foreign() accepted.
  absl::StatusOr<int64_t> SchemaVersion() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  absl::Mutex mu_;
  sqlite3* const db_ ABSL_PT_GUARDED_BY(mu_);
  std::string op_ ABSL_GUARDED_BY(mu_);              // the operation running, for error messages
  int last_error_ ABSL_GUARDED_BY(mu_) = SQLITE_OK;  // the last SQLite error reported
  std::map<std::string, sqlite3_stmt*> statements_ ABSL_GUARDED_BY(mu_);
};

#define STORE_RETURN_IF_ERROR(expr)    \
  do {                                 \
    absl::Status status_ = (expr);     \
    if (!status_.ok()) return status_; \
  } while (false)

SqliteStore::~SqliteStore() {
  absl::MutexLock lock(&mu_);
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  statements_.clear();
  const int rc = sqlite3_close_v2(db_);
  if (rc != SQLITE_OK) {
    Logger()->error("closing store '{}': {}", path_, sqlite3_errstr(rc));
  }
}

absl::StatusOr<SqliteStore::Query> SqliteStore::Sql(const char* sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqlError(rc);
    it = statements_.emplace(sql, stmt).first;
  }
  return Query(this, it->second);
}

absl::Status SqliteStore::Exec(const char* sql) {
  absl::StatusOr<Query> query = Sql(sql);
  if (!query.ok()) return query.status();
  return query->Run().status();
}

template <typename Body>
absl::Status SqliteStore::Transaction(std::string op, bool write, Body&& body) {
  op_ = std::move(op);
  absl::Status status = Exec(write ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!status.ok()) return status;
  status = body();
  if (status.ok()) status = Exec("COMMIT");
  if (!status.ok() && sqlite3_get_autocommit(db_) == 0) {
    const absl::Status rollback = Exec("ROLLBACK");
    if (!rollback.ok()) Logger()->error("{}", std::string(rollback.message()));
  }
  return status;
}

absl::StatusOr<bool> SqliteStore::ClusterExists(const std::string& name) {
  absl::StatusOr<Query> query = Sql("SELECT 1 FROM clusters WHERE name = ?1");
  if (!query.ok()) return query.status();
  query->Text(1, name);
  return query->Next();
}

absl::StatusOr<std::string> SqliteStore::Foreign(int64_t* version) {
  int64_t application_id = 0;
  {
    absl::StatusOr<Query> query = Sql("PRAGMA application_id");
    if (!query.ok()) return query.status();
    absl::StatusOr<bool> row = query->Next();
    if (!row.ok()) return row.status();
    if (*row) application_id = query->IntAt(0);
  }
  if (application_id != kStoreApplicationId) {
    return absl::StrCat("its application_id is ", application_id, ", not ", kStoreApplicationId);
  }
  {
    absl::StatusOr<Query> query =
        Sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
    if (!query.ok()) return query.status();
    absl::StatusOr<bool> row = query->Next();
    if (!row.ok()) return row.status();
    if (!*row) return std::string("it has no schema_version table");
  }
  std::vector<int64_t> versions;
  {
    absl::StatusOr<Query> query = Sql("SELECT version FROM schema_version");
    if (!query.ok()) return query.status();
    STORE_RETURN_IF_ERROR(query->ForEachRow([&] { versions.push_back(query->IntAt(0)); }));
  }
  if (versions.size() != 1) {
    return absl::StrCat("its schema_version table has ", versions.size(), " rows, not 1");
  }
  if (versions[0] > kStoreSchemaVersion) {
    return absl::StrCat("its schema version ", versions[0], " is newer than this build supports (",
                        kStoreSchemaVersion, ")");
  }
  if (versions[0] < 1) return absl::StrCat("its schema version ", versions[0], " is unknown");
  *version = versions[0];
  return std::string();
}

absl::Status SqliteStore::ExecScript(const char* sql, const char* what) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    last_error_ = rc;
    absl::Status status =
        absl::Status(CodeFor(rc), absl::StrCat("store ", Quoted(path_), ": ", what, ": ",
                                               error != nullptr ? error : sqlite3_errstr(rc)));
    sqlite3_free(error);
    return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SqliteStore::SchemaVersion() {
  absl::StatusOr<Query> query = Sql("SELECT version FROM schema_version");
  if (!query.ok()) return query.status();
  absl::StatusOr<bool> row = query->Next();
  if (!row.ok()) return row.status();
  if (!*row) return Damaged("its schema_version table is empty");
  return query->IntAt(0);
}

absl::Status SqliteStore::CreateSchema() {
  STORE_RETURN_IF_ERROR(ExecScript(kSchemaV1, "creating the schema"));
  for (const char* upgrade : kUpgrades) {
    STORE_RETURN_IF_ERROR(ExecScript(upgrade, "creating the schema"));
  }
  // PRAGMA takes no parameters; the value is a constant.
  const std::string pragma = absl::StrCat("PRAGMA application_id = ", kStoreApplicationId);
  return Exec(pragma.c_str());
}

absl::Status SqliteStore::Init() {
  absl::MutexLock lock(&mu_);
  op_ = "open";
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  // Look before writing anything: a file that is not ours, or is damaged, is never changed.
  auto foreign = [this](absl::string_view why) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store ", Quoted(path_), " is not a bdcoord database: ", why, "; it is left as it is"));
  };
  auto unusable = [this, &foreign](const absl::Status& status)
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    switch (last_error_ & 0xff) {
      case SQLITE_NOTADB:
        return foreign(sqlite3_errstr(last_error_));
      case SQLITE_CORRUPT:
        return absl::DataLossError(
            absl::StrCat(status.message(), "; the database is damaged, it is left as it is"));
      default:
        return status;
    }
  };
  int64_t objects = 0;
  int64_t application_id = 0;
  {
    absl::StatusOr<Query> query =
        Sql("SELECT (SELECT count(*) FROM sqlite_master), (SELECT application_id FROM "
            "pragma_application_id)");
    absl::StatusOr<bool> row = query.ok() ? query->Next() : query.status();
    if (!row.ok()) return unusable(row.status());
    if (*row) {
      objects = query->IntAt(0);
      application_id = query->IntAt(1);
    }
  }
  // Settings of the connection (after the look: preparing any statement reads the file).
  STORE_RETURN_IF_ERROR(Exec("PRAGMA foreign_keys = ON"));
  STORE_RETURN_IF_ERROR(Exec("PRAGMA synchronous = FULL"));

  bool created = false;
  if (objects == 0 && (application_id == 0 || application_id == kStoreApplicationId)) {
    // Empty: create the schema (unless another process did it first).
    STORE_RETURN_IF_ERROR(Transaction(
        "create schema", /*write=*/true, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
          absl::StatusOr<Query> query = Sql("SELECT count(*) FROM sqlite_master");
          if (!query.ok()) return query.status();
          absl::StatusOr<bool> row = query->Next();
          if (!row.ok()) return row.status();
          if (query->IntAt(0) != 0) return absl::OkStatus();
          created = true;
          return CreateSchema();
        }));
    op_ = "open";
  }
  int64_t version = 0;
  absl::StatusOr<std::string> why = Foreign(&version);
  if (!why.ok()) return unusable(why.status());
  if (!why->empty()) return foreign(*why);

  if (!created) {
    std::vector<std::string> problems;
    absl::StatusOr<Query> query = Sql("PRAGMA quick_check(10)");
    if (!query.ok()) return unusable(query.status());
    absl::Status checked = query->ForEachRow([&] {
      std::string line = query->TextAt(0);
      if (line != "ok") problems.push_back(std::move(line));
    });
    if (!checked.ok()) return unusable(checked);
    if (!problems.empty()) {
      return Damaged(absl::StrCat("the database is damaged (quick_check: ",
                                  absl::StrJoin(problems, "; "), "); it is left as it is"));
    }
  }

  // Upgrades (after the checks: a damaged or foreign file is never changed). Only they take the
  // write lock, and they read the version again under it: another process may have upgraded
  // since.
  if (version < kStoreSchemaVersion) {
    STORE_RETURN_IF_ERROR(Transaction(
        "upgrade schema", /*write=*/true, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
          absl::StatusOr<int64_t> locked_version = SchemaVersion();
          if (!locked_version.ok()) return locked_version.status();
          for (int64_t from = *locked_version; from < kStoreSchemaVersion; ++from) {
            Logger()->info("store '{}': upgrading schema version {} to {}", path_, from, from + 1);
            const std::string what = absl::StrCat("upgrading the schema to version ", from + 1);
            STORE_RETURN_IF_ERROR(ExecScript(kUpgrades[from - 1], what.c_str()));
          }
          return absl::OkStatus();
        }));
    op_ = "open";
  }
  {
    absl::StatusOr<Query> query = Sql("PRAGMA journal_mode = WAL");
    if (!query.ok()) return query.status();
    absl::StatusOr<bool> row = query->Next();
    if (!row.ok()) return row.status();
    const std::string mode = *row ? query->TextAt(0) : "";
    if (mode != "wal") {
      Logger()->warn("store '{}': journal mode is '{}', not 'wal'", path_, mode);
    }
  }
  Logger()->info("{} store '{}' (schema version {})", created ? "created" : "opened", path_,
                 kStoreSchemaVersion);
  return absl::OkStatus();
}

// Hosts.

absl::Status SqliteStore::AdmitHost(const std::string& name, const bdcoord::v1::HostFacts& facts,
                                    absl::Time now) {
  absl::StatusOr<std::string> bytes = CheckedFacts(name, facts);
  if (!bytes.ok()) return bytes.status();
  absl::MutexLock lock(&mu_);
  return Transaction(
      absl::StrCat("AdmitHost ", Quoted(name)), /*write=*/true,
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return AdmitHostStep(name, *bytes, now); });
}

absl::Status SqliteStore::AdmitHostStep(const std::string& name, const std::string& facts,
                                        absl::Time now) {
  absl::StatusOr<Query> query =
      Sql("INSERT INTO hosts (name, facts, last_seen_us, drained) "
          "VALUES (?1, ?2, ?3, 0) ON CONFLICT (name) DO UPDATE SET "
          "facts = excluded.facts, last_seen_us = excluded.last_seen_us");
  if (!query.ok()) return query.status();
  query->Text(1, name).Blob(2, facts).Int(3, absl::ToUnixMicros(now));
  return query->Run().status();
}

absl::Status SqliteStore::MarkHostSeen(const std::string& name, absl::Time now) {
  absl::MutexLock lock(&mu_);
  return Transaction(
      absl::StrCat("MarkHostSeen ", Quoted(name)), /*write=*/true,
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
        absl::StatusOr<Query> query = Sql("UPDATE hosts SET last_seen_us = ?2 WHERE name = ?1");
        if (!query.ok()) return query.status();
        query->Text(1, name).Int(2, absl::ToUnixMicros(now));
        absl::StatusOr<int> changed = query->Run();
        if (!changed.ok()) return changed.status();
        if (*changed == 0)
          return absl::NotFoundError(absl::StrCat("host ", Quoted(name), " not found"));
        return absl::OkStatus();
      });
}

absl::Status SqliteStore::SetHostDrained(const std::string& name, bool drained) {
  absl::MutexLock lock(&mu_);
  return Transaction(
      absl::StrCat("SetHostDrained ", Quoted(name)), /*write=*/true,
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return SetHostDrainedStep(name, drained); });
}

absl::Status SqliteStore::SetHostDrainedStep(const std::string& name, bool drained) {
  absl::StatusOr<Query> query = Sql("UPDATE hosts SET drained = ?2 WHERE name = ?1");
  if (!query.ok()) return query.status();
  query->Text(1, name).Int(2, drained ? 1 : 0);
  absl::StatusOr<int> changed = query->Run();
  if (!changed.ok()) return changed.status();
  if (*changed == 0) return absl::NotFoundError(absl::StrCat("host ", Quoted(name), " not found"));
  return absl::OkStatus();
}

absl::Status SqliteStore::DrainHost(const std::string& name, const bdcoord::v1::HostFacts& facts,
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
  absl::Status status =
      Transaction(absl::StrCat("DrainHost ", Quoted(name)), /*write=*/true,
                  [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
                    STORE_RETURN_IF_ERROR(AdmitHostStep(name, *bytes, now));
                    STORE_RETURN_IF_ERROR(SetHostDrainedStep(name, drained));
                    for (size_t i = 0; i < replanned.size(); ++i) {
                      STORE_RETURN_IF_ERROR(ApplyClusterStep(replanned[i], specs[i]));
                    }
                    return absl::OkStatus();
                  });
  if (status.ok()) {
    Logger()->info("{} host '{}' ({} clusters re-planned)", drained ? "drained" : "undrained", name,
                   replanned.size());
  }
  return status;
}

absl::StatusOr<std::vector<HostRecord>> SqliteStore::ListHosts() {
  absl::MutexLock lock(&mu_);
  std::vector<HostRecord> hosts;
  STORE_RETURN_IF_ERROR(Transaction(
      "ListHosts", /*write=*/false, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
        absl::StatusOr<Query> query =
            Sql("SELECT name, facts, last_seen_us, drained FROM hosts ORDER BY name");
        if (!query.ok()) return query.status();
        return query->ForEachRow([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
          HostRecord& host = hosts.emplace_back();
          host.name = query->TextAt(0);
          if (!query->ParseAt(1, &host.facts)) {
            return Damaged(absl::StrCat("the facts of host ", Quoted(host.name), " do not parse"));
          }
          host.last_seen = absl::FromUnixMicros(query->IntAt(2));
          host.drained = query->IntAt(3) != 0;
          return absl::OkStatus();
        });
      }));
  return hosts;
}

// Clusters.

absl::Status SqliteStore::ApplyCluster(const AppliedCluster& cluster) {
  absl::StatusOr<std::string> spec = CheckedSpec(cluster);
  if (!spec.ok()) return spec.status();
  absl::MutexLock lock(&mu_);
  absl::Status status = Transaction(
      absl::StrCat("ApplyCluster ", Quoted(cluster.name)), /*write=*/true,
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ApplyClusterStep(cluster, *spec); });
  if (status.ok()) {
    Logger()->info("applied cluster '{}' ({} instances)", cluster.name,
                   cluster.placement.instances_size());
  }
  return status;
}

absl::Status SqliteStore::ApplyClusterStep(const AppliedCluster& cluster, const std::string& spec) {
  const std::string& name = cluster.name;
  // The UNIQUE constraint on placements.ip is the safety net; this gives the message.
  for (const bdcoord::v1::PlacedInstance& instance : cluster.placement.instances()) {
    if (instance.ip().empty()) continue;
    absl::StatusOr<Query> query =
        Sql("SELECT cluster, name FROM placements WHERE ip = ?1 AND cluster <> ?2");
    if (!query.ok()) return query.status();
    query->Text(1, instance.ip()).Text(2, name);
    absl::StatusOr<bool> row = query->Next();
    if (!row.ok()) return row.status();
    if (*row) {
      return absl::AlreadyExistsError(
          absl::StrCat("IP ", instance.ip(), " of instance ", Quoted(instance.name()),
                       " of cluster ", Quoted(name), " is already allocated to instance ",
                       Quoted(query->TextAt(1)), " of cluster ", Quoted(query->TextAt(0))));
    }
  }
  {
    // An upsert, not INSERT OR REPLACE: replacing the row would cascade to its children.
    absl::StatusOr<Query> query =
        Sql("INSERT INTO clusters (name, spec_file, spec_yaml, spec, applied_at_us) "
            "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO UPDATE SET "
            "spec_file = excluded.spec_file, spec_yaml = excluded.spec_yaml, "
            "spec = excluded.spec, applied_at_us = excluded.applied_at_us");
    if (!query.ok()) return query.status();
    query->Text(1, name)
        .Text(2, cluster.spec_file)
        .Text(3, cluster.spec_yaml)
        .Blob(4, spec)
        .Int(5, absl::ToUnixMicros(cluster.applied_at));
    STORE_RETURN_IF_ERROR(query->Run().status());
  }
  {
    // All of them first: instances of this cluster may swap IPs.
    absl::StatusOr<Query> query = Sql("DELETE FROM placements WHERE cluster = ?1");
    if (!query.ok()) return query.status();
    query->Text(1, name);
    STORE_RETURN_IF_ERROR(query->Run().status());
  }
  int position = 0;
  for (const bdcoord::v1::PlacedInstance& instance : cluster.placement.instances()) {
    absl::StatusOr<Query> query =
        Sql("INSERT INTO placements (cluster, name, position, service, idx, host, ip, "
            "network, fqdn) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!query.ok()) return query.status();
    query->Text(1, name)
        .Text(2, instance.name())
        .Int(3, position++)
        .Text(4, instance.service())
        .Int(5, instance.index())
        .Text(6, instance.host())
        .Text(8, instance.network())
        .Text(9, instance.fqdn());
    if (instance.ip().empty()) {
      query->Null(7);
    } else {
      query->Text(7, instance.ip());
    }
    STORE_RETURN_IF_ERROR(query->Run().status());
  }
  {
    absl::StatusOr<Query> query = Sql("DELETE FROM shim_addresses WHERE cluster = ?1");
    if (!query.ok()) return query.status();
    query->Text(1, name);
    STORE_RETURN_IF_ERROR(query->Run().status());
  }
  position = 0;
  for (const bdcoord::v1::ShimAddress& shim : cluster.placement.shims()) {
    absl::StatusOr<Query> query =
        Sql("INSERT INTO shim_addresses (cluster, network, host, position, address) "
            "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!query.ok()) return query.status();
    query->Text(1, name)
        .Text(2, shim.network())
        .Text(3, shim.host())
        .Int(4, position++)
        .Text(5, shim.address());
    STORE_RETURN_IF_ERROR(query->Run().status());
  }
  {
    absl::StatusOr<Query> query =
        Sql("INSERT INTO rollouts (cluster, revision, rollout, previous_spec_file, "
            "previous_spec_yaml, previous_spec) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
            "ON CONFLICT (cluster) DO UPDATE SET revision = excluded.revision, "
            "rollout = excluded.rollout, previous_spec_file = excluded.previous_spec_file, "
            "previous_spec_yaml = excluded.previous_spec_yaml, "
            "previous_spec = excluded.previous_spec");
    if (!query.ok()) return query.status();
    query->Text(1, name)
        .Int(2, static_cast<int64_t>(cluster.rollout.revision()))
        .Blob(3, cluster.rollout.SerializeAsString())
        .Text(4, cluster.previous_spec_file)
        .Text(5, cluster.previous_spec_yaml)
        .Blob(6, cluster.previous_spec.SerializeAsString());
    STORE_RETURN_IF_ERROR(query->Run().status());
  }
  {
    absl::StatusOr<Query> query =
        Sql("DELETE FROM instance_states WHERE cluster = ?1 AND name NOT IN "
            "(SELECT name FROM placements WHERE cluster = ?1)");
    if (!query.ok()) return query.status();
    query->Text(1, name);
    STORE_RETURN_IF_ERROR(query->Run().status());
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::UpdateRollout(const std::string& cluster,
                                        const bdcoord::v1::Rollout& rollout) {
  absl::MutexLock lock(&mu_);
  return Transaction(
      absl::StrCat("UpdateRollout ", Quoted(cluster)), /*write=*/true,
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
        absl::StatusOr<Query> query =
            Sql("SELECT (SELECT revision FROM rollouts WHERE cluster = ?1), "
                "EXISTS (SELECT 1 FROM clusters WHERE name = ?1)");
        if (!query.ok()) return query.status();
        query->Text(1, cluster);
        absl::StatusOr<bool> row = query->Next();
        if (!row.ok()) return row.status();
        if (!*row || query->IntAt(1) == 0) return ClusterNotFound(cluster);
        const int64_t stored = query->IntAt(0);
        if (stored != static_cast<int64_t>(rollout.revision())) {
          return absl::AbortedError(absl::StrCat(
              "the rollout of cluster ", Quoted(cluster), " changed meanwhile (revision ", stored,
              ", this change was made against ", rollout.revision(), ")"));
        }
        bdcoord::v1::Rollout next = rollout;
        next.set_revision(rollout.revision() + 1);
        absl::StatusOr<Query> update =
            Sql("UPDATE rollouts SET revision = ?2, rollout = ?3 WHERE cluster = ?1");
        if (!update.ok()) return update.status();
        update->Text(1, cluster)
            .Int(2, static_cast<int64_t>(next.revision()))
            .Blob(3, next.SerializeAsString());
        return update->Run().status();
      });
}

absl::StatusOr<AppliedCluster> SqliteStore::GetCluster(const std::string& name) {
  absl::MutexLock lock(&mu_);
  AppliedCluster cluster;
  STORE_RETURN_IF_ERROR(Transaction(
      absl::StrCat("GetCluster ", Quoted(name)), /*write=*/false,
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
        {
          absl::StatusOr<Query> query =
              Sql("SELECT spec_file, spec_yaml, spec, applied_at_us FROM clusters "
                  "WHERE name = ?1");
          if (!query.ok()) return query.status();
          query->Text(1, name);
          absl::StatusOr<bool> row = query->Next();
          if (!row.ok()) return row.status();
          if (!*row) return ClusterNotFound(name);
          cluster.name = name;
          cluster.spec_file = query->TextAt(0);
          cluster.spec_yaml = query->TextAt(1);
          if (!query->ParseAt(2, &cluster.spec)) {
            return Damaged(absl::StrCat("the spec of cluster ", Quoted(name), " does not parse"));
          }
          cluster.applied_at = absl::FromUnixMicros(query->IntAt(3));
        }
        cluster.placement.set_cluster(name);
        {
          absl::StatusOr<Query> query =
              Sql("SELECT name, service, idx, host, ip, network, fqdn FROM placements "
                  "WHERE cluster = ?1 ORDER BY position");
          if (!query.ok()) return query.status();
          query->Text(1, name);
          STORE_RETURN_IF_ERROR(query->ForEachRow([&] {
            bdcoord::v1::PlacedInstance* instance = cluster.placement.add_instances();
            instance->set_name(query->TextAt(0));
            instance->set_service(query->TextAt(1));
            instance->set_index(static_cast<uint32_t>(query->IntAt(2)));
            instance->set_host(query->TextAt(3));
            instance->set_ip(query->TextAt(4));
            instance->set_network(query->TextAt(5));
            instance->set_fqdn(query->TextAt(6));
          }));
        }
        {
          absl::StatusOr<Query> query =
              Sql("SELECT network, host, address FROM shim_addresses WHERE cluster = ?1 "
                  "ORDER BY position");
          if (!query.ok()) return query.status();
          query->Text(1, name);
          STORE_RETURN_IF_ERROR(query->ForEachRow([&] {
            bdcoord::v1::ShimAddress* shim = cluster.placement.add_shims();
            shim->set_network(query->TextAt(0));
            shim->set_host(query->TextAt(1));
            shim->set_address(query->TextAt(2));
          }));
        }
        absl::StatusOr<Query> query =
            Sql("SELECT rollout, previous_spec_file, previous_spec_yaml, previous_spec "
                "FROM rollouts WHERE cluster = ?1");
        if (!query.ok()) return query.status();
        query->Text(1, name);
        absl::StatusOr<bool> row = query->Next();
        if (!row.ok()) return row.status();
        if (!*row) return absl::OkStatus();  // applied before version 3: no rollout yet
        cluster.previous_spec_file = query->TextAt(1);
        cluster.previous_spec_yaml = query->TextAt(2);
        if (!query->ParseAt(0, &cluster.rollout) || !query->ParseAt(3, &cluster.previous_spec)) {
          return Damaged(absl::StrCat("the rollout of cluster ", Quoted(name), " does not parse"));
        }
        return absl::OkStatus();
      }));
  return cluster;
}

absl::StatusOr<std::vector<std::string>> SqliteStore::ListClusters() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  STORE_RETURN_IF_ERROR(Transaction(
      "ListClusters", /*write=*/false, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
        absl::StatusOr<Query> query = Sql("SELECT name FROM clusters ORDER BY name");
        if (!query.ok()) return query.status();
        return query->ForEachRow([&] { names.push_back(query->TextAt(0)); });
      }));
  return names;
}

absl::Status SqliteStore::DeleteCluster(const std::string& name) {
  absl::MutexLock lock(&mu_);
  absl::Status status =
      Transaction(absl::StrCat("DeleteCluster ", Quoted(name)), /*write=*/true,
                  [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
                    // The foreign keys cascade; the children go first anyway, so nothing depends on
                    // it.
                    for (const char* sql : {"DELETE FROM rollouts WHERE cluster = ?1",
                                            "DELETE FROM run_once_completions WHERE cluster = ?1",
                                            "DELETE FROM instance_states WHERE cluster = ?1",
                                            "DELETE FROM shim_addresses WHERE cluster = ?1",
                                            "DELETE FROM placements WHERE cluster = ?1"}) {
                      absl::StatusOr<Query> query = Sql(sql);
                      if (!query.ok()) return query.status();
                      query->Text(1, name);
                      STORE_RETURN_IF_ERROR(query->Run().status());
                    }
                    absl::StatusOr<Query> query = Sql("DELETE FROM clusters WHERE name = ?1");
                    if (!query.ok()) return query.status();
                    query->Text(1, name);
                    absl::StatusOr<int> changed = query->Run();
                    if (!changed.ok()) return changed.status();
                    if (*changed == 0) return ClusterNotFound(name);
                    return absl::OkStatus();
                  });
  if (status.ok()) Logger()->info("deleted cluster '{}'", name);
  return status;
}

absl::StatusOr<std::map<std::string, IpOwner>> SqliteStore::AllocatedIps() {
  absl::MutexLock lock(&mu_);
  std::map<std::string, IpOwner> ips;
  STORE_RETURN_IF_ERROR(Transaction(
      "AllocatedIps", /*write=*/false, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
        absl::StatusOr<Query> query =
            Sql("SELECT ip, cluster, name FROM placements WHERE ip IS NOT NULL");
        if (!query.ok()) return query.status();
        return query->ForEachRow([&] {
          ips[query->TextAt(0)] = IpOwner{query->TextAt(1), query->TextAt(2)};
        });
      }));
  return ips;
}

// Instances.

absl::Status SqliteStore::MarkInstances(const std::string& cluster, const std::string& host,
                                        const std::vector<bdcoord::v1::InstanceStatus>& statuses) {
  std::vector<std::string> bytes(statuses.size());
  for (size_t i = 0; i < statuses.size(); ++i) {
    const std::string& name = statuses[i].name();
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cluster ", Quoted(cluster), ": a status names no instance"));
    }
    if (!statuses[i].SerializeToString(&bytes[i])) {
      return absl::InternalError(absl::StrCat("serializing the status of instance ", Quoted(name)));
    }
  }
  if (statuses.empty()) return absl::OkStatus();
  std::vector<std::string> first_completions;

  absl::MutexLock lock(&mu_);
  // One transaction for a whole report: a sync per instance made a 20,000-instance apply wait on
  // the disk (tests/bench/fleet_bench).
  absl::Status result = Transaction(
      absl::StrCat("MarkInstances ", Quoted(cluster), " ", Quoted(statuses.front().name()),
                   statuses.size() > 1 ? absl::StrCat(" and ", statuses.size() - 1, " more") : ""),
      /*write=*/true, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
        first_completions.clear();
        for (size_t i = 0; i < statuses.size(); ++i) {
          const bdcoord::v1::InstanceStatus& status = statuses[i];
          const std::string& name = status.name();
          {
            absl::StatusOr<Query> query =
                Sql("SELECT (SELECT count(*) FROM clusters WHERE name = ?1), "
                    "(SELECT count(*) FROM placements WHERE cluster = ?1 AND name = ?2)");
            if (!query.ok()) return query.status();
            query->Text(1, cluster).Text(2, name);
            absl::StatusOr<bool> row = query->Next();
            if (!row.ok()) return row.status();
            if (!*row || query->IntAt(0) == 0) return ClusterNotFound(cluster);
            if (query->IntAt(1) == 0) {
              return absl::NotFoundError(absl::StrCat(
                  "instance ", Quoted(name), " is not placed in cluster ", Quoted(cluster)));
            }
          }
          {
            absl::StatusOr<Query> query =
                Sql("INSERT INTO instance_states (cluster, name, state, ready, container_id, "
                    "status, host) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (cluster, "
                    "name) DO UPDATE SET state = excluded.state, ready = excluded.ready, "
                    "container_id = excluded.container_id, status = excluded.status, "
                    "host = excluded.host");
            if (!query.ok()) return query.status();
            query->Text(1, cluster)
                .Text(2, name)
                .Int(3, status.state())
                .Int(4, status.ready() ? 1 : 0)
                .Text(5, status.container_id())
                .Blob(6, bytes[i])
                .Text(7, host);
            STORE_RETURN_IF_ERROR(query->Run().status());
          }
          if (status.state() == bdcoord::v1::INSTANCE_STATE_COMPLETED) {
            absl::StatusOr<Query> query =
                Sql("INSERT INTO run_once_completions (cluster, name, container_id, status) "
                    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (cluster, name) DO NOTHING");
            if (!query.ok()) return query.status();
            query->Text(1, cluster).Text(2, name).Text(3, status.container_id()).Blob(4, bytes[i]);
            absl::StatusOr<int> changed = query->Run();
            if (!changed.ok()) return changed.status();
            if (*changed > 0) first_completions.push_back(name);
          }
        }
        return absl::OkStatus();
      });
  if (result.ok()) {
    for (const std::string& name : first_completions) {
      Logger()->info("instance '{}' of cluster '{}' completed: it never runs again", name, cluster);
    }
  }
  return result;
}

absl::StatusOr<std::map<std::string, ReportedStatus>> SqliteStore::InstanceStatuses(
    const std::string& cluster) {
  absl::MutexLock lock(&mu_);
  std::map<std::string, ReportedStatus> statuses;
  STORE_RETURN_IF_ERROR(Transaction(
      absl::StrCat("InstanceStatuses ", Quoted(cluster)), /*write=*/false,
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
        absl::StatusOr<bool> exists = ClusterExists(cluster);
        if (!exists.ok()) return exists.status();
        if (!*exists) return ClusterNotFound(cluster);
        absl::StatusOr<Query> query =
            Sql("SELECT name, status, host FROM instance_states WHERE cluster = ?1");
        if (!query.ok()) return query.status();
        query->Text(1, cluster);
        return query->ForEachRow([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
          std::string name = query->TextAt(0);
          ReportedStatus& reported = statuses[name];
          reported.host = query->TextAt(2);
          if (!query->ParseAt(1, &reported.status)) {
            return Damaged(absl::StrCat("the status of instance ", Quoted(name), " of cluster ",
                                        Quoted(cluster), " does not parse"));
          }
          return absl::OkStatus();
        });
      }));
  return statuses;
}

absl::StatusOr<bool> SqliteStore::RunOnceCompleted(const std::string& cluster,
                                                   const std::string& instance) {
  absl::MutexLock lock(&mu_);
  bool completed = false;
  STORE_RETURN_IF_ERROR(
      Transaction(absl::StrCat("RunOnceCompleted ", Quoted(cluster), " ", Quoted(instance)),
                  /*write=*/false, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
                    absl::StatusOr<bool> exists = ClusterExists(cluster);
                    if (!exists.ok()) return exists.status();
                    if (!*exists) return ClusterNotFound(cluster);
                    absl::StatusOr<Query> query =
                        Sql("SELECT 1 FROM run_once_completions WHERE cluster = ?1 AND name = ?2");
                    if (!query.ok()) return query.status();
                    query->Text(1, cluster).Text(2, instance);
                    absl::StatusOr<bool> row = query->Next();
                    if (!row.ok()) return row.status();
                    completed = *row;
                    return absl::OkStatus();
                  }));
  return completed;
}

#undef STORE_RETURN_IF_ERROR

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  // The store holds specs, env values included: owner-only, whatever the umask. SQLite gives
  // its -wal and -shm files the database's mode.
  if (const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600); fd >= 0) {
    ::close(fd);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    (void)::chmod(absl::StrCat(path, suffix).c_str(), 0600);
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status(CodeFor(rc),
                        absl::StrCat("store ", Quoted(path), ": open: ",
                                     db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close_v2(db);
    return status;
  }
  auto store = std::make_unique<SqliteStore>(path, db);
  absl::Status status = store->Init();
  if (!status.ok()) return status;
  return std::unique_ptr<Store>(std::move(store));
}

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStoreInDir(const std::string& data_dir) {
  std::error_code ec;
  const bool created = std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the data directory ", Quoted(data_dir), ": ", ec.message()));
  }
  if (created) (void)::chmod(data_dir.c_str(), 0700);  // one we did not make keeps its mode
  return OpenSqliteStore((std::filesystem::path(data_dir) / "state.db").string());
}

}  // namespace bdcoord::coordinator
