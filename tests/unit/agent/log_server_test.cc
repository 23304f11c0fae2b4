#include "agent/log_server.h"

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/docker/labels.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/wait_for.h"
#include "tests/testing/fake_docker_client.h"

namespace bdcoord::agent {
namespace {

using test_util::WaitFor;
using ::testing::ElementsAre;

// Containers with scripted logs; a follow keeps the stream open, printing what Print adds, until
// options.stop says so.
class LogsDocker : public testing::FakeDockerClient {
 public:
  void Add(const std::string& name, bool ours, std::vector<LogLine> lines) {
    absl::MutexLock lock(&mu_);
    ContainerInfo info;
    info.id = "id-" + name;
    info.name = name;
    if (ours) info.labels[kClusterLabel] = "c";
    containers_[name] = info;
    lines_[info.id] = std::move(lines);
  }
  void Print(const std::string& id, LogLine line) {
    absl::MutexLock lock(&mu_);
    lines_[id].push_back(std::move(line));
  }
  std::vector<std::string> logs_called() {
    absl::MutexLock lock(&mu_);
    return logs_called_;
  }
  std::vector<LogOptions> options() {
    absl::MutexLock lock(&mu_);
    return options_;
  }

  absl::StatusOr<ContainerInfo> InspectContainer(const std::string& name) override {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(name);
    if (it == containers_.end()) return absl::NotFoundError("No such container: " + name);
    return it->second;
  }
  absl::Status Logs(const std::string& id, const LogOptions& options,
                    const std::function<bool(const LogLine&)>& on_line) override {
    {
      absl::MutexLock lock(&mu_);
      logs_called_.push_back(id);
      options_.push_back(options);
    }
    size_t next = 0;
    while (true) {
      std::vector<LogLine> fresh;
      {
        absl::MutexLock lock(&mu_);
        auto& all = lines_[id];
        fresh.assign(all.begin() + next, all.end());
        next = all.size();
      }
      for (const auto& line : fresh) {
        if (!on_line(line)) return absl::OkStatus();
      }
      if (!options.follow) return absl::OkStatus();
      if (options.stop && options.stop()) return absl::OkStatus();
      absl::SleepFor(absl::Milliseconds(5));  // a fake dockerd's idle stream
    }
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, ContainerInfo> containers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<LogLine>> lines_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> logs_called_ ABSL_GUARDED_BY(mu_);
  std::vector<LogOptions> options_ ABSL_GUARDED_BY(mu_);
};

// Every chunk sent to the coordinator.
struct Sent {
  absl::Mutex mu;
  std::vector<bdcoord::v1::AgentLogChunk> chunks ABSL_GUARDED_BY(mu);
  bool fail = false;  // like a broken stream

