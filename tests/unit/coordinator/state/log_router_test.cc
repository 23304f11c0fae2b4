#include "coordinator/state/log_router.h"

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::ElementsAre;

// Records what the router sends to hosts; hosts in `down` fail like a closed stream.
struct FakeHosts {
  absl::Mutex mu;
  std::vector<std::pair<std::string, bdcoord::v1::LogRequest>> sent;
  std::set<std::string> down;

  LogRouter::Sender Sender() {
    return [this](const std::string& host, const bdcoord::v1::CoordinatorMessage& message) {
      absl::MutexLock lock(&mu);
      if (down.contains(host)) {
        return absl::UnavailableError("host '" + host + "' is not connected");
      }
      sent.emplace_back(host, message.logs());
      return absl::OkStatus();
    };
  }
};

// What one request's callback saw.
struct Seen {
  std::vector<std::string> lines;
  int ends = 0;
  absl::Status status;
  int calls = 0;

  LogRouter::ChunkCallback Callback() {
    return [this](const bdcoord::v1::AgentLogChunk& chunk, const absl::Status& ended) {
      ++calls;
      for (const auto& line : chunk.lines()) lines.push_back(line);
      if (chunk.end()) ++ends;
      if (!ended.ok()) status = ended;
    };
  }
};

bdcoord::v1::AgentLogChunk Chunk(uint64_t id, std::vector<std::string> lines, bool end = false,
                                 const std::string& error = "") {
  bdcoord::v1::AgentLogChunk chunk;
  chunk.set_request_id(id);
  for (auto& line : lines) chunk.add_lines(line);
  chunk.set_end(end);
  chunk.set_error(error);
  return chunk;
}

TEST(LogRouterTest, SendsTheRequestAndRoutesChunksById) {
  FakeHosts hosts;
  LogRouter router(hosts.Sender());
  Seen a, b;
  auto id_a = router.RequestLogs("h1", "zk1", "zk1", /*follow=*/true, /*tail=*/10, a.Callback());
  auto id_b = router.RequestLogs("h2", "zk2", "zk2", /*follow=*/false, /*tail=*/0, b.Callback());
  ASSERT_TRUE(id_a.ok() && id_b.ok());
  EXPECT_NE(*id_a, *id_b);
  ASSERT_EQ(hosts.sent.size(), 2u);
  EXPECT_EQ(hosts.sent[0].first, "h1");
  EXPECT_EQ(hosts.sent[0].second.request_id(), *id_a);
  EXPECT_EQ(hosts.sent[0].second.container(), "zk1");
  EXPECT_TRUE(hosts.sent[0].second.follow());
  EXPECT_EQ(hosts.sent[0].second.tail(), 10);
  EXPECT_FALSE(hosts.sent[0].second.cancel());

  router.Dispatch("h1", Chunk(*id_a, {"a1", "a2"}));
  router.Dispatch("h2", Chunk(*id_b, {"b1"}));
  router.Dispatch("h1", Chunk(*id_a, {"a3"}));
  router.Dispatch("h2", Chunk(*id_b, {}, /*end=*/true));
  EXPECT_THAT(a.lines, ElementsAre("a1", "a2", "a3"));
  EXPECT_THAT(b.lines, ElementsAre("b1"));
  EXPECT_EQ(b.ends, 1);
  EXPECT_TRUE(b.status.ok());
  EXPECT_EQ(router.open_requests(), 1u);  // b ended, a is open

  router.Dispatch("h2", Chunk(*id_b, {"late"}));  // after its end: dropped
  EXPECT_THAT(b.lines, ElementsAre("b1"));
}

TEST(LogRouterTest, ChunksFromAnotherHostOrUnknownIdsAreDropped) {
  FakeHosts hosts;
  LogRouter router(hosts.Sender());
  Seen a;
  auto id = router.RequestLogs("h1", "zk1", "zk1", true, 0, a.Callback());
  ASSERT_TRUE(id.ok());
  router.Dispatch("h2", Chunk(*id, {"spoofed"}));
  router.Dispatch("h1", Chunk(*id + 100, {"unknown"}));
  EXPECT_EQ(a.calls, 0);
}

