// The long-lived streams of ClusterService (WatchEvents, StreamLogs) on the callback API, over
// real gRPC on a unix socket (tests/testing/coordinator_harness.h): the caps on streams in all
// and per client, token auth on the callback methods, wake-ups without polling, the bounded log
// queue's dropped marker, and a shutdown that does not wait on streams or agents. Every wait is
// on a condition with a deadline.
#include <grpcpp/grpcpp.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bdcoord/v1/agent.grpc.pb.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "coordinator/grpc/service_metrics.h"
#include "coordinator/grpc/streams.h"
#include "coordinator/grpc/token_auth.h"
#include "gtest/gtest.h"
#include "proto/rpc/bearer_token.h"
#include "tests/integration/wait_for.h"
#include "tests/testing/coordinator_harness.h"
#include "tests/testing/metrics.h"

namespace bdcoord {
namespace {

using test_util::CoordinatorHarness;
using test_util::WaitFor;

using AgentStream =
    grpc::ClientReaderWriter<bdcoord::v1::AgentMessage, bdcoord::v1::CoordinatorMessage>;
using EventReader = grpc::ClientReader<bdcoord::v1::Event>;

// An agent that answers every log request with `lines` lines of `line_bytes` bytes, then an end
// chunk (follow or not), and counts what it sent.
class BulkLogAgent {
 public:
  BulkLogAgent(bdcoord::v1::AgentService::Stub* stub, const std::string& name, int lines,
               size_t line_bytes)
      : lines_(lines), line_bytes_(line_bytes) {
    stream_ = stub->Connect(&context_);
    bdcoord::v1::AgentMessage hello;
    hello.mutable_hello()->set_host(name);
    EXPECT_TRUE(stream_->Write(hello));
    reader_ = std::thread([this] { Run(); });
  }
  ~BulkLogAgent() {
    context_.TryCancel();
    reader_.join();
  }

  bool done() {
    absl::MutexLock lock(&mu_);
    return done_;
  }

