#ifndef BDCOORD_TESTS_UNIT_CLI_TEST_FILES_H_
#define BDCOORD_TESTS_UNIT_CLI_TEST_FILES_H_

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace bdcoord::testing {

// Expected outputs are committed; BDCOORD_UPDATE_GOLDEN=1 rewrites them (review the diff).
inline bool UpdateGolden() { return std::getenv("BDCOORD_UPDATE_GOLDEN") != nullptr; }

inline std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void WriteText(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Files of `dir` (relative to the source tree) ending in `extension`, sorted, as relative paths.
inline std::vector<std::string> ListFiles(const std::string& dir, const std::string& extension) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == extension) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace bdcoord::testing

#endif  // BDCOORD_TESTS_UNIT_CLI_TEST_FILES_H_
