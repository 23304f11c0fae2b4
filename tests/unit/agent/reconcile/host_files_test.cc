// The real host files on a temporary directory: in-place rewrites keep the inode (bind mounts
// see them), created files get their mode and owner, nothing follows a symbolic link.
#include "agent/reconcile/host_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/testing/temp_dir.h"

namespace bdcoord::agent {
namespace {

using ::testing::UnorderedElementsAre;

class LocalHostFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/hosts";
    std::ofstream(path_) << "127.0.0.1\tlocalhost\n";
  }

  static struct stat Stat(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
  }

  test_util::TempDir dir_{"host-files"};
  std::string path_;
  LocalHostFiles files_;
};

TEST_F(LocalHostFilesTest, RewritesInPlaceKeepingTheInode) {
  const ino_t before = Stat(path_).st_ino;
  ASSERT_TRUE(files_.WriteInPlace(path_, "10.1.0.11\tzk1.demo.lan zk1\n").ok());
  EXPECT_EQ(Stat(path_).st_ino, before) << "a bind mount keeps pointing at the old inode";
  EXPECT_EQ(*files_.Read(path_), "10.1.0.11\tzk1.demo.lan zk1\n");
  ASSERT_TRUE(files_.WriteInPlace(path_, "x\n").ok());
  EXPECT_EQ(*files_.Read(path_), "x\n") << "a shorter content truncates";
}

TEST_F(LocalHostFilesTest, NeitherReadsNorRewritesAMissingFile) {
  const std::string missing = dir_.path() + "/gone";
  EXPECT_EQ(files_.Read(missing).status(),
            absl::NotFoundError("cannot open " + missing + ": No such file or directory"));
  EXPECT_EQ(files_.WriteInPlace(missing, "x\n").message(),
            "cannot open for writing " + missing + ": No such file or directory");
  EXPECT_FALSE(std::filesystem::exists(missing));
}

TEST_F(LocalHostFilesTest, CreatesWithItsModeAndOwnerAndPrivateParents) {
  const std::string file = dir_.path() + "/clusters/demo/instances/zk1/files/conf/zoo.cfg";
  ASSERT_TRUE(files_.Create(file, "tickTime=2000\n", 0640, {1000, 1001}).ok());
  EXPECT_EQ(*files_.Read(file), "tickTime=2000\n");
  const struct stat st = Stat(file);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1001u);
  EXPECT_EQ(Stat(dir_.path() + "/clusters/demo").st_mode & 07777, 0700u) << "files hold secrets";
  EXPECT_EQ((FileOwner{1000, 1001}), *files_.OwnerOf(file));
  ASSERT_TRUE(files_.SetOwner(file, {7, 8}).ok());
  EXPECT_EQ((FileOwner{7, 8}), *files_.OwnerOf(file));
  // Created again: a new file (the old one's inode is no container's any more).
  ASSERT_TRUE(files_.Create(file, "v2\n", 0600, {}).ok());
  EXPECT_EQ(*files_.Read(file), "v2\n");
  EXPECT_EQ(Stat(file).st_mode & 07777, 0600u);
}

TEST_F(LocalHostFilesTest, ASymbolicLinkIsReplacedNotFollowed) {
  const std::string target = dir_.path() + "/precious";
  std::ofstream(target) << "keep\n";
  const std::string link = dir_.path() + "/link";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  ASSERT_TRUE(files_.Create(link, "new\n", 0644, {}).ok());
  EXPECT_EQ(*files_.Read(target), "keep\n");
  EXPECT_TRUE(S_ISREG(Stat(link).st_mode));
  // RemoveAll removes a link to a directory, not what it points at.
  std::filesystem::create_directory(dir_.path() + "/data");
  std::ofstream(dir_.path() + "/data/f") << "data\n";
  std::filesystem::create_directory(dir_.path() + "/tree");
  std::filesystem::create_directory_symlink(dir_.path() + "/data", dir_.path() + "/tree/d");
  ASSERT_TRUE(files_.RemoveAll(dir_.path() + "/tree").ok());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/tree"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/data/f"));
}

TEST_F(LocalHostFilesTest, ListsAndRemovesTrees) {
  ASSERT_TRUE(files_.Create(dir_.path() + "/i/zk1/files/a", "", 0644, {}).ok());
  ASSERT_TRUE(files_.Create(dir_.path() + "/i/zk2/files/b", "", 0644, {}).ok());
  EXPECT_THAT(*files_.List(dir_.path() + "/i"), UnorderedElementsAre("zk1", "zk2"));
  ASSERT_TRUE(files_.RemoveAll(dir_.path() + "/i/zk1").ok());
  EXPECT_THAT(*files_.List(dir_.path() + "/i"), UnorderedElementsAre("zk2"));
  EXPECT_TRUE(files_.List(dir_.path() + "/nothing")->empty());
  EXPECT_TRUE(files_.RemoveAll(dir_.path() + "/nothing").ok()) << "nothing to remove is fine";
}

}  // namespace
}  // namespace bdcoord::agent
