// `bdcoord images` over real gRPC: an in-process coordinator, agents that connect over the
// agent stream and load with the real ImageLoader into a fake Docker.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/image_loader.h"
#include "bdcoord/v1/agent.grpc.pb.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/wait_for.h"
#include "tests/testing/coordinator_harness.h"
#include "tests/testing/fake_docker_client.h"

namespace bdcoord {
namespace {

using test_util::WaitFor;
using ::testing::ElementsAre;

// Slow agents: each holds its image list until every agent of the gate has been asked for
// one (or until a deadline), and notes whether they all were. Asked one after another, the
// first would wait alone.
class ListGate {
 public:
  explicit ListGate(int agents) : agents_(agents) {}
  // Called by an agent asked for its list: waits for the others to be asked too.
  void AskedAndWaitForTheOthers() {
    absl::MutexLock lock(&mu_);
    ++asked_;
    auto all_asked = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return asked_ >= agents_; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&all_asked), absl::Seconds(5))) ++answered_alone_;
  }
  // Agents that answered before every agent was asked.
  int answered_alone() {
    absl::MutexLock lock(&mu_);
    return answered_alone_;
  }

 private:
  const int agents_;
  absl::Mutex mu_;
  int asked_ ABSL_GUARDED_BY(mu_) = 0;
  int answered_alone_ ABSL_GUARDED_BY(mu_) = 0;
};

// An agent that answers image lists and loads with the agent's own ImageLoader (its lists
// held by `gate` when there is one).
class ImageAgent {
 public:
  ImageAgent(bdcoord::v1::AgentService::Stub* stub, const std::string& name,
             const std::string& token, ListGate* gate = nullptr) {
    if (!token.empty()) context_.AddMetadata("authorization", "Bearer " + token);
    stream_ = stub->Connect(&context_);
    loader_ = std::make_unique<agent::ImageLoader>(
        &docker_,
        [this](const bdcoord::v1::CommandResult& result) {
          bdcoord::v1::AgentMessage message;
          *message.mutable_result() = result;
          return Write(message);
        },
        [this](const bdcoord::v1::ImageList& list) {
          bdcoord::v1::AgentMessage message;
          *message.mutable_images() = list;
          return Write(message);
        },
        2);
    bdcoord::v1::AgentMessage hello;
    hello.mutable_hello()->set_host(name);
    EXPECT_TRUE(Write(hello));
    reader_ = std::thread([this, gate] {
      bdcoord::v1::CoordinatorMessage message;
      while (stream_->Read(&message)) {
        if (message.has_image()) loader_->HandleChunk(message.image());
        if (message.has_list_images()) {
          if (gate != nullptr) gate->AskedAndWaitForTheOthers();
          loader_->HandleList(message.list_images());
        }
      }
      loader_->AbortAll();
    });
  }
  ~ImageAgent() {
    context_.TryCancel();
    reader_.join();
    loader_.reset();
  }
  bool Write(const bdcoord::v1::AgentMessage& message) {
    absl::MutexLock lock(&write_mu_);
    return stream_->Write(message);
  }
  agent::testing::FakeDockerClient& docker() { return docker_; }

 private:
  agent::testing::FakeDockerClient docker_;
  grpc::ClientContext context_;
  absl::Mutex write_mu_;
  std::unique_ptr<
      grpc::ClientReaderWriter<bdcoord::v1::AgentMessage, bdcoord::v1::CoordinatorMessage>>
      stream_;
  std::unique_ptr<agent::ImageLoader> loader_;
  std::thread reader_;
};

struct PushOutcome {
  grpc::Status status;
  std::vector<bdcoord::v1::PushImageProgress> progress;
};

bdcoord::v1::PushImageHeader Header(const std::string& image, std::vector<std::string> hosts = {}) {
  bdcoord::v1::PushImageHeader header;
  header.set_name(image);
  header.add_ids(absl::StrCat("sha256:", image));
  header.add_repo_tags(image);
  for (const std::string& host : hosts) header.add_hosts(host);
  return header;
}

// The CLI's side: the header, the plan, then the archive in pieces, then the result.
PushOutcome Push(bdcoord::v1::ClusterService::Stub& stub,
                 const bdcoord::v1::PushImageHeader& header, const std::string& archive,
                 size_t piece = 1 << 20, const std::string& token = "") {
  grpc::ClientContext context;
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  auto stream = stub.PushImage(&context);
  PushOutcome outcome;
  bdcoord::v1::PushImageRequest request;
  *request.mutable_header() = header;
  bdcoord::v1::PushImageProgress progress;
  if (stream->Write(request) && stream->Read(&progress)) {
    outcome.progress.push_back(progress);
    if (!progress.done()) {
      for (size_t at = 0; at < archive.size(); at += piece) {
        bdcoord::v1::PushImageRequest data;
        data.set_data(archive.substr(at, piece));
        if (!stream->Write(data)) break;
      }
      stream->WritesDone();
      while (stream->Read(&progress)) outcome.progress.push_back(progress);
    }
  }
  outcome.status = stream->Finish();
  return outcome;
}