 private:
  void Run() {
    bdcoord::v1::CoordinatorMessage message;
    while (stream_->Read(&message)) {
      if (!message.has_logs() || message.logs().cancel()) continue;
      for (int i = 0; i < lines_; ++i) {
        bdcoord::v1::AgentMessage chunk;
        chunk.mutable_logs()->set_request_id(message.logs().request_id());
        chunk.mutable_logs()->add_lines(std::string(line_bytes_, static_cast<char>('a' + i % 26)));
        if (!stream_->Write(chunk)) return;
      }
      bdcoord::v1::AgentMessage end;
      end.mutable_logs()->set_request_id(message.logs().request_id());
      end.mutable_logs()->set_end(true);
      stream_->Write(end);
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
  }

  const int lines_;
  const size_t line_bytes_;
  grpc::ClientContext context_;
  std::unique_ptr<AgentStream> stream_;
  std::thread reader_;
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

class CoordinatorStreamsTest : public ::testing::Test {
 protected:
  void Start(CoordinatorHarness::Options options) {
    options.name = "streams";
    options.controller = false;
    ASSERT_TRUE(harness_.Start(options).ok());
  }

  // A watcher subscribed (its headers came back) or refused (its status is known).
  struct Watch {
    std::unique_ptr<grpc::ClientContext> context = std::make_unique<grpc::ClientContext>();
    std::unique_ptr<EventReader> reader;
  };
  Watch OpenWatch(const std::string& token = "") {
    Watch watch;
    watch.context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    if (!token.empty()) {
      watch.context->AddMetadata(rpc::kAuthorizationKey, absl::StrCat("Bearer ", token));
    }
    watch.reader = harness_.cluster().WatchEvents(watch.context.get(), {});
    watch.reader->WaitForInitialMetadata();
    return watch;
  }
  // Reads what is left and the status.
  static grpc::Status End(Watch& watch) {
    bdcoord::v1::Event event;
    while (watch.reader->Read(&event)) {
    }
    return watch.reader->Finish();
  }

  size_t OpenStreams() { return harness_.coordinator().streams().open(); }

  // Opens two watchers (the cap of these tests), then a third: the status it ends with.
  grpc::Status FillTwoThenOpenOneMore(Watch& first, Watch& second) {
    first = OpenWatch();
    second = OpenWatch();
    EXPECT_TRUE(WaitFor([&] { return OpenStreams() == 2; }));
    Watch third = OpenWatch();
    return End(third);
  }

  CoordinatorHarness harness_;
};

TEST_F(CoordinatorStreamsTest, StreamsPerClientAreCapped) {
  CoordinatorHarness::Options options;
  options.max_streams_per_client = 2;
  Start(options);
  Watch first, second;
  const grpc::Status status = FillTwoThenOpenOneMore(first, second);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(),
            "too many streams from this client (unix): 2 log and event streams are open, the "
            "most bdcoordd allows per client (--max-streams-per-client); end some first");
  // StreamLogs counts too.
  grpc::ClientContext context;
  bdcoord::v1::StreamLogsRequest request;
  request.set_target("zk1");
  auto logs = harness_.cluster().StreamLogs(&context, request);
  bdcoord::v1::LogLine line;
  EXPECT_FALSE(logs->Read(&line));
  EXPECT_EQ(logs->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  // One ends: its slot is free again.
  first.context->TryCancel();
  EXPECT_EQ(End(first).error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(WaitFor([&] { return OpenStreams() == 1; }));
  Watch again = OpenWatch();
  ASSERT_TRUE(WaitFor([&] { return OpenStreams() == 2; }));
  again.context->TryCancel();
  second.context->TryCancel();
  End(again);
  End(second);
  EXPECT_TRUE(WaitFor([&] { return OpenStreams() == 0; }));
}

TEST_F(CoordinatorStreamsTest, StreamsInAllAreCapped) {
  CoordinatorHarness::Options options;
  options.max_streams = 2;
  Start(options);
  Watch first, second;
  const grpc::Status status = FillTwoThenOpenOneMore(first, second);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(),
            "too many streams: 2 log and event streams are open, the most bdcoordd allows "
            "(--max-streams); try again when some end");
  first.context->TryCancel();
  second.context->TryCancel();
  End(first);
  End(second);
  EXPECT_TRUE(WaitFor([&] { return OpenStreams() == 0; }));
}

TEST_F(CoordinatorStreamsTest, TokenIsCheckedOnCallbackStreams) {
  CoordinatorHarness::Options options;
  options.token = "s3cret";
  Start(options);
  Watch anonymous = OpenWatch();
  grpc::Status status = End(anonymous);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), coordinator::kBadTokenMessage);
  Watch wrong = OpenWatch("guess");
  EXPECT_EQ(End(wrong).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  grpc::ClientContext context;
  bdcoord::v1::StreamLogsRequest request;
  request.set_target("zk1");
  auto logs = harness_.cluster().StreamLogs(&context, request);
  bdcoord::v1::LogLine line;
  EXPECT_FALSE(logs->Read(&line));
  status = logs->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), coordinator::kBadTokenMessage);
  EXPECT_EQ(OpenStreams(), 0u);  // refused before a slot was taken

