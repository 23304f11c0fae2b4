#include "policy/spec_hash.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "absl/strings/str_format.h"
#include "policy/file_on_change.h"

namespace bdcoord::policy {
namespace {

using bdcoord::v1::DesiredInstance;

// The hash as it was computed before files had on_change (0cb4ec5): instances whose files all
// keep the default must keep exactly this hash, or an upgrade would replace their containers.
std::string OldSpecHash(const DesiredInstance& instance) {
  DesiredInstance copy = instance;
  copy.clear_spec_hash();
  copy.clear_completed();
  copy.clear_hold();
  std::string bytes;
  copy.SerializeToString(&bytes);
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return absl::StrFormat("%016x", hash);
}

DesiredInstance Instance() {
  DesiredInstance instance;
  instance.set_cluster("demo");
  instance.set_service("web");
  instance.set_name("web1");
  instance.set_image("nginx");
  instance.set_user("65534:65534");
  auto* file = instance.add_files();
  file->set_path("/etc/a.conf");
  file->set_content("a = 1\n");
  file->set_mode(0644);
  return instance;
}

TEST(SpecHash, DefaultFilesHashAsBefore) {
  DesiredInstance instance = Instance();
  EXPECT_EQ(SpecHash(instance), OldSpecHash(instance));
  instance.mutable_files(0)->set_on_change("");  // restart, the default
  EXPECT_EQ(SpecHash(instance), OldSpecHash(instance));
  // A pinned value: the hash is stable across releases.
  EXPECT_EQ(SpecHash(Instance()), "7bbcec25443c0fea");
}

TEST(SpecHash, RestartFileContentChangesTheHash) {
  DesiredInstance changed = Instance();
  changed.mutable_files(0)->set_content("a = 2\n");
  EXPECT_NE(SpecHash(changed), SpecHash(Instance()));
}

TEST(SpecHash, SignalAndNoneFilesLeaveTheirContentOut) {
  for (const char* on_change : {"signal:SIGHUP", "none"}) {
    DesiredInstance one = Instance();
    one.mutable_files(0)->set_on_change(on_change);
    DesiredInstance two = one;
    two.mutable_files(0)->set_content("something else entirely");
    EXPECT_EQ(SpecHash(one), SpecHash(two)) << on_change;
    // Path, mode and on_change still count.
    DesiredInstance moved = one;
    moved.mutable_files(0)->set_path("/etc/b.conf");
    EXPECT_NE(SpecHash(moved), SpecHash(one)) << on_change;
    DesiredInstance mode = one;
    mode.mutable_files(0)->set_mode(0600);
    EXPECT_NE(SpecHash(mode), SpecHash(one)) << on_change;
    // Switching to or from restart is a change.
    EXPECT_NE(SpecHash(one), SpecHash(Instance())) << on_change;
  }
  DesiredInstance hup = Instance();
  hup.mutable_files(0)->set_on_change("signal:SIGHUP");
  DesiredInstance usr1 = Instance();
  usr1.mutable_files(0)->set_on_change("signal:SIGUSR1");
  EXPECT_NE(SpecHash(hup), SpecHash(usr1));
}

TEST(SpecHash, OnlyTheNonRestartFilesContentIsLeftOut) {
  DesiredInstance instance = Instance();
  auto* reload = instance.add_files();
  reload->set_path("/etc/reload.conf");
  reload->set_content("x");
  reload->set_on_change("signal:SIGHUP");
  DesiredInstance reloaded = instance;
  reloaded.mutable_files(1)->set_content("y");
  EXPECT_EQ(SpecHash(reloaded), SpecHash(instance));
  DesiredInstance restarted = instance;
  restarted.mutable_files(0)->set_content("a = 3\n");
  EXPECT_NE(SpecHash(restarted), SpecHash(instance));
}

TEST(ParseFileOnChange, ParsesEveryMode) {
  EXPECT_EQ(ParseFileOnChange("")->mode, FileOnChange::Mode::kRestart);
  EXPECT_EQ(ParseFileOnChange("restart")->mode, FileOnChange::Mode::kRestart);
  EXPECT_EQ(ParseFileOnChange("none")->mode, FileOnChange::Mode::kNone);
  const auto hup = ParseFileOnChange("signal:SIGHUP");
  ASSERT_TRUE(hup.has_value());
  EXPECT_EQ(hup->mode, FileOnChange::Mode::kSignal);
  EXPECT_EQ(hup->signal, "SIGHUP");
  for (const char* bad : {"signal:", "signal:HUP", "signal:SIGHUPP", "signal:sighup", "Restart",
                          "none ", "signal", "SIGHUP"}) {
    EXPECT_FALSE(ParseFileOnChange(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace bdcoord::policy
