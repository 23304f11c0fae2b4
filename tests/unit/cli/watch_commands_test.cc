#include "cli/watch_commands.h"

#include <google/protobuf/util/time_util.h>

#include "gtest/gtest.h"

namespace bdcoord::cli {
namespace {

bdcoord::v1::Event MakeEvent() {
  bdcoord::v1::Event event;
  *event.mutable_time() =
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(1'700'000'000'250);
  event.set_cluster("kafka");
  event.set_instance("zk1");
  event.set_host("h1");
  event.set_kind("failed");
  event.set_message("exit code 3: zoo.cfg missing");
  return event;
}

TEST(WatchCommandsTest, LogLineIsPrefixedWithItsInstance) {
  bdcoord::v1::LogLine line;
  line.set_instance("zk2");
  line.set_text("serving on 2181");
  EXPECT_EQ(LogLineText(line), "zk2 | serving on 2181\n");
}

TEST(WatchCommandsTest, EventLineNamesClusterInstanceAndHost) {
  EXPECT_EQ(
      EventLine(MakeEvent()),
      "2023-11-14T22:13:20.250Z  failed     kafka/zk1 (on h1): exit code 3: zoo.cfg missing\n");
  bdcoord::v1::Event host = MakeEvent();
  host.clear_cluster();
  host.clear_instance();
  host.set_kind("host-down");
  host.set_message("disconnected");
  EXPECT_EQ(EventLine(host), "2023-11-14T22:13:20.250Z  host-down  host h1: disconnected\n");
}

TEST(WatchCommandsTest, EventJsonIsOneObjectPerLine) {
  EXPECT_EQ(EventJson(MakeEvent()),
            R"({"time":"2023-11-14T22:13:20.250Z","kind":"failed","cluster":"kafka",)"
            R"("instance":"zk1","host":"h1","message":"exit code 3: zoo.cfg missing"})"
            "\n");
}

// Before the first event (which may take long), the watcher says on stderr what it watches.
TEST(WatchCommandsTest, WatchingEventsLineSaysWhatAndSinceWhen) {
  const absl::Time since = absl::FromUnixSeconds(1'700'000'000);
  EXPECT_EQ(WatchingEventsLine("", since),
            "watching the events of every cluster and host since 2023-11-14T22:13:20Z (Ctrl-C to "
            "stop)\n");
  EXPECT_EQ(WatchingEventsLine("bigdata", since),
            "watching the events of cluster 'bigdata' and of every host since "
            "2023-11-14T22:13:20Z (Ctrl-C to stop)\n");
}

}  // namespace
}  // namespace bdcoord::cli