  // With the token: subscribed, and events come.
  Watch good = OpenWatch("s3cret");
  ASSERT_TRUE(WaitFor([&] { return OpenStreams() == 1; }));
  bdcoord::v1::Event event;
  event.set_kind(coordinator::kEventHostUp);
  event.set_host("h9");
  harness_.coordinator().events().Publish(event);
  ASSERT_TRUE(good.reader->Read(&event));
  EXPECT_EQ(event.host(), "h9");
  good.context->TryCancel();
  End(good);
}

TEST_F(CoordinatorStreamsTest, EventsWakeTheStreamWithoutPolling) {
  Start({});
  Watch watch = OpenWatch();
  ASSERT_TRUE(WaitFor([&] { return OpenStreams() == 1; }));
  // Each event goes out when published, not at a polling period's end: 20 round trips in a row.
  absl::Duration slowest;
  for (int i = 0; i < 20; ++i) {
    bdcoord::v1::Event event;
    event.set_kind(coordinator::kEventHostUp);
    event.set_host(absl::StrCat("h", i));
    const absl::Time published = absl::Now();
    harness_.coordinator().events().Publish(event);
    ASSERT_TRUE(watch.reader->Read(&event));
    slowest = std::max(slowest, absl::Now() - published);
    EXPECT_EQ(event.host(), absl::StrCat("h", i));
  }
  std::printf("slowest of 20 event wake-ups: %s\n", absl::FormatDuration(slowest).c_str());
  watch.context->TryCancel();
  End(watch);
}

TEST_F(CoordinatorStreamsTest, OpenStreamsAreCountedByKind) {
  prometheus::Registry registry;
  const coordinator::ServiceMetrics metrics = coordinator::ServiceMetrics::Register(registry);
  CoordinatorHarness::Options options;
  options.service_metrics = &metrics;
  Start(options);
  auto open = [&](const std::string& kind) {
    return test_util::MetricValue(registry, "bdcoord_streams_open", {{"kind", kind}});
  };
  EXPECT_EQ(open("events"), 0);
  EXPECT_EQ(open("agent"), 0);
  EXPECT_EQ(open("logs"), 0);

  Watch watch = OpenWatch();
  ASSERT_TRUE(WaitFor([&] { return open("events") == 1; }));
  grpc::ClientContext agent_context;
  std::unique_ptr<AgentStream> agent = harness_.agents().Connect(&agent_context);
  bdcoord::v1::AgentMessage hello;
  hello.mutable_hello()->set_host("h1");
  ASSERT_TRUE(agent->Write(hello));
  ASSERT_TRUE(WaitFor([&] { return open("agent") == 1; }));

  watch.context->TryCancel();
  End(watch);
  EXPECT_TRUE(WaitFor([&] { return open("events") == 0; }));
  agent_context.TryCancel();
  agent->Finish();
  EXPECT_TRUE(WaitFor([&] { return open("agent") == 0; }));
  EXPECT_EQ(open("logs"), 0);
}

TEST_F(CoordinatorStreamsTest, SlowLogReaderGetsTheDroppedMarker) {
  CoordinatorHarness::Options options;
  options.log_stream_queue_bytes = 1 << 20;  // 4 MiB in bdcoordd; the same code
  Start(options);
  coordinator::AppliedCluster applied;
  applied.name = "big";
  applied.spec.set_cluster("big");
  applied.placement.set_cluster("big");
  bdcoord::v1::PlacedInstance* placed = applied.placement.add_instances();
  placed->set_name("chatty1");
  placed->set_service("chatty");
  placed->set_host("h1");
  placed->set_ip("10.70.0.1");
  ASSERT_TRUE(harness_.store().ApplyCluster(applied).ok());
  // 16 MiB of lines while the client reads nothing: most must go.
  constexpr int kLines = 256;
  constexpr size_t kLineBytes = 64 * 1024;
  BulkLogAgent agent(&harness_.agents(), "h1", kLines, kLineBytes);
  ASSERT_TRUE(WaitFor([&] {
    auto host = harness_.inventory().Find("h1");
    return host.has_value() && host->connected;
  }));

  // A client that buffers little of what it does not read (no growing HTTP/2 window).
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024);
  auto client = bdcoord::v1::ClusterService::NewStub(
      grpc::CreateCustomChannel(harness_.address(), grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  bdcoord::v1::StreamLogsRequest request;
  request.set_target("chatty1");
  auto reader = client->StreamLogs(&context, request);
  ASSERT_TRUE(WaitFor(
      [&] { return agent.done() && harness_.agent_service().logs()->open_requests() == 0; }));
  size_t lines = 0, text_bytes = 0, dropped = 0, markers = 0;
  bdcoord::v1::LogLine line;
  while (reader->Read(&line)) {
    EXPECT_EQ(line.instance(), "chatty1");
    if (line.text().rfind("[... ", 0) == 0) {
      ++markers;
      ASSERT_EQ(std::sscanf(line.text().c_str(), "[... %zu bytes dropped ...]", &dropped), 1)
          << line.text();
      EXPECT_EQ(line.text(), absl::StrCat("[... ", dropped, " bytes dropped ...]"));
      continue;
    }
    ++lines;
    text_bytes += line.text().size();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(markers, 1u);
  EXPECT_EQ(text_bytes + dropped, kLines * kLineBytes);
  EXPECT_GT(dropped, 0u);
  // Queued: at most the cap, plus what gRPC had taken already before the client read.
  EXPECT_LE(text_bytes, size_t{4} << 20);
  std::printf("%zu lines (%zu bytes) delivered, %zu bytes dropped\n", lines, text_bytes, dropped);
}

TEST_F(CoordinatorStreamsTest, ShutdownEndsStreamsAndAgentsAtOnce) {
  Start({});
  BulkLogAgent agent(&harness_.agents(), "h1", 0, 0);
  ASSERT_TRUE(WaitFor([&] {
    auto host = harness_.inventory().Find("h1");
    return host.has_value() && host->connected;
  }));
  Watch watch = OpenWatch();
  ASSERT_TRUE(WaitFor([&] { return OpenStreams() == 1; }));
  const absl::Time start = absl::Now();
  harness_.StopServer();
  // Without cancelling them first, the server would wait out its grace period (and, with a
  // blocked reactor, for ever).
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  const grpc::Status status = End(watch);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "the coordinator is shutting down");
  EXPECT_FALSE(harness_.inventory().Find("h1")->connected);
  EXPECT_EQ(OpenStreams(), 0u);
  // And it serves again.
  ASSERT_TRUE(harness_.StartServer().ok());
  Watch after = OpenWatch();
  EXPECT_TRUE(WaitFor([&] { return OpenStreams() == 1; }));
  after.context->TryCancel();
  End(after);
}

// bdcoordd's own flags for these limits: a bad value is a usage error (exit 2) naming it.
TEST(BdcoorddStreamFlagsTest, BadValuesAreRefused) {
  const std::string binary = std::string(BDCOORD_BINARY_DIR) + "/coordinator/bdcoordd";
  if (!std::filesystem::exists(binary)) GTEST_SKIP() << "bdcoordd is not built: " << binary;
  auto run = [&binary](const std::string& flags, int* code) {
    std::string output;
    FILE* pipe = popen((binary + " " + flags + " --data-dir /nonexistent/x 2>&1").c_str(), "r");
    char buffer[512];
    while (pipe != nullptr && std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    const int status = pipe == nullptr ? -1 : pclose(pipe);
    *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return output;
  };
  int code = 0;
  EXPECT_EQ(run("--forget-hosts-after 5x", &code),
            "--forget-hosts-after: '5x' is not a positive duration (such as 24h, 90m, 30s, or "
            "inf for never)\nRun with --help for more information.\n");
  EXPECT_EQ(code, 2);
  EXPECT_EQ(run("--forget-hosts-after 0s", &code),
            "--forget-hosts-after: '0s' is not a positive duration (such as 24h, 90m, 30s, or "
            "inf for never)\nRun with --help for more information.\n");
  EXPECT_EQ(code, 2);
  EXPECT_EQ(run("--max-streams 0", &code),
            "--max-streams: Value 0 not in range 1 to 1000000\nRun with --help for more "
            "information.\n");
  EXPECT_EQ(code, 2);
  EXPECT_EQ(run("--max-streams-per-client 0", &code),
            "--max-streams-per-client: Value 0 not in range 1 to 1000000\nRun with --help for "
            "more information.\n");
  EXPECT_EQ(code, 2);
}

}  // namespace
}  // namespace bdcoord
