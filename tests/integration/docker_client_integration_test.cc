// The Docker client against the real dockerd of testbed host1 (deploy/testbed.sh up 2; ctest
// runs it as the `testbed` fixture). Everything a test creates is named bdcoord-it-<run>-... and
// labelled bdcoord.it=<run>; the fixture's TearDown removes it, pass or fail. Waits are on
// conditions with deadlines, never fixed sleeps.

#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/docker/docker_client.h"
#include "agent/docker/docker_client_impl.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace bdcoord::agent {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

constexpr char kSocket[] = "/run/bdcoord-testbed/host1/docker.sock";
constexpr char kImage[] = "bdcoord/standin:latest";
constexpr char kParent[] = "eth0";
constexpr char kSubnet[] = "10.251.0.0/24";
constexpr char kGateway[] = "10.251.0.1";
constexpr char kRange[] = "10.251.0.128/26";
constexpr char kLabel[] = "bdcoord.it";
constexpr auto kDeadline = std::chrono::seconds(30);

std::string Msg(const absl::Status& status) { return std::string(status.message()); }

// Polls `condition` until it holds or `timeout` passes; returns whether it held.
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout = kDeadline) {
  const auto deadline = Clock::now() + timeout;
  std::chrono::milliseconds pause(10);
  while (true) {
    if (condition()) return true;
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(250));
  }
}

// DELETE on the daemon with libcurl, for what the client has no call for (volumes).
long RawDelete(const std::string& path) {
  CURL* curl = curl_easy_init();
  const std::string url = "http://docker" + path;
  curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, kSocket);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION,
      +[](char*, size_t size, size_t count, void*) { return size * count; });
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  return status;
}

class DockerClientIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    struct stat st;
    ASSERT_EQ(::stat(kSocket, &st), 0)
        << "no Docker socket at " << kSocket
        << ": the testbed is not up (ctest brings it up as the `testbed` fixture; by hand: "
           "deploy/testbed.sh up 2)";
    DockerClientOptions options;
    options.socket_path = kSocket;
    options.request_timeout = std::chrono::seconds(60);
    absl::StatusOr<std::unique_ptr<DockerClient>> client = NewDockerClient(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    run_ = absl::StrFormat("%d-%06x", getpid(), std::random_device()() & 0xffffff);
    labels_ = {{kLabel, run_}};
  }

  void TearDown() override {
    if (client_ == nullptr) return;
    StopEvents();
    absl::StatusOr<std::vector<ContainerInfo>> containers = client_->ListContainers(labels_);
    EXPECT_TRUE(containers.ok()) << containers.status();
    if (containers.ok()) {
      for (const ContainerInfo& c : *containers) {
        absl::Status status = client_->RemoveContainer(c.id, /*force=*/true);
        EXPECT_TRUE(status.ok() || absl::IsNotFound(status)) << status;
      }
    }
    absl::StatusOr<std::vector<NetworkInfo>> networks = client_->ListNetworks(labels_);
    EXPECT_TRUE(networks.ok()) << networks.status();
    if (networks.ok()) {
      for (const NetworkInfo& n : *networks) {
        absl::Status status = client_->RemoveNetwork(n.config.name);
        EXPECT_TRUE(status.ok() || absl::IsNotFound(status)) << status;
      }
    }
    for (const std::string& volume : volumes_) {
      const long status = RawDelete(absl::StrCat("/volumes/", volume));
      EXPECT_TRUE(status == 204 || status == 404) << volume << ": HTTP " << status;
    }
  }

  std::string Name(const std::string& what) const {
    return absl::StrCat("bdcoord-it-", run_, "-", what);
  }

  NetworkConfig Network() const {
    NetworkConfig config;
    config.name = Name("net");
    config.driver = "macvlan";
    config.parent = kParent;
    config.subnet = kSubnet;
    config.gateway = kGateway;
    config.ip_range = kRange;
    config.labels = labels_;
    return config;
  }

  // Creates (or checks) Network(). dockerd allows one macvlan network per parent interface, so
  // a network that another test left on eth0, or is using right now (ctest runs integration
  // tests one at a time), blocks ours: say so.
  ::testing::AssertionResult EnsureOurNetwork() {
    const absl::Status status = client_->EnsureNetwork(Network());
    if (status.ok()) return ::testing::AssertionSuccess();
    ::testing::AssertionResult failure = ::testing::AssertionFailure() << status;
    if (absl::StrContains(status.message(), "already using parent interface")) {
      failure << " (another Docker network on host1 uses " << kParent
              << ": integration tests must not run concurrently; see `docker -H unix://" << kSocket
              << " network ls`)";
    }
    return failure;
  }

  ContainerConfig Container(const std::string& what, std::vector<std::string> command) const {
    ContainerConfig config;
    config.name = Name(what);
    config.image = kImage;
    config.command = std::move(command);
    config.labels = labels_;
    config.labels["bdcoord.it.role"] = what;
    config.network = Network().name;
    return config;
  }

  // Collects the events of our label in a thread until StopEvents (or TearDown).
  void StartEvents() {
    events_thread_ = std::thread([this] {
      absl::Status status = client_->Events(labels_, [this](const DockerEvent& event) {
        std::lock_guard<std::mutex> lock(events_mu_);
        events_.push_back(event);
        events_cv_.notify_all();
        return !stop_events_;
      });
      std::lock_guard<std::mutex> lock(events_mu_);
      events_status_ = status;
      events_done_ = true;
      events_cv_.notify_all();
    });
  }

  // Waits until an event with this action for this container arrived.
  bool WaitForEvent(const std::string& id, const std::string& action) {
    std::unique_lock<std::mutex> lock(events_mu_);
    return events_cv_.wait_for(lock, kDeadline, [&] {
      return std::any_of(events_.begin(), events_.end(),
                         [&](const DockerEvent& e) { return e.id == id && e.action == action; });
    });
  }

  // Ends the events stream: it returns at the next event of our label once stop_events_ is
  // set, so make one (create and remove a container that is never started).
  void StopEvents() {
    if (!events_thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(events_mu_);
      stop_events_ = true;
    }
    ContainerConfig config = Container("wakeup", {"--exit-code", "0"});
    config.network = "none";  // our network may be gone or never made
    absl::StatusOr<std::string> id = client_->CreateContainer(config);
    if (id.ok()) {
      EXPECT_TRUE(client_->RemoveContainer(*id, true).ok());
    }
    {
      std::unique_lock<std::mutex> lock(events_mu_);
      EXPECT_TRUE(events_cv_.wait_for(lock, kDeadline, [&] { return events_done_; }))
          << "the events stream did not end";
      if (!events_done_) {
        lock.unlock();
        events_thread_.detach();  // cannot happen unless dockerd is broken; do not hang
        return;
      }
    }
    events_thread_.join();
    EXPECT_TRUE(events_status_.ok()) << events_status_;
  }

  std::unique_ptr<DockerClient> client_;
  std::string run_;
  std::map<std::string, std::string> labels_;
  std::vector<std::string> volumes_;

  std::thread events_thread_;
  std::mutex events_mu_;
  std::condition_variable events_cv_;
  std::vector<DockerEvent> events_;
  bool stop_events_ = false;
  bool events_done_ = false;
  absl::Status events_status_;
};