TEST(LogRouterTest, AgentErrorEndsTheRequestWithItsMessage) {
  FakeHosts hosts;
  LogRouter router(hosts.Sender());
  Seen a;
  auto id = router.RequestLogs("h1", "web1", "web1", false, 0, a.Callback());
  ASSERT_TRUE(id.ok());
  router.Dispatch("h1", Chunk(*id, {}, true, "no container named 'web1' on this host"));
  EXPECT_EQ(a.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(a.status.message(),
            "logs of 'web1' on host 'h1': no container named 'web1' on this host");
  EXPECT_EQ(router.open_requests(), 0u);
}

TEST(LogRouterTest, SendFailureReturnsTheErrorAndKeepsNothing) {
  FakeHosts hosts;
  hosts.down.insert("h1");
  LogRouter router(hosts.Sender());
  Seen a;
  auto id = router.RequestLogs("h1", "zk1", "zk1", true, 0, a.Callback());
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(id.status().message(), "host 'h1' is not connected");
  EXPECT_EQ(router.open_requests(), 0u);
}

TEST(LogRouterTest, CancelSendsACancelAndStopsCallbacks) {
  FakeHosts hosts;
  LogRouter router(hosts.Sender());
  Seen a;
  auto id = router.RequestLogs("h1", "zk1", "zk1", true, 0, a.Callback());
  ASSERT_TRUE(id.ok());
  router.Dispatch("h1", Chunk(*id, {"one"}));
  router.CancelLogs(*id);
  ASSERT_EQ(hosts.sent.size(), 2u);
  EXPECT_EQ(hosts.sent[1].first, "h1");
  EXPECT_EQ(hosts.sent[1].second.request_id(), *id);
  EXPECT_TRUE(hosts.sent[1].second.cancel());
  router.Dispatch("h1", Chunk(*id, {"two"}));
  EXPECT_THAT(a.lines, ElementsAre("one"));
  EXPECT_EQ(router.open_requests(), 0u);

  router.CancelLogs(*id);  // twice: nothing more goes out
  EXPECT_EQ(hosts.sent.size(), 2u);
}

TEST(LogRouterTest, EndedRequestsGetNoCancel) {
  FakeHosts hosts;
  LogRouter router(hosts.Sender());
  Seen a;
  auto id = router.RequestLogs("h1", "zk1", "zk1", false, 0, a.Callback());
  ASSERT_TRUE(id.ok());
  router.Dispatch("h1", Chunk(*id, {"x"}, true));
  router.CancelLogs(*id);
  EXPECT_EQ(hosts.sent.size(), 1u);
}

TEST(LogRouterTest, HostDisconnectEndsItsRequestsWithUnavailable) {
  FakeHosts hosts;
  LogRouter router(hosts.Sender());
  Seen on_h1, also_h1, on_h2;
  ASSERT_TRUE(router.RequestLogs("h1", "zk1", "zk1", true, 0, on_h1.Callback()).ok());
  ASSERT_TRUE(router.RequestLogs("h1", "kafka1", "kafka1", true, 0, also_h1.Callback()).ok());
  ASSERT_TRUE(router.RequestLogs("h2", "zk2", "zk2", true, 0, on_h2.Callback()).ok());
  router.HostDisconnected("h1");
  EXPECT_EQ(on_h1.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(on_h1.status.message(),
            "host 'h1' is not connected any more: it disconnected while streaming the logs of "
            "'zk1'");
  EXPECT_EQ(on_h1.ends, 1);
  EXPECT_EQ(also_h1.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(on_h2.calls, 0);
  EXPECT_EQ(router.open_requests(), 1u);
}

TEST(LogRouterTest, NoCallbackRunsAfterCancelReturns) {
  FakeHosts hosts;
  LogRouter router(hosts.Sender());
  absl::Notification in_callback;
  absl::Notification release;
  std::atomic<bool> cancel_returned{false};
  std::atomic<bool> callback_after_cancel{false};
  auto id = router.RequestLogs("h1", "zk1", "zk1", true, 0,
                               [&](const bdcoord::v1::AgentLogChunk&, const absl::Status&) {
                                 if (cancel_returned) callback_after_cancel = true;
                                 if (!in_callback.HasBeenNotified()) in_callback.Notify();
                                 release.WaitForNotification();
                                 if (cancel_returned) callback_after_cancel = true;
                               });
  ASSERT_TRUE(id.ok());
  std::thread agent([&] { router.Dispatch("h1", Chunk(*id, {"slow"})); });
  in_callback.WaitForNotification();
  std::thread canceller([&] {
    router.CancelLogs(*id);
    cancel_returned = true;
  });
  // CancelLogs must wait for the running callback: it must not return within 300 ms (a wrong
  // router returns at once, and the callback then runs on after it).
  const absl::Time deadline = absl::Now() + absl::Milliseconds(300);
  while (!cancel_returned && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_FALSE(cancel_returned.load());
  release.Notify();
  agent.join();
  canceller.join();
  EXPECT_TRUE(cancel_returned);
  EXPECT_FALSE(callback_after_cancel);
}

}  // namespace
}  // namespace bdcoord::coordinator