std::vector<std::string> States(const bdcoord::v1::PushImageProgress& progress) {
  std::vector<std::string> out;
  for (const auto& host : progress.hosts()) {
    out.push_back(absl::StrCat(host.host(), " ", bdcoord::v1::HostPush::State_Name(host.state()),
                               " ", host.message()));
  }
  return out;
}

class CoordinatorImagesTest : public ::testing::Test {
 protected:
  void StartWith(test_util::CoordinatorHarness::Options options) {
    options.controller = false;
    ASSERT_TRUE(harness_.Start(options).ok());
    for (const char* name : {"h1", "h2", "h3"}) {
      agents_.push_back(std::make_unique<ImageAgent>(&harness_.agents(), name, options.token));
    }
    ASSERT_TRUE(WaitFor([&] {
      int connected = 0;
      for (const auto& host : harness_.inventory().Hosts()) connected += host.connected;
      return connected == 3;
    }));
  }
  void SetUp() override { StartWith({}); }
  void AddAgent(const std::string& name, ListGate* gate) {
    agents_.push_back(std::make_unique<ImageAgent>(&harness_.agents(), name, "", gate));
    ASSERT_TRUE(WaitFor([&] {
      const auto host = harness_.inventory().Find(name);
      return host.has_value() && host->connected;
    }));
  }

  test_util::CoordinatorHarness harness_;
  std::vector<std::unique_ptr<ImageAgent>> agents_;
};

TEST_F(CoordinatorImagesTest, PushesToTheHostsThatLackItAndSkipsTheOthers) {
  agents_[1]->docker().AddImage("app:1");  // h2 has it
  agents_[0]->docker().SetLoadResult("app:1");
  agents_[2]->docker().SetLoadResult("app:1");
  std::string archive;
  for (int i = 0; archive.size() < (3 << 20) + 12345; ++i) archive += absl::StrCat(i, ",");

  PushOutcome pushed = Push(harness_.cluster(), Header("app:1"), archive);
  ASSERT_TRUE(pushed.status.ok()) << pushed.status.error_message();
  EXPECT_THAT(
      States(pushed.progress.front()),
      ElementsAre("h1 STATE_SENDING ", "h2 STATE_SKIPPED has it already", "h3 STATE_SENDING "));
  const bdcoord::v1::PushImageProgress& done = pushed.progress.back();
  EXPECT_TRUE(done.done());
  EXPECT_EQ(done.bytes_forwarded(), static_cast<int64_t>(archive.size()));
  EXPECT_THAT(States(done),
              ElementsAre("h1 STATE_LOADED Loaded image: app:1", "h2 STATE_SKIPPED has it already",
                          "h3 STATE_LOADED Loaded image: app:1"));
  // Each host's Docker got the archive as it was, in its pieces.
  EXPECT_THAT(agents_[0]->docker().loaded_archives(), ElementsAre(archive));
  EXPECT_THAT(agents_[2]->docker().loaded_archives(), ElementsAre(archive));
  EXPECT_EQ(agents_[0]->docker().load_pieces().size(), 4u);
  EXPECT_TRUE(agents_[1]->docker().loaded_archives().empty());

  // Again: every host has it now.
  pushed = Push(harness_.cluster(), Header("app:1"), archive);
  ASSERT_TRUE(pushed.status.ok());
  ASSERT_EQ(pushed.progress.size(), 2u);
  EXPECT_TRUE(pushed.progress.back().done());
  EXPECT_THAT(States(pushed.progress.back()),
              ElementsAre("h1 STATE_SKIPPED has it already", "h2 STATE_SKIPPED has it already",
                          "h3 STATE_SKIPPED has it already"));

  // `images ls`: each host with it.
  grpc::ClientContext context;
  bdcoord::v1::ListImagesResponse listed;
  ASSERT_TRUE(harness_.cluster().ListImages(&context, {}, &listed).ok());
  ASSERT_EQ(listed.hosts_size(), 3);
  for (const auto& host : listed.hosts()) {
    ASSERT_EQ(host.images_size(), 1) << host.host();
    EXPECT_EQ(host.images(0).id(), "sha256:app:1");
  }
}

TEST_F(CoordinatorImagesTest, OnlyTheNamedHostsAndDockersErrorsPerHost) {
  agents_[2]->docker().SetLoadResult("", absl::InternalError("POST /images/load: unexpected EOF"));
  agents_[0]->docker().SetLoadResult("app:2");
  PushOutcome pushed = Push(harness_.cluster(), Header("app:2", {"h1", "h3"}), "not a tar");
  ASSERT_TRUE(pushed.status.ok());
  EXPECT_THAT(States(pushed.progress.back()),
              ElementsAre("h1 STATE_LOADED Loaded image: app:2",
                          "h3 STATE_FAILED its Docker did not load it: POST /images/load: "
                          "unexpected EOF"));
  EXPECT_TRUE(agents_[1]->docker().loaded_archives().empty());
}

