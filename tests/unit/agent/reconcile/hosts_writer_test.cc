// The real hosts writer on a temporary file: in place (same inode), never creating the file.
#include "agent/reconcile/hosts_writer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/testing/temp_dir.h"

namespace bdcoord::agent {
namespace {

class FileHostsWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/hosts";
    std::ofstream(path_) << "127.0.0.1\tlocalhost\n";
  }

  static ino_t Inode(const std::string& path) {
    struct stat st {};
    ::stat(path.c_str(), &st);
    return st.st_ino;
  }

  test_util::TempDir dir_{"hosts-writer"};
  std::string path_;
  FileHostsWriter writer_;
};

TEST_F(FileHostsWriterTest, RewritesInPlaceKeepingTheInode) {
  const ino_t before = Inode(path_);
  ASSERT_TRUE(writer_.WriteInPlace(path_, "10.1.0.11\tzk1.demo.lan zk1\n").ok());
  EXPECT_EQ(Inode(path_), before) << "a bind mount keeps pointing at the old inode";
  EXPECT_EQ(*writer_.Read(path_), "10.1.0.11\tzk1.demo.lan zk1\n");
  ASSERT_TRUE(writer_.WriteInPlace(path_, "x\n").ok());
  EXPECT_EQ(*writer_.Read(path_), "x\n") << "a shorter content truncates";
}

TEST_F(FileHostsWriterTest, NeitherReadsNorCreatesAMissingFile) {
  const std::string missing = dir_.path() + "/gone";
  EXPECT_EQ(writer_.Read(missing).status(), absl::NotFoundError("no hosts file at " + missing));
  EXPECT_EQ(writer_.WriteInPlace(missing, "x\n").message(),
            "cannot open for writing " + missing + ": No such file or directory");
  EXPECT_FALSE(std::filesystem::exists(missing));
}

}  // namespace
}  // namespace bdcoord::agent