TEST_F(DockerClientIntegrationTest, VersionAndInfo) {
  absl::StatusOr<DockerVersion> version = client_->Version();
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_FALSE(version->version.empty());
  // Debian's docker.io 20.10 speaks 1.41; newer daemons get our newest.
  EXPECT_THAT(version->api_version, StartsWith("1."));
  if (absl::StartsWith(version->version, "20.10")) {
    EXPECT_EQ(version->api_version, "1.41");
  }
  absl::StatusOr<DockerInfo> info = client_->Info();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_FALSE(info->name.empty());
  EXPECT_GE(info->cpus, 1u);
  EXPECT_GT(info->memory_bytes, 0);
}

TEST_F(DockerClientIntegrationTest, InspectImage) {
  absl::StatusOr<ImageInfo> image = client_->InspectImage(kImage);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_TRUE(absl::StartsWith(image->id, "sha256:")) << image->id;
  image = client_->InspectImage(absl::StrCat("bdcoord-it/missing-", run_, ":nope"));
  EXPECT_TRUE(absl::IsNotFound(image.status())) << image.status();
}

TEST_F(DockerClientIntegrationTest, Volumes) {
  const std::string name = Name("vol");
  volumes_.push_back(name);
  absl::StatusOr<VolumeInfo> created = client_->CreateVolume(name, labels_);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->created);
  EXPECT_TRUE(absl::EndsWith(created->mountpoint, "/" + name + "/_data")) << created->mountpoint;
  created = client_->CreateVolume(name, labels_);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_FALSE(created->created) << "it existed: left as it is";
  absl::StatusOr<std::vector<std::string>> volumes = client_->ListVolumes();
  ASSERT_TRUE(volumes.ok()) << volumes.status();
  EXPECT_THAT(*volumes, Contains(name));
  EXPECT_TRUE(client_->RemoveVolume(name).ok());
  EXPECT_EQ(client_->RemoveVolume(name).code(), absl::StatusCode::kNotFound);
}

