#include "coordinator/state/event_bus.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

namespace bdcoord::coordinator {

struct EventBus::Queue {
  Queue(std::string cluster_filter, std::function<void()> on_event_cb)
      : cluster(std::move(cluster_filter)), on_event(std::move(on_event_cb)) {}

  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return !events.empty() || dropped > 0 || closed;
  }

  const std::string cluster;
  absl::Mutex mu;
  std::deque<bdcoord::v1::Event> events ABSL_GUARDED_BY(mu);
  uint64_t dropped ABSL_GUARDED_BY(mu) = 0;  // lost since the last `dropped` event
  google::protobuf::Timestamp last_dropped ABSL_GUARDED_BY(mu);  // the newest lost event's time
  bool closed ABSL_GUARDED_BY(mu) = false;                       // the bus is gone
  // Held while on_event runs, so the subscription's destructor waits for a running one.
  absl::Mutex notify_mu ABSL_ACQUIRED_BEFORE(mu);
  std::function<void()> on_event ABSL_GUARDED_BY(notify_mu);
};

EventBus::EventBus(std::function<absl::Time()> now, size_t queue_capacity)
    : now_(std::move(now)), capacity_(std::max<size_t>(1, queue_capacity)) {}

EventBus::~EventBus() {
  absl::MutexLock lock(&mu_);
  for (const auto& queue : queues_) {
    absl::MutexLock queue_lock(&queue->mu);
    queue->closed = true;
  }
  queues_.clear();
}

namespace {

google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(time));
}

}  // namespace

void EventBus::Publish(bdcoord::v1::Event event) {
  if (!event.has_time()) *event.mutable_time() = ToTimestamp(now_());
  std::vector<std::shared_ptr<Queue>> queues;
  {
    absl::MutexLock lock(&mu_);
    queues = queues_;
  }
  for (const auto& queue : queues) {
    if (!queue->cluster.empty() && !event.cluster().empty() && event.cluster() != queue->cluster) {
      continue;
    }
    absl::MutexLock notify_lock(&queue->notify_mu);
    {
      absl::MutexLock lock(&queue->mu);
      if (queue->events.size() >= capacity_) {
        // The oldest goes: a slow subscriber never blocks a publisher.
        queue->last_dropped = queue->events.front().time();
        queue->events.pop_front();
        ++queue->dropped;
      }
      queue->events.push_back(event);
    }
    if (queue->on_event) queue->on_event();
  }
}

std::unique_ptr<EventBus::Subscription> EventBus::Subscribe(const std::string& cluster,
                                                            std::function<void()> on_event) {
  auto queue = std::make_shared<Queue>(cluster, std::move(on_event));
  absl::MutexLock lock(&mu_);
  queues_.push_back(queue);
  return std::unique_ptr<Subscription>(new Subscription(this, std::move(queue)));
}

size_t EventBus::subscribers() const {
  absl::MutexLock lock(&mu_);
  return queues_.size();
}

EventBus::Subscription::Subscription(EventBus* bus, std::shared_ptr<Queue> queue)
    : bus_(bus), queue_(std::move(queue)) {}

EventBus::Subscription::~Subscription() {
  {
    // Waits for a callback that is running; none starts after this.
    absl::MutexLock notify_lock(&queue_->notify_mu);
    queue_->on_event = nullptr;
  }
  {
    absl::MutexLock lock(&queue_->mu);
    if (queue_->closed) return;  // the bus is gone
  }
  // The bus outlives its subscriptions in the coordinator; the closed check above covers the
  // other order.
  absl::MutexLock lock(&bus_->mu_);
  auto& queues = bus_->queues_;
  queues.erase(std::remove(queues.begin(), queues.end(), queue_), queues.end());
}

std::optional<bdcoord::v1::Event> EventBus::Subscription::Next(absl::Time deadline) {
  absl::MutexLock lock(&queue_->mu);
  // absl's timed wait can return a little before `deadline` by absl::Now(): wait again then.
  while (!queue_->mu.AwaitWithDeadline(absl::Condition(queue_.get(), &Queue::Ready), deadline) &&
         absl::Now() < deadline) {
  }
  if (queue_->dropped > 0) {
    // Every dropped event is older than every queued one: the notice goes first.
    bdcoord::v1::Event notice;
    notice.set_kind(kEventDropped);
    notice.set_cluster(queue_->cluster);
    notice.set_message(
        absl::StrCat("dropped ", queue_->dropped, " events: this watcher did not keep up"));
    *notice.mutable_time() = queue_->last_dropped;
    queue_->dropped = 0;
    return notice;
  }
  if (queue_->events.empty()) return std::nullopt;
  bdcoord::v1::Event event = std::move(queue_->events.front());
  queue_->events.pop_front();
  return event;
}

}  // namespace bdcoord::coordinator
