// The real hosts writer on a temporary file: in place (same inode), never creating the file.
#include "agent/reconcile/hosts_writer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace bdcoord::agent {
namespace {

class FileHostsWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bdcoord-hosts-writer-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "hosts").string();
    std::ofstream(path_) << "127.0.0.1\tlocalhost\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static ino_t Inode(const std::string& path) {
    struct stat st {};
    ::stat(path.c_str(), &st);
    return st.st_ino;
  }

  std::filesystem::path dir_;
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
  const std::string missing = (dir_ / "gone").string();
  EXPECT_EQ(writer_.Read(missing).status(), absl::NotFoundError("no hosts file at " + missing));
  EXPECT_EQ(writer_.WriteInPlace(missing, "x\n").message(),
            "cannot open for writing " + missing + ": No such file or directory");
  EXPECT_FALSE(std::filesystem::exists(missing));
}

}  // namespace
}  // namespace bdcoord::agent
