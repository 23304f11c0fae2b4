#ifndef BDCOORD_TESTS_TESTING_FAKE_HOST_FILES_H_
#define BDCOORD_TESTS_TESTING_FAKE_HOST_FILES_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/reconcile/host_files.h"

namespace bdcoord::agent::testing {

// The host's files in memory, keyed by path (a directory is any prefix of a file's path, or one
// made with AddDirectory); counts the writes.
class FakeHostFiles : public HostFiles {
 public:
  struct File {
    std::string content;
    uint32_t mode = 0644;
    FileOwner owner;
    bool directory = false;
  };

  // Test setup and inspection.
  void AddDirectory(const std::string& path, FileOwner owner = {}) {
    absl::MutexLock lock(&mu_);
    files_[path] = File{"", 0755, owner, true};
  }
  std::optional<File> Get(const std::string& path) {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(path);
    if (it == files_.end()) return std::nullopt;
    return it->second;
  }
  // Every file (not directory) under `directory`, by path.
  std::map<std::string, File> Under(const std::string& directory) {
    absl::MutexLock lock(&mu_);
    std::map<std::string, File> found;
    for (const auto& [path, file] : files_) {
      if (!file.directory && absl::StartsWith(path, directory + "/")) found[path] = file;
    }
    return found;
  }
  // Writes of content (Create and WriteInPlace).
  int writes() {
    absl::MutexLock lock(&mu_);
    return writes_;
  }
  void FailWrites(absl::Status status) {
    absl::MutexLock lock(&mu_);
    write_error_ = std::move(status);
  }

  // HostFiles.
  absl::StatusOr<std::string> Read(const std::string& path) override {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(path);
    if (it == files_.end()) return absl::NotFoundError(absl::StrCat("no file ", path));
    return it->second.content;
  }
  absl::Status WriteInPlace(const std::string& path, const std::string& content) override {
    absl::MutexLock lock(&mu_);
    if (!write_error_.ok()) return write_error_;
    files_[path].content = content;  // Docker's own hosts files exist in the fake without setup
    ++writes_;
    return absl::OkStatus();
  }
  absl::Status Create(const std::string& path, const std::string& content, uint32_t mode,
                      FileOwner owner) override {
    absl::MutexLock lock(&mu_);
    if (!write_error_.ok()) return write_error_;
    files_[path] = File{content, mode, owner, false};
    ++writes_;
    return absl::OkStatus();
  }
  absl::StatusOr<FileOwner> OwnerOf(const std::string& path) override {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(path);
    if (it == files_.end()) return absl::NotFoundError(absl::StrCat("no file ", path));
    return it->second.owner;
  }
  absl::Status SetOwner(const std::string& path, FileOwner owner) override {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(path);
    if (it == files_.end()) return absl::NotFoundError(absl::StrCat("no file ", path));
    it->second.owner = owner;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> List(const std::string& directory) override {
    absl::MutexLock lock(&mu_);
    std::set<std::string> names;
    for (const auto& [path, file] : files_) {
      if (!absl::StartsWith(path, directory + "/")) continue;
      const std::string rest = path.substr(directory.size() + 1);
      names.insert(rest.substr(0, rest.find('/')));
    }
    return std::vector<std::string>(names.begin(), names.end());
  }
  absl::Status RemoveAll(const std::string& path) override {
    absl::MutexLock lock(&mu_);
    for (auto it = files_.begin(); it != files_.end();) {
      it = it->first == path || absl::StartsWith(it->first, path + "/") ? files_.erase(it)
                                                                        : std::next(it);
    }
    return absl::OkStatus();
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, File> files_;
  int writes_ = 0;
  absl::Status write_error_;
};

}  // namespace bdcoord::agent::testing

#endif  // BDCOORD_TESTS_TESTING_FAKE_HOST_FILES_H_