TEST_F(CoordinatorImagesTest, RefusesUnknownHostsAndTooLargeArchives) {
  PushOutcome pushed = Push(harness_.cluster(), Header("app:1", {"h4"}), "x");
  EXPECT_EQ(pushed.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(pushed.status.error_message(), "no host named 'h4'; did you mean 'h1'?");

  harness_.coordinator().ops().SetImagePushLimits({.max_bytes = 1000});
  bdcoord::v1::PushImageHeader header = Header("big:1");
  header.set_size_bytes(5000);
  pushed = Push(harness_.cluster(), header, "x");
  EXPECT_EQ(pushed.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(pushed.status.error_message(),
            "image 'big:1' is 4.9 KiB, more than the coordinator's limit of 1000 B; hint: start "
            "bdcoordd with a larger --max-image-size, or make the image smaller");

  // A size that was not known beforehand: the push stops when the bytes pass the limit, and
  // the hosts drop what they got.
  pushed = Push(harness_.cluster(), Header("big:1"), std::string(3000, 'x'), 500);
  EXPECT_EQ(pushed.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(pushed.status.error_message(),
            "image 'big:1' is larger than the coordinator's limit of 1000 B; hint: start "
            "bdcoordd with a larger --max-image-size, or make the image smaller");
  for (const auto& agent : agents_) EXPECT_TRUE(agent->docker().loaded_archives().empty());

  // Pieces larger than the limit of a message's piece.
  harness_.coordinator().ops().SetImagePushLimits({});
  pushed =
      Push(harness_.cluster(), Header("app:3"), std::string((1 << 20) + 1, 'x'), (1 << 20) + 1);
  EXPECT_EQ(pushed.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(pushed.status.error_message(),
            "after the header a push sends the archive in pieces of at most 1048576 bytes");
}

TEST_F(CoordinatorImagesTest, AsksEveryHostForItsImagesAtOnce) {
  // Three slow hosts, each answering only once all three were asked.
  ListGate gate(3);
  for (const char* name : {"slow1", "slow2", "slow3"}) AddAgent(name, &gate);
  agents_[3]->docker().AddImage("app:1");

  grpc::ClientContext context;
  bdcoord::v1::ListImagesRequest request;
  for (const char* name : {"slow1", "slow2", "slow3"}) request.add_hosts(name);
  bdcoord::v1::ListImagesResponse listed;
  ASSERT_TRUE(harness_.cluster().ListImages(&context, request, &listed).ok());
  EXPECT_EQ(gate.answered_alone(), 0);
  ASSERT_EQ(listed.hosts_size(), 3);
  for (const auto& host : listed.hosts()) EXPECT_EQ(host.error(), "") << host.host();
  EXPECT_EQ(listed.hosts(0).images_size(), 1);

  // A push asks them the same way: all at once, each list in time.
  ListGate push_gate(3);
  for (const char* name : {"slow4", "slow5", "slow6"}) AddAgent(name, &push_gate);
  for (int i = 6; i < 9; ++i) agents_[i]->docker().AddImage("app:1");
  PushOutcome pushed = Push(harness_.cluster(), Header("app:1", {"slow4", "slow5", "slow6"}), "");
  EXPECT_EQ(push_gate.answered_alone(), 0);
  ASSERT_TRUE(pushed.status.ok()) << pushed.status.error_message();
  EXPECT_THAT(States(pushed.progress.back()), ElementsAre("slow4 STATE_SKIPPED has it already",
                                                          "slow5 STATE_SKIPPED has it already",
                                                          "slow6 STATE_SKIPPED has it already"));
}

class CoordinatorImagesTokenTest : public CoordinatorImagesTest {
 protected:
  void SetUp() override {
    test_util::CoordinatorHarness::Options options;
    options.token = "secret";
    StartWith(options);
  }
};

TEST_F(CoordinatorImagesTokenTest, OnlyClusterServiceCallersWithTheTokenPush) {
  PushOutcome pushed = Push(harness_.cluster(), Header("app:1"), "x");
  EXPECT_EQ(pushed.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(pushed.status.error_message(), "missing or invalid bearer token");
  for (const auto& agent : agents_) EXPECT_TRUE(agent->docker().loaded_archives().empty());
  agents_[0]->docker().SetLoadResult("app:1");
  pushed = Push(harness_.cluster(), Header("app:1", {"h1"}), "x", 1 << 20, "secret");
  ASSERT_TRUE(pushed.status.ok()) << pushed.status.error_message();
  EXPECT_THAT(States(pushed.progress.back()), ElementsAre("h1 STATE_LOADED Loaded image: app:1"));
}

}  // namespace
}  // namespace bdcoord