  LogServer::Sender Sender() {
    return [this](const bdcoord::v1::AgentLogChunk& chunk) {
      absl::MutexLock lock(&mu);
      if (fail) return false;
      chunks.push_back(chunk);
      return true;
    };
  }
  std::vector<bdcoord::v1::AgentLogChunk> Get() {
    absl::MutexLock lock(&mu);
    return chunks;
  }
  bool Ended(uint64_t id) {
    for (const auto& chunk : Get()) {
      if (chunk.request_id() == id && chunk.end()) return true;
    }
    return false;
  }
  std::vector<std::string> Lines(uint64_t id) {
    std::vector<std::string> lines;
    for (const auto& chunk : Get()) {
      if (chunk.request_id() != id) continue;
      for (const auto& line : chunk.lines()) {
        lines.push_back((chunk.stderr() ? "E " : "O ") + line);
      }
    }
    return lines;
  }
};

bdcoord::v1::LogRequest Request(uint64_t id, const std::string& container, bool follow = false,
                                int tail = 0) {
  bdcoord::v1::LogRequest request;
  request.set_request_id(id);
  request.set_container(container);
  request.set_follow(follow);
  request.set_tail(tail);
  return request;
}

LogLine Out(const std::string& text) { return {LogLine::Stream::kStdout, text}; }
LogLine Err(const std::string& text) { return {LogLine::Stream::kStderr, text}; }

TEST(LogServerTest, ServesABdcoordContainerInOrderThenEnds) {
  LogsDocker docker;
  docker.Add("zk1", true, {Out("one"), Err("two"), Out("three")});
  Sent sent;
  LogServer server(&docker, sent.Sender());
  server.Handle(Request(7, "zk1", false, 2));
  ASSERT_TRUE(WaitFor([&] { return sent.Ended(7); }));
  EXPECT_THAT(sent.Lines(7), ElementsAre("O one", "E two", "O three"));
  const auto chunks = sent.Get();
  EXPECT_TRUE(chunks.back().end());
  EXPECT_TRUE(chunks.back().error().empty());
  EXPECT_EQ(chunks.back().instance(), "zk1");
  ASSERT_EQ(docker.options().size(), 1u);
  EXPECT_EQ(docker.options()[0].tail, 2);
  EXPECT_FALSE(docker.options()[0].follow);
  EXPECT_TRUE(WaitFor([&] { return server.active() == 0; }));
}

TEST(LogServerTest, NeverServesAContainerThatIsNotBdcoords) {
  LogsDocker docker;
  docker.Add("nginx", false, {Out("secret")});
  Sent sent;
  LogServer server(&docker, sent.Sender());
  server.Handle(Request(1, "nginx"));
  server.Handle(Request(2, "ghost"));
  ASSERT_TRUE(WaitFor([&] { return sent.Ended(1) && sent.Ended(2); }));
  for (const auto& chunk : sent.Get()) EXPECT_EQ(chunk.lines_size(), 0);
  const auto chunks = sent.Get();
  std::map<uint64_t, std::string> errors;
  for (const auto& chunk : chunks) errors[chunk.request_id()] = chunk.error();
  EXPECT_EQ(errors[1],
            "container 'nginx' is not managed by bdcoord (no label io.bdcoord.cluster): its logs "
            "are not served");
  EXPECT_EQ(errors[2], "no container named 'ghost' on this host");
  EXPECT_TRUE(docker.logs_called().empty());  // Docker's logs were never even opened
}

TEST(LogServerTest, BatchesLinesIntoChunks) {
  LogsDocker docker;
  std::vector<LogLine> lines;
  for (int i = 0; i < 200; ++i) lines.push_back(Out(absl::StrCat("line ", i)));
  docker.Add("kafka1", true, lines);
  Sent sent;
  LogServerOptions options;
  options.max_lines_per_chunk = 64;
  LogServer server(&docker, sent.Sender(), options);
  server.Handle(Request(3, "kafka1"));
  ASSERT_TRUE(WaitFor([&] { return sent.Ended(3); }));
  EXPECT_EQ(sent.Lines(3).size(), 200u);
  EXPECT_EQ(sent.Lines(3).back(), "O line 199");
  size_t with_lines = 0;
  for (const auto& chunk : sent.Get()) {
    EXPECT_LE(chunk.lines_size(), 64);
    with_lines += chunk.lines_size() > 0 ? 1 : 0;
  }
  EXPECT_GE(with_lines, 4u);   // 200 / 64, rounded up
  EXPECT_LE(with_lines, 20u);  // batched, not one chunk per line
}

TEST(LogServerTest, ChunksHoldAtMost64KiBOfLines) {
  LogsDocker docker;
  std::vector<LogLine> lines;
  for (int i = 0; i < 64; ++i) lines.push_back(Out(std::string(10 * 1024, 'a' + i % 26)));
  docker.Add("flink1", true, lines);
  Sent sent;
  LogServer server(&docker, sent.Sender());  // the defaults: 64 lines, 64 KiB
  server.Handle(Request(4, "flink1"));
  ASSERT_TRUE(WaitFor([&] { return sent.Ended(4); }));
  EXPECT_EQ(sent.Lines(4).size(), 64u);
  for (const auto& chunk : sent.Get()) {
    size_t bytes = 0;
    for (const auto& line : chunk.lines()) bytes += line.size();
    EXPECT_LE(bytes, 64u * 1024);
    EXPECT_LE(chunk.ByteSizeLong(), 64u * 1024 + 1024);
  }
}

TEST(LogServerTest, SplitsLinesLongerThan16KiB) {
  LogsDocker docker;
  // 40,000 bytes of 2-byte characters, then a short line: three pieces, no character cut.
  std::string long_line;
  for (int i = 0; i < 20000; ++i) long_line += "\xc3\xa9";  // é
  docker.Add("drill1", true, {Err(long_line), Err("short")});
  Sent sent;
  LogServer server(&docker, sent.Sender());
  server.Handle(Request(5, "drill1"));
  ASSERT_TRUE(WaitFor([&] { return sent.Ended(5); }));
  const std::vector<std::string> got = sent.Lines(5);
  ASSERT_EQ(got.size(), 4u);
  std::string joined;
  for (size_t i = 0; i < 3; ++i) {
    const std::string piece = got[i].substr(2);  // "E "
    EXPECT_LE(piece.size(), 16u * 1024);
    EXPECT_EQ(piece.size() % 2, 0u) << "a character cut in half";
    joined += piece;
  }
  EXPECT_EQ(joined, long_line);
  EXPECT_EQ(got[3], "E short");
}

TEST(LogServerTest, SplitLineCutsAtCharacterBoundaries) {
  EXPECT_THAT(SplitLine("", 4), ElementsAre(""));
  EXPECT_THAT(SplitLine("abcdefghij", 4), ElementsAre("abcd", "efgh", "ij"));
  // "aé€" is 1 + 2 + 3 bytes: a cut at 4 would split the euro sign.
  EXPECT_THAT(SplitLine("a\xc3\xa9\xe2\x82\xac", 4), ElementsAre("a\xc3\xa9", "\xe2\x82\xac"));
  // Not UTF-8 (only continuation bytes): cut anyway rather than loop.
  EXPECT_THAT(SplitLine("\x80\x80\x80\x80\x80", 2), ElementsAre("\x80\x80", "\x80\x80", "\x80"));
}

TEST(LogServerTest, FollowSendsNewLinesUntilCancelled) {
  LogsDocker docker;
  docker.Add("zk1", true, {Out("boot")});
  Sent sent;
  LogServer server(&docker, sent.Sender());
  server.Handle(Request(9, "zk1", /*follow=*/true));
  ASSERT_TRUE(WaitFor([&] { return sent.Lines(9).size() == 1; }));
  docker.Print("id-zk1", Out("later"));  // within ~100 ms, without more lines to fill a chunk
  ASSERT_TRUE(WaitFor([&] { return sent.Lines(9).size() == 2; }, absl::Seconds(2)));
  EXPECT_FALSE(sent.Ended(9));
  EXPECT_EQ(server.active(), 1u);

  bdcoord::v1::LogRequest cancel;
  cancel.set_request_id(9);
  cancel.set_cancel(true);
  server.Handle(cancel);
  EXPECT_TRUE(WaitFor([&] { return server.active() == 0; }));
}

TEST(LogServerTest, CancelAllAndABrokenStreamEndFollows) {
  LogsDocker docker;
  docker.Add("zk1", true, {Out("boot")});
  docker.Add("zk2", true, {Out("boot")});
  Sent sent;
  LogServer server(&docker, sent.Sender());
  server.Handle(Request(1, "zk1", true));
  ASSERT_TRUE(WaitFor([&] { return sent.Lines(1).size() == 1; }));
  server.CancelAll();  // the stream to the coordinator broke
  EXPECT_TRUE(WaitFor([&] { return server.active() == 0; }));

  server.Handle(Request(2, "zk2", true));
  ASSERT_TRUE(WaitFor([&] { return sent.Lines(2).size() == 1; }));
  {
    absl::MutexLock lock(&sent.mu);
    sent.fail = true;
  }
  docker.Print("id-zk2", Out("nobody hears this"));
  EXPECT_TRUE(WaitFor([&] { return server.active() == 0; }));
}

}  // namespace
}  // namespace bdcoord::agent
