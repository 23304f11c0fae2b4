#include "agent/reconcile/inspect_cache.h"

#include <gtest/gtest.h>

namespace bdcoord::agent {
namespace {

ContainerInfo Running(const std::string& id) {
  ContainerInfo info;
  info.id = id;
  info.state = "running";
  info.running = true;
  return info;
}

TEST(InspectCacheTest, NothingIsKeptBeforeTheStreamHasShownItIsLive) {
  InspectCache cache;
  cache.Put(cache.Before(), Running("a"));
  EXPECT_FALSE(cache.Get("a")) << "a connection alone does not prove the subscription";
  const InspectCache::Ticket before_live = cache.Before();
  cache.OnEvent("b", "start");
  cache.Put(before_live, Running("a"));
  EXPECT_FALSE(cache.Get("a")) << "begun before the stream was live: a change may be missed";
  cache.Put(cache.Before(), Running("a"));
  ASSERT_TRUE(cache.Get("a"));
  EXPECT_EQ(cache.Get("a")->state, "running");
}

TEST(InspectCacheTest, AChangeDuringAnInspectKeepsItsAnswerOut) {
  InspectCache cache;
  cache.OnEvent("x", "start");
  const InspectCache::Ticket before = cache.Before();
  cache.OnEvent("a", "die");  // while the inspect was on its way
  cache.Put(before, Running("a"));
  EXPECT_FALSE(cache.Get("a"));
  // Another container's change does not matter.
  const InspectCache::Ticket again = cache.Before();
  cache.OnEvent("b", "die");
  cache.Put(again, Running("a"));
  EXPECT_TRUE(cache.Get("a"));
}

TEST(InspectCacheTest, StateChangesForgetQuietActionsDoNot) {
  InspectCache cache;
  cache.OnEvent("x", "start");
  for (const char* quiet : {"exec_create: sh -c true", "exec_start: sh -c true", "exec_die",
                            "attach", "archive-path", "health_status: healthy", "resize"}) {
    cache.Put(cache.Before(), Running("a"));
    cache.OnEvent("a", quiet);
    EXPECT_TRUE(cache.Get("a")) << quiet;
  }
  for (const char* change : {"die", "start", "stop", "kill", "oom", "restart", "pause", "unpause",
                             "rename", "update", "destroy", "something-new"}) {
    cache.Put(cache.Before(), Running("a"));
    cache.OnEvent("a", change);
    EXPECT_FALSE(cache.Get("a")) << change;
  }
}

TEST(InspectCacheTest, TheAgentsOwnActionForgets) {
  InspectCache cache;
  cache.OnEvent("x", "start");
  const InspectCache::Ticket before = cache.Before();
  cache.Put(before, Running("a"));
  cache.Changed("a");
  EXPECT_FALSE(cache.Get("a"));
  cache.Put(before, Running("a"));
  EXPECT_FALSE(cache.Get("a")) << "an inspect begun before the agent's own start is stale";
}

TEST(InspectCacheTest, ALostStreamForgetsEverythingUntilItIsLiveAgain) {
  InspectCache cache;
  cache.OnEvent("x", "start");
  cache.Put(cache.Before(), Running("a"));
  cache.StreamLost();
  EXPECT_FALSE(cache.Get("a"));
  cache.Put(cache.Before(), Running("a"));
  EXPECT_FALSE(cache.Get("a"));
  cache.OnEvent("x", "die");
  cache.Put(cache.Before(), Running("a"));
  EXPECT_TRUE(cache.Get("a"));
}

}  // namespace
}  // namespace bdcoord::agent
