#ifndef BDCOORD_TESTS_TESTING_FAKE_HOSTS_WRITER_H_
#define BDCOORD_TESTS_TESTING_FAKE_HOSTS_WRITER_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/reconcile/hosts_writer.h"

namespace bdcoord::agent::testing {

// Hosts files in memory, keyed by HostsPath; counts in-place writes.
class FakeHostsWriter : public HostsWriter {
 public:
  absl::StatusOr<std::string> Read(const std::string& path) override {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(path);
    if (it == files_.end()) return std::string();
    return it->second;
  }
  absl::Status WriteInPlace(const std::string& path, const std::string& content) override {
    absl::MutexLock lock(&mu_);
    files_[path] = content;
    ++writes_;
    return absl::OkStatus();
  }
  std::string Get(const std::string& path) {
    absl::MutexLock lock(&mu_);
    return files_[path];
  }
  int writes() {
    absl::MutexLock lock(&mu_);
    return writes_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::string> files_;
  int writes_ = 0;
};

}  // namespace bdcoord::agent::testing

#endif  // BDCOORD_TESTS_TESTING_FAKE_HOSTS_WRITER_H_