TEST_F(DockerClientIntegrationTest, ReadPathOfACreatedContainer) {
  ContainerConfig config = Container("read", {});
  config.network = "none";  // no macvlan needed to read the image's files
  absl::StatusOr<std::string> id = client_->CreateContainer(config);
  ASSERT_TRUE(id.ok()) << id.status();
  absl::StatusOr<ArchiveFile> passwd = client_->ReadPath(*id, "/etc/passwd");
  ASSERT_TRUE(passwd.ok()) << passwd.status();
  EXPECT_EQ(passwd->path, "/etc/passwd");
  EXPECT_THAT(passwd->content, HasSubstr("\nstandin:x:1000:1000:"));
  EXPECT_EQ(passwd->owner, "0:0");
  absl::StatusOr<ArchiveFile> home = client_->ReadPath(*id, "/home/standin");
  ASSERT_TRUE(home.ok()) << home.status();
  EXPECT_EQ(home->path, "/home/standin/");
  EXPECT_EQ(home->owner, "1000:1000");
  EXPECT_EQ(home->content, "") << "a directory's own entry, not what it holds";
  EXPECT_EQ(client_->ReadPath(*id, "/etc/nothere").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Msg(client_->ReadPath(*id, "/bin/sh").status()),
            "GET /containers/" + *id + "/archive: \"sh\" is a symbolic link to \"/bin/busybox\"");
}

TEST_F(DockerClientIntegrationTest, NetworkIsIdempotentAndNeverReused) {
  const NetworkConfig config = Network();
  ASSERT_TRUE(EnsureOurNetwork());
  absl::Status status = client_->EnsureNetwork(config);
  ASSERT_TRUE(status.ok()) << status;

  absl::StatusOr<std::vector<NetworkInfo>> networks = client_->ListNetworks(labels_);
  ASSERT_TRUE(networks.ok()) << networks.status();
  ASSERT_EQ(networks->size(), 1u);
  const NetworkConfig& have = (*networks)[0].config;
  EXPECT_EQ(have.name, config.name);
  EXPECT_EQ(have.driver, "macvlan");
  EXPECT_EQ(have.parent, kParent);
  EXPECT_EQ(have.subnet, kSubnet);
  EXPECT_EQ(have.gateway, kGateway);
  EXPECT_EQ(have.ip_range, kRange);
  EXPECT_EQ(have.labels.at(kLabel), run_);

  NetworkConfig other = config;
  other.driver = "ipvlan";
  other.ip_range = "10.251.0.192/26";
  status = client_->EnsureNetwork(other);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            absl::StrCat("network \"", config.name,
                         "\" exists with driver macvlan, want ipvlan; ip_range 10.251.0.128/26, "
                         "want 10.251.0.192/26"));
  networks = client_->ListNetworks(labels_);
  ASSERT_TRUE(networks.ok()) << networks.status();
  ASSERT_EQ(networks->size(), 1u);  // left alone
  EXPECT_EQ((*networks)[0].config.driver, "macvlan");

  ASSERT_TRUE(client_->RemoveNetwork(config.name).ok());
  EXPECT_EQ(client_->RemoveNetwork(config.name).code(), absl::StatusCode::kNotFound);
}

