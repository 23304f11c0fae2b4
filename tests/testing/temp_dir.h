#ifndef BDCOORD_TESTS_TESTING_TEMP_DIR_H_
#define BDCOORD_TESTS_TESTING_TEMP_DIR_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace bdcoord::test_util {

// A fresh directory under gtest's temporary directory, removed with everything in it when this
// goes. path() is empty (and the test has failed) when it could not be made.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string pattern = ::testing::TempDir() + prefix + ".XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp '" << pattern << "' failed";
      return;
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace bdcoord::test_util

#endif  // BDCOORD_TESTS_TESTING_TEMP_DIR_H_
