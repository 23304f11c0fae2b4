#include "agent/image_loader.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/rpc/limits.h"
#include "tests/integration/wait_for.h"
#include "tests/testing/fake_docker_client.h"

namespace bdcoord::agent {
namespace {

using test_util::WaitFor;
using ::testing::ElementsAre;

bdcoord::v1::ImageChunk Chunk(uint64_t id, std::string data, bool end = false) {
  bdcoord::v1::ImageChunk chunk;
  chunk.set_request_id(id);
  chunk.set_image("app:1");
  chunk.set_data(std::move(data));
  chunk.set_end(end);
  return chunk;
}

class ImageLoaderTest : public ::testing::Test {
 protected:
  std::unique_ptr<ImageLoader> NewLoader(size_t max_queued = 8) {
    return std::make_unique<ImageLoader>(
        &docker_,
        [this](const bdcoord::v1::CommandResult& result) {
          absl::MutexLock lock(&mu_);
          results_.push_back(result);
          return true;
        },
        [this](const bdcoord::v1::ImageList& list) {
          absl::MutexLock lock(&mu_);
          lists_.push_back(list);
          return true;
        },
        max_queued);
  }
  std::vector<bdcoord::v1::CommandResult> results() {
    absl::MutexLock lock(&mu_);
    return results_;
  }
  std::vector<bdcoord::v1::ImageList> lists() {
    absl::MutexLock lock(&mu_);
    return lists_;
  }

  testing::FakeDockerClient docker_;
  absl::Mutex mu_;
  std::vector<bdcoord::v1::CommandResult> results_ ABSL_GUARDED_BY(mu_);
  std::vector<bdcoord::v1::ImageList> lists_ ABSL_GUARDED_BY(mu_);
};

TEST_F(ImageLoaderTest, LoadsTheArchiveStreamedInPiecesAndAnswers) {
  docker_.SetLoadResult("app:1");
  auto loader = NewLoader();
  loader->HandleChunk(Chunk(7, "abc"));
  loader->HandleChunk(Chunk(7, "def"));
  loader->HandleChunk(Chunk(7, "gh", /*end=*/true));
  ASSERT_TRUE(WaitFor([&] { return results().size() == 1; }));
  EXPECT_EQ(results()[0].request_id(), 7u);
  EXPECT_TRUE(results()[0].ok());
  EXPECT_EQ(results()[0].message(), "Loaded image: app:1");
  // Docker got each piece as it came, in order, never the archive in one piece.
  EXPECT_THAT(docker_.load_pieces(), ElementsAre(3u, 3u, 2u));
  EXPECT_THAT(docker_.loaded_archives(), ElementsAre("abcdefgh"));
  ASSERT_TRUE(WaitFor([&] { return loader->active() == 0; }));
}

TEST_F(ImageLoaderTest, DockersErrorIsTheAnswerWithItsMessage) {
  docker_.SetLoadResult("", absl::InternalError("POST /images/load: unexpected EOF"));
  auto loader = NewLoader();
  loader->HandleChunk(Chunk(3, "not a tar"));
  loader->HandleChunk(Chunk(3, "", /*end=*/true));
  ASSERT_TRUE(WaitFor([&] { return results().size() == 1; }));
  EXPECT_FALSE(results()[0].ok());
  EXPECT_EQ(results()[0].message(), "POST /images/load: unexpected EOF");
}

TEST_F(ImageLoaderTest, AtMostMaxQueuedPiecesWaitForDocker) {
  constexpr size_t kMaxQueued = 2;
  constexpr int kPieces = 20;
  std::atomic<int> returned{0};
  std::atomic<int> pulled{0};
  // A slow Docker: it takes a piece only once the sender has filled the queue behind it.
  docker_.OnLoadPiece([&](const std::string&) {
    const int taken = ++pulled;
    WaitFor([&] { return returned >= std::min<int>(taken + kMaxQueued, kPieces); });
  });
  auto loader = NewLoader(kMaxQueued);
  int most_ahead = 0;
  for (int i = 0; i < kPieces; ++i) {
    loader->HandleChunk(Chunk(1, std::string(10, 'x'), i == kPieces - 1));
    most_ahead = std::max(most_ahead, ++returned - pulled.load());
  }
  ASSERT_TRUE(WaitFor([&] { return results().size() == 1; }));
  EXPECT_TRUE(results()[0].ok());
  EXPECT_EQ(docker_.load_pieces().size(), static_cast<size_t>(kPieces));
  // The sender was held back: never more than the queue (and the piece being popped) ahead.
  EXPECT_GE(most_ahead, static_cast<int>(kMaxQueued));
  EXPECT_LE(most_ahead, static_cast<int>(kMaxQueued) + 1);
}

TEST_F(ImageLoaderTest, AnAbortedPushIsDroppedWithoutAnswer) {
  auto loader = NewLoader();
  loader->HandleChunk(Chunk(5, "abc"));
  bdcoord::v1::ImageChunk abort;
  abort.set_request_id(5);
  abort.set_abort(true);
  loader->HandleChunk(abort);
  ASSERT_TRUE(WaitFor([&] { return loader->active() == 0; }));
  loader.reset();
  EXPECT_TRUE(results().empty());
  EXPECT_TRUE(docker_.loaded_archives().empty());
}

TEST_F(ImageLoaderTest, TheStreamEndingAbortsEveryLoad) {
  auto loader = NewLoader();
  loader->HandleChunk(Chunk(5, "abc"));
  loader->HandleChunk(Chunk(6, "def"));
  loader->AbortAll();
  ASSERT_TRUE(WaitFor([&] { return loader->active() == 0; }));
  EXPECT_TRUE(results().empty());
}

TEST_F(ImageLoaderTest, APieceLargerThanTheLimitFailsTheLoad) {
  auto loader = NewLoader();
  loader->HandleChunk(Chunk(9, std::string(rpc::kImageChunkBytes + 1, 'x')));
  loader->HandleChunk(Chunk(9, "", /*end=*/true));
  ASSERT_TRUE(WaitFor([&] { return results().size() == 1; }));
  EXPECT_FALSE(results()[0].ok());
  EXPECT_EQ(results()[0].message(), "a piece of the archive has 1048577 bytes, more than 1048576");
}

TEST_F(ImageLoaderTest, ListsTheHostsImages) {
  docker_.AddImage("app:1");
  auto loader = NewLoader();
  bdcoord::v1::ImageListRequest request;
  request.set_request_id(11);
  loader->HandleList(request);
  ASSERT_TRUE(WaitFor([&] { return lists().size() == 1; }));
  EXPECT_EQ(lists()[0].request_id(), 11u);
  ASSERT_EQ(lists()[0].images_size(), 1);
  EXPECT_EQ(lists()[0].images(0).id(), "sha256:app:1");
  EXPECT_THAT(lists()[0].images(0).repo_tags(), ElementsAre("app:1"));

  docker_.FailAll(absl::UnavailableError("cannot connect to the Docker daemon"));
  request.set_request_id(12);
  loader->HandleList(request);
  ASSERT_TRUE(WaitFor([&] { return lists().size() == 2; }));
  EXPECT_EQ(lists()[1].error(), "cannot connect to the Docker daemon");
  EXPECT_EQ(lists()[1].images_size(), 0);
}

}  // namespace
}  // namespace bdcoord::agent
