#ifndef BDCOORD_COORDINATOR_STATE_STORE_SQLITE_H_
#define BDCOORD_COORDINATOR_STATE_STORE_SQLITE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/state/store.h"

namespace bdcoord::coordinator {

// The schema version this build writes and reads. A database with a newer one is refused.
// Version 2 added the hosts' shim addresses, 3 the rollouts, 4 the host that reported each
// instance's status; an older database is upgraded when opened.
inline constexpr int kStoreSchemaVersion = 4;
// PRAGMA application_id of a bdcoord database ("bdcd").
inline constexpr int kStoreApplicationId = 0x62646364;

// Opens (creating it and its schema when the file is missing or empty) the SQLite database at
// `path`. WAL journal, synchronous=FULL (a committed operation survives a crash of the process
// or the machine), foreign keys on, a busy timeout. A file that is not a bdcoord database (not
// SQLite, another application's database, a newer schema) or that fails SQLite's quick check is
// refused with a message naming the path, and left as it is.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

// The file `state.db` in `data_dir`, as OpenSqliteStore opens it; makes the directory first.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStoreInDir(const std::string& data_dir);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_STATE_STORE_SQLITE_H_
