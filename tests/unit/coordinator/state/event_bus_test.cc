#include "coordinator/state/event_bus.h"

#include <google/protobuf/util/time_util.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace bdcoord::coordinator {
namespace {

using google::protobuf::util::TimeUtil;

bdcoord::v1::Event MakeEvent(const std::string& cluster, const std::string& instance,
                             const std::string& kind) {
  bdcoord::v1::Event event;
  event.set_cluster(cluster);
  event.set_instance(instance);
  event.set_kind(kind);
  return event;
}

// A clock the test moves by hand.
struct FakeClock {
  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  std::function<absl::Time()> Fn() {
    return [this] { return now; };
  }
};

// Everything that is queued right now (Next with a deadline in the past does not wait).
std::vector<bdcoord::v1::Event> Drain(EventBus::Subscription* subscription) {
  std::vector<bdcoord::v1::Event> events;
  while (auto event = subscription->Next(absl::InfinitePast())) events.push_back(*event);
  return events;
}

TEST(EventBusTest, DeliversInOrderAndFillsTheTimeFromTheClock) {
  FakeClock clock;
  EventBus bus(clock.Fn());
  auto subscription = bus.Subscribe("");
  bus.Publish(MakeEvent("c", "zk1", "created"));
  clock.now += absl::Seconds(2);
  bus.Publish(MakeEvent("c", "zk1", "started"));
  bdcoord::v1::Event with_time = MakeEvent("c", "zk1", "ready");
  *with_time.mutable_time() = TimeUtil::SecondsToTimestamp(42);
  bus.Publish(with_time);

  const auto events = Drain(subscription.get());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind(), "created");
  EXPECT_EQ(events[1].kind(), "started");
  EXPECT_EQ(events[2].kind(), "ready");
  EXPECT_EQ(TimeUtil::TimestampToSeconds(events[0].time()), 1'700'000'000);
  EXPECT_EQ(TimeUtil::TimestampToSeconds(events[1].time()), 1'700'000'002);
  EXPECT_EQ(TimeUtil::TimestampToSeconds(events[2].time()), 42);  // a set time is kept
}

TEST(EventBusTest, ClusterFilterKeepsItsClusterAndHostEvents) {
  EventBus bus([] { return absl::Now(); });
  auto only_a = bus.Subscribe("a");
  auto all = bus.Subscribe("");
  bus.Publish(MakeEvent("a", "zk1", "started"));
  bus.Publish(MakeEvent("b", "kafka1", "started"));
  bdcoord::v1::Event host_down;
  host_down.set_host("h1");
  host_down.set_kind("host-down");
  bus.Publish(host_down);

  const auto a_events = Drain(only_a.get());
  ASSERT_EQ(a_events.size(), 2u);
  EXPECT_EQ(a_events[0].instance(), "zk1");
  EXPECT_EQ(a_events[1].kind(), "host-down");
  EXPECT_EQ(Drain(all.get()).size(), 3u);
}

TEST(EventBusTest, OnlyEventsAfterSubscribing) {
  EventBus bus([] { return absl::Now(); });
  bus.Publish(MakeEvent("a", "zk1", "created"));
  auto subscription = bus.Subscribe("");
  EXPECT_TRUE(Drain(subscription.get()).empty());
}

TEST(EventBusTest, SlowSubscriberLosesTheOldestAndIsToldHowMany) {
  FakeClock clock;
  EventBus bus(clock.Fn(), /*queue_capacity=*/3);
  auto slow = bus.Subscribe("a");
  auto other = bus.Subscribe("");
  for (int i = 1; i <= 5; ++i) {
    clock.now += absl::Seconds(1);
    bus.Publish(MakeEvent("a", "zk" + std::to_string(i), "started"));
  }
  const auto events = Drain(slow.get());
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kind(), kEventDropped);
  EXPECT_EQ(events[0].message(), "dropped 2 events: this watcher did not keep up");
  EXPECT_EQ(events[0].cluster(), "a");
  // Stamped with the newest lost event's time, so times stay in order.
  EXPECT_EQ(TimeUtil::TimestampToSeconds(events[0].time()), 1'700'000'002);
  EXPECT_EQ(events[1].instance(), "zk3");
  EXPECT_EQ(events[3].instance(), "zk5");

  // Once told, the count starts over.
  bus.Publish(MakeEvent("a", "zk6", "started"));
  const auto later = Drain(slow.get());
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].instance(), "zk6");
  EXPECT_EQ(Drain(other.get()).front().kind(), kEventDropped);  // each queue on its own
}

TEST(EventBusTest, NextWaitsUntilAnEventOrTheDeadline) {
  EventBus bus([] { return absl::Now(); });
  auto subscription = bus.Subscribe("");
  const absl::Time start = absl::Now();
  EXPECT_FALSE(subscription->Next(start + absl::Milliseconds(50)).has_value());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));

  std::thread publisher([&] { bus.Publish(MakeEvent("a", "zk1", "ready")); });
  auto event = subscription->Next(absl::Now() + absl::Seconds(10));
  publisher.join();
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->kind(), "ready");
}

TEST(EventBusTest, PublishNeverBlocksOnASubscriberThatDoesNotRead) {
  EventBus bus([] { return absl::Now(); }, /*queue_capacity=*/8);
  auto idle = bus.Subscribe("");
  std::atomic<bool> done{false};
  std::thread publisher([&] {
    for (int i = 0; i < 100000; ++i) bus.Publish(MakeEvent("a", "x", "started"));
    done = true;
  });
  publisher.join();
  EXPECT_TRUE(done);
  const auto events = Drain(idle.get());
  ASSERT_EQ(events.size(), 9u);
  EXPECT_EQ(events[0].message(), "dropped 99992 events: this watcher did not keep up");
}

TEST(EventBusTest, UnsubscribesOnDestructionAndEndsWithTheBus) {
  auto bus = std::make_unique<EventBus>([] { return absl::Now(); });
  {
    auto subscription = bus->Subscribe("");
    EXPECT_EQ(bus->subscribers(), 1u);
  }
  EXPECT_EQ(bus->subscribers(), 0u);
  auto survivor = bus->Subscribe("");
  bus.reset();
  const absl::Time start = absl::Now();
  EXPECT_FALSE(survivor->Next(absl::Now() + absl::Seconds(10)).has_value());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));  // at once, not at the deadline
}

TEST(EventBusTest, OnEventCuesAReaderThatDoesNotWait) {
  FakeClock clock;
  EventBus bus(clock.Fn());
  int cues = 0;
  auto subscription = bus.Subscribe("a", [&cues] { ++cues; });
  EXPECT_FALSE(subscription->TryNext().has_value());
  bus.Publish(MakeEvent("a", "x", kEventStarted));
  bus.Publish(MakeEvent("b", "y", kEventStarted));  // filtered out: no cue
  bus.Publish(MakeEvent("", "", kEventHostUp));
  EXPECT_EQ(cues, 2);
  ASSERT_TRUE(subscription->TryNext().has_value());
  ASSERT_TRUE(subscription->TryNext().has_value());
  EXPECT_FALSE(subscription->TryNext().has_value());
  subscription.reset();
  bus.Publish(MakeEvent("a", "x", kEventReady));  // unsubscribed: the callback is gone
  EXPECT_EQ(cues, 2);
}

}  // namespace
}  // namespace bdcoord::coordinator
