// A re-apply that changes only the content of a file with on_change signal or none is no rollout:
// the spec hash leaves that content out, so the coordinator sees every instance as updated.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "coordinator/plan/rollout.h"
#include "coordinator/spec/spec_loader.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::Rollout;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

// zk1..zk3 on h1..h3, each with /conf/app.cfg of this content and on_change.
ClusterVersion Version(const std::string& content, const std::string& on_change) {
  ClusterVersion version;
  for (int i = 1; i <= 3; ++i) {
    InstanceVersion& instance = version["zk" + std::to_string(i)];
    instance.host = "h" + std::to_string(i);
    instance.desired.set_name("zk" + std::to_string(i));
    instance.desired.set_service("zk");
    instance.desired.set_index(i);
    auto* file = instance.desired.add_files();
    file->set_path("/conf/app.cfg");
    file->set_content(content);
    file->set_on_change(on_change);
  }
  return version;
}

TEST(PlanRollout, OnlyANonRestartFilesContentChangedIsNoRollout) {
  LoadedSpec loaded = LoadSpec("cluster: c\nservices:\n  zk: {image: i, ready: {tcp: 2181}}\n");
  ASSERT_TRUE(loaded.diagnostics.empty());
  for (const char* on_change : {"signal:SIGHUP", "none"}) {
    const Rollout rollout = PlanRollout(loaded.spec, Version("v1", on_change), Rollout(),
                                        Version("v2", on_change), kT0);
    EXPECT_EQ(rollout.steps_size(), 0) << on_change;
  }
  const Rollout restart =
      PlanRollout(loaded.spec, Version("v1", ""), Rollout(), Version("v2", ""), kT0);
  EXPECT_EQ(restart.steps_size(), 3) << "a restart file's change rolls, one at a time";
  const Rollout switched =
      PlanRollout(loaded.spec, Version("v1", ""), Rollout(), Version("v1", "signal:SIGHUP"), kT0);
  EXPECT_EQ(switched.steps_size(), 3) << "changing on_change itself replaces the containers";
}

}  // namespace
}  // namespace bdcoord::coordinator