TEST_F(DockerClientIntegrationTest, ContainerLifecycle) {
  ASSERT_TRUE(EnsureOurNetwork());
  const std::string volume = Name("data");
  volumes_.push_back(volume);
  ASSERT_TRUE(client_->CreateVolume(volume, labels_).ok());
  StartEvents();

  const std::string ip = "10.251.0.140";
  ContainerConfig config = Container("app", {"--listen", "8080", "--log-interval", "200ms"});
  config.hostname = "app1";
  config.domainname = "it.bdcoord.test";
  config.ipv4 = ip;
  config.env = {{"BDCOORD_IT", "1"}, {"SPACES", "a b"}};
  const std::string hello = absl::StrCat(::testing::TempDir(), "/", Name("hello"));
  {
    std::ofstream out(hello);
    out << "hello from bdcoord\n";
  }
  config.mounts = {{volume, "/data", false}, {hello, "/etc/bdcoord/hello.txt", true}};
  config.nano_cpus = 500'000'000;
  config.memory_bytes = 256 << 20;
  config.restart_policy = "on-failure";
  config.restart_max_retries = 2;
  absl::StatusOr<std::string> id = client_->CreateContainer(config);
  ASSERT_TRUE(id.ok()) << id.status();

  // The same name again: Docker's conflict, as AlreadyExists.
  absl::StatusOr<std::string> duplicate = client_->CreateContainer(config);
  EXPECT_EQ(duplicate.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(Msg(duplicate.status()),
              StartsWith(absl::StrCat("POST /containers/create: HTTP 409: Conflict. The container "
                                      "name \"/",
                                      config.name, "\" is already in use")));

  ASSERT_TRUE(client_->StartContainer(*id).ok());
  unlink(hello.c_str());  // mounted at the start: the container keeps it
  absl::Status again = client_->StartContainer(*id);
  EXPECT_TRUE(again.ok()) << again;  // 304

  absl::StatusOr<ContainerInfo> info = client_->InspectContainer(config.name);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->id, *id);
  EXPECT_EQ(info->name, config.name);
  EXPECT_EQ(info->image, kImage);
  EXPECT_TRUE(info->running);
  EXPECT_EQ(info->state, "running");
  EXPECT_EQ(info->ipv4, ip);
  EXPECT_FALSE(info->hosts_path.empty());
  EXPECT_FALSE(info->started_at.empty());
  EXPECT_EQ(info->finished_at, "");
  EXPECT_EQ(info->labels.at(kLabel), run_);
  EXPECT_EQ(info->labels.at("bdcoord.it.role"), "app");
  EXPECT_EQ(info->nano_cpus, 500'000'000);
  // The CPU limit of a running container (how the agent sets it, after the start).
  ASSERT_TRUE(client_->SetCpuLimit(*id, 250'000'000).ok());
  absl::StatusOr<ContainerInfo> limited = client_->InspectContainer(*id);
  ASSERT_TRUE(limited.ok()) << limited.status();
  EXPECT_EQ(limited->nano_cpus, 250'000'000);
  EXPECT_TRUE(limited->running);

  // Exec: the bind-mounted file (how the agent hands containers their files), read-only, and
  // exit codes.
  absl::StatusOr<ExecResult> cat = client_->Exec(*id, {"cat", "/etc/bdcoord/hello.txt"}, "");
  ASSERT_TRUE(cat.ok()) << cat.status();
  EXPECT_EQ(cat->exit_code, 0);
  EXPECT_EQ(cat->output, "hello from bdcoord\n");
  absl::StatusOr<ExecResult> write =
      client_->Exec(*id, {"sh", "-c", "echo x > /etc/bdcoord/hello.txt"}, "");
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_NE(write->exit_code, 0) << "mounted read-only";
  absl::StatusOr<ExecResult> hosts = client_->Exec(*id, {"cat", "/etc/hosts"}, "");
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  EXPECT_THAT(hosts->output, HasSubstr(absl::StrCat(ip, "\tapp1.it.bdcoord.test app1")));
  absl::StatusOr<ExecResult> env =
      client_->Exec(*id, {"sh", "-c", "echo \"$SPACES\" >&2; exit 7"}, "");
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->exit_code, 7);
  EXPECT_EQ(env->output, "a b\n");

  // Logs: follow until the start line shows (ticks keep coming, so the deadline is checked).
  const auto deadline = Clock::now() + kDeadline;
  bool started = false;
  absl::Status logs = client_->Logs(*id, LogOptions{.follow = true}, [&](const LogLine& line) {
    if (absl::StartsWith(line.text, "standin: started")) started = true;
    return !started && Clock::now() < deadline;
  });
  ASSERT_TRUE(logs.ok()) << logs;
  EXPECT_TRUE(started);
  // Wait for a few ticks, then tail.
  std::vector<LogLine> tail;
  ASSERT_TRUE(WaitFor([&] {
    tail.clear();
    absl::Status s = client_->Logs(*id, LogOptions{.tail = 2}, [&](const LogLine& line) {
      tail.push_back(line);
      return true;
    });
    return s.ok() && tail.size() == 2 && absl::StrContains(tail[1].text, "tick");
  }));
  EXPECT_EQ(tail[1].stream, LogLine::Stream::kStdout);

  ASSERT_TRUE(WaitForEvent(*id, "start"));

  // Stop: SIGTERM ends standin with 0.
  absl::Status stop = client_->StopContainer(*id, std::chrono::seconds(10));
  ASSERT_TRUE(stop.ok()) << stop;
  stop = client_->StopContainer(*id, std::chrono::seconds(10));
  EXPECT_TRUE(stop.ok()) << stop;  // 304
  info = client_->InspectContainer(*id);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_FALSE(info->running);
  EXPECT_EQ(info->state, "exited");
  EXPECT_EQ(info->exit_code, 0);
  EXPECT_FALSE(info->finished_at.empty());
  ASSERT_TRUE(WaitForEvent(*id, "die"));
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    auto die = std::find_if(events_.begin(), events_.end(),
                            [&](const DockerEvent& e) { return e.id == *id && e.action == "die"; });
    ASSERT_NE(die, events_.end());
    EXPECT_EQ(die->type, "container");
    EXPECT_EQ(die->attributes.at("exitCode"), "0");
    EXPECT_EQ(die->attributes.at("name"), config.name);
    EXPECT_EQ(die->attributes.at(kLabel), run_);
  }

  // Exec needs a running container.
  absl::StatusOr<ExecResult> late = client_->Exec(*id, {"true"}, "");
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition) << late.status();

  // Logs of a stopped container end by themselves, even with follow.
  int lines = 0;
  logs = client_->Logs(*id, LogOptions{.follow = true}, [&](const LogLine&) {
    ++lines;
    return true;
  });
  EXPECT_TRUE(logs.ok()) << logs;
  EXPECT_GT(lines, 2);

  ASSERT_TRUE(client_->RemoveContainer(*id, /*force=*/false).ok());
  absl::StatusOr<ContainerInfo> gone = client_->InspectContainer(*id);
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->RemoveContainer(*id, true).code(), absl::StatusCode::kNotFound);
}

