#ifndef BDCOORD_COORDINATOR_STATE_EVENT_BUS_H_
#define BDCOORD_COORDINATOR_STATE_EVENT_BUS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bdcoord/v1/cluster.pb.h"

namespace bdcoord::coordinator {

// Event kinds published by the coordinator (Event.kind).
inline constexpr char kEventHostUp[] = "host-up";
inline constexpr char kEventHostDown[] = "host-down";
inline constexpr char kEventCreated[] = "created";
inline constexpr char kEventStarted[] = "started";
inline constexpr char kEventReady[] = "ready";
inline constexpr char kEventCompleted[] = "completed";
inline constexpr char kEventFailed[] = "failed";
inline constexpr char kEventRemoved[] = "removed";
// Its container was started again after it exited (by Docker's restart policy or the agent).
inline constexpr char kEventRestarted[] = "restarted";
// Cluster-wide: a spec applied, scaled or re-planned (placed), a cluster taken down (down).
inline constexpr char kEventPlaced[] = "placed";
// Instances moved off a lost host by `reschedule` (per instance), or why they could not be.
inline constexpr char kEventRescheduled[] = "rescheduled";
inline constexpr char kEventRescheduleFailed[] = "reschedule-failed";
inline constexpr char kEventDown[] = "down";
// Sent to a subscriber in place of the events it was too slow to take.
inline constexpr char kEventDropped[] = "dropped";

// An in-process publish/subscribe bus for cluster and host events. Publish never blocks on a
// subscriber: every subscription has a bounded queue, and a subscriber that falls behind loses its
// oldest events and gets one `dropped` event ("dropped N events") in their place. Thread-safe.
class EventBus {
 public:
  class Subscription;

  explicit EventBus(std::function<absl::Time()> now, size_t queue_capacity = 1024);
  ~EventBus();  // ends every subscription (Next returns nullopt at once)

  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  // Delivers the event to every matching subscription; sets `time` from the clock when unset.
  void Publish(bdcoord::v1::Event event);

  // Events of `cluster` plus the events of no cluster (hosts up and down); every event when
  // `cluster` is empty. Only events published after this call are delivered. `on_event`, when
  // set, runs on the publisher's thread after each event is queued (never concurrently with
  // itself, never after the subscription is destroyed): the cue for a reader that does not
  // block (gRPC's callback API) to take it with TryNext. It must not publish or unsubscribe.
  std::unique_ptr<Subscription> Subscribe(const std::string& cluster,
                                          std::function<void()> on_event = nullptr);

  size_t subscribers() const;

 private:
  struct Queue;
  std::function<absl::Time()> now_;
  size_t capacity_;
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<Queue>> queues_ ABSL_GUARDED_BY(mu_);
};

class EventBus::Subscription {
 public:
  ~Subscription();  // unsubscribes

  // The next event, waiting until `deadline`; nullopt at the deadline or when the bus is gone.
  std::optional<bdcoord::v1::Event> Next(absl::Time deadline);
  // The next event if one is queued, without waiting.
  std::optional<bdcoord::v1::Event> TryNext() { return Next(absl::InfinitePast()); }

 private:
  friend class EventBus;
  Subscription(EventBus* bus, std::shared_ptr<Queue> queue);
  EventBus* bus_;  // null once the bus is destroyed (guarded by the queue's mutex)
  std::shared_ptr<Queue> queue_;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_STATE_EVENT_BUS_H_