// A follow of a container that prints nothing more ends soon after `stop` says so: curl polls it
// while the stream is idle (at least once a second), not only when a line comes.
TEST_F(DockerClientIntegrationTest, StopEndsAnIdleFollow) {
  ASSERT_TRUE(EnsureOurNetwork());
  absl::StatusOr<std::string> id = client_->CreateContainer(Container("quiet", {}));
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(client_->StartContainer(*id).ok());
  std::atomic<int> lines{0};
  std::atomic<bool> stop{false};
  Clock::time_point stopped_at;
  std::thread stopper([&] {
    // After the start line, standin (no flags) prints nothing more.
    if (WaitFor([&] { return lines > 0; })) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // idle for a while first
    }
    stopped_at = Clock::now();
    stop = true;
  });
  LogOptions options;
  options.follow = true;
  options.stop = [&] { return stop.load(); };
  const absl::Status logs = client_->Logs(*id, options, [&](const LogLine&) {
    ++lines;
    return true;
  });
  const auto ended_at = Clock::now();
  stopper.join();
  EXPECT_TRUE(logs.ok()) << logs;
  EXPECT_GT(lines, 0);
  EXPECT_LT(ended_at - stopped_at, std::chrono::milliseconds(2500));
}

TEST_F(DockerClientIntegrationTest, ExitCodeAndListByLabel) {
  ASSERT_TRUE(EnsureOurNetwork());
  // No static address: the network's range hands one out.
  absl::StatusOr<std::string> job =
      client_->CreateContainer(Container("job", {"--exit-after", "1s", "--exit-code", "3"}));
  ASSERT_TRUE(job.ok()) << job.status();
  absl::StatusOr<std::string> idle = client_->CreateContainer(Container("idle", {}));
  ASSERT_TRUE(idle.ok()) << idle.status();
  ASSERT_TRUE(client_->StartContainer(*job).ok());

  absl::StatusOr<ContainerInfo> info;
  ASSERT_TRUE(WaitFor([&] {
    info = client_->InspectContainer(*job);
    return info.ok() && info->state == "exited";
  })) << (info.ok() ? info->state : info.status().ToString());
  EXPECT_EQ(info->exit_code, 3);

  absl::StatusOr<std::vector<ContainerInfo>> list = client_->ListContainers(labels_);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  std::map<std::string, ContainerInfo> by_name;
  for (const ContainerInfo& c : *list) by_name[c.name] = c;
  EXPECT_EQ(by_name.at(Name("job")).state, "exited");
  EXPECT_EQ(by_name.at(Name("job")).exit_code, 3);
  EXPECT_EQ(by_name.at(Name("idle")).state, "created");
  EXPECT_EQ(by_name.at(Name("idle")).labels.at("bdcoord.it.role"), "idle");

  absl::StatusOr<std::vector<ContainerInfo>> one =
      client_->ListContainers({{kLabel, run_}, {"bdcoord.it.role", "idle"}});
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].id, *idle);
}

}  // namespace
}  // namespace bdcoord::agent
