#ifndef BDCOORD_TESTS_TESTING_FAKE_DOCKER_CLIENT_H_
#define BDCOORD_TESTS_TESTING_FAKE_DOCKER_CLIENT_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/docker/docker_client.h"
#include "tests/testing/fake_host_files.h"

namespace bdcoord::agent::testing {

// An in-memory Docker for the reconciler's unit tests: containers, networks, images, volumes,
// and injectable failures. Real Docker behaviour is covered by the integration tests.
class FakeDockerClient : public DockerClient {
 public:
  struct Container {
    ContainerConfig config;
    ContainerInfo info;
    std::vector<std::string> logs;
  };

  // Test setup and inspection.
  // An image whose default user (Config.User) is `user`; "" is root, as in Docker.
  void AddImage(const std::string& image, const std::string& user = "nobody") {
    absl::MutexLock lock(&mu_);
    images_[image] = user;
  }
  // A file of the image, e.g. /etc/passwd, that ReadPath finds in its containers.
  void SetImageProgram(const std::string& image, std::vector<std::string> entrypoint,
                       std::vector<std::string> cmd) {
    absl::MutexLock lock(&mu_);
    image_programs_[image] = {std::move(entrypoint), std::move(cmd)};
  }
  void AddImageFile(const std::string& image, const std::string& path, const std::string& content) {
    absl::MutexLock lock(&mu_);
    image_files_[image][path] = ArchiveFile{path, content, 0644, "0:0"};
  }
  // The volumes' directories live in these host files (as the real ones live on the host).
  explicit FakeDockerClient(FakeHostFiles* host_files = nullptr) : host_files_(host_files) {}
  static std::string VolumeMountpoint(const std::string& name) {
    return absl::StrCat("/fake/volumes/", name, "/_data");
  }
  // The labels a volume was made with (by CreateVolume or a container's create).
  std::map<std::string, std::string> VolumeLabels(const std::string& name) {
    absl::MutexLock lock(&mu_);
    return volume_labels_[name];
  }
  bool HasVolume(const std::string& name) {
    absl::MutexLock lock(&mu_);
    return volumes_.contains(name);
  }
  int reads() {
    absl::MutexLock lock(&mu_);
    return reads_;
  }
  // A container that bdcoord does not manage (no labels).
  void AddForeignContainer(const std::string& name) {
    absl::MutexLock lock(&mu_);
    Container c;
    c.info.id = absl::StrCat("foreign", ++next_id_);
    c.info.name = name;
    c.info.state = "running";
    c.info.running = true;
    containers_[c.info.id] = c;
  }
  // Makes a container exit (e.g. a run-once job finishing).
  void Exit(const std::string& name, int code, std::vector<std::string> logs = {}) {
    absl::MutexLock lock(&mu_);
    for (auto& [id, c] : containers_) {
      if (c.info.name != name) continue;
      c.info.state = "exited";
      c.info.running = false;
      c.info.exit_code = code;
      c.logs = std::move(logs);
    }
  }
  // Docker's restart policy at work: the container crashed `restarts` times and is being
  // restarted again.
  void CrashLoop(const std::string& name, int restarts, int code, std::vector<std::string> logs) {
    absl::MutexLock lock(&mu_);
    for (auto& [id, c] : containers_) {
      if (c.info.name != name) continue;
      c.info.state = "restarting";
      c.info.running = true;
      c.info.exit_code = code;
      c.info.restart_count = restarts;
      c.logs = std::move(logs);
    }
  }
  void FailAll(absl::Status status) {
    absl::MutexLock lock(&mu_);
    fail_all_ = std::move(status);
  }
  // Every StartContainer fails with `status` (OK: starts work again).
  // Every StopContainer fails with `status` (a container that will not stop in time).
  void FailStops(absl::Status status) {
    absl::MutexLock lock(&mu_);
    stop_error_ = std::move(status);
  }
  void FailStarts(absl::Status status) {
    absl::MutexLock lock(&mu_);
    start_error_ = std::move(status);
  }
  // Every SetCpuLimit fails with `status` (OK: they work again).
  void FailCpuLimits(absl::Status status) {
    absl::MutexLock lock(&mu_);
    cpu_limit_error_ = std::move(status);
  }
  void SetNetworkError(absl::Status status) {
    absl::MutexLock lock(&mu_);
    network_error_ = std::move(status);
  }
  std::map<std::string, Container> containers() {
    absl::MutexLock lock(&mu_);
    return containers_;
  }
  std::optional<Container> FindByName(const std::string& name) {
    absl::MutexLock lock(&mu_);
    for (auto& [id, c] : containers_) {
      if (c.info.name == name) return c;
    }
    return std::nullopt;
  }
  // Calls per method of those on the bring-up path (EnsureNetwork, ListNetworks, InspectImage,
  // CreateVolume, CreateContainer, ReadPath, StartContainer, InspectContainer,
  // ListContainers).
  std::map<std::string, int> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  int creates() {
    absl::MutexLock lock(&mu_);
    return creates_;
  }
  int image_inspections() {
    absl::MutexLock lock(&mu_);
    return image_inspections_;
  }
  int starts() {
    absl::MutexLock lock(&mu_);
    return starts_;
  }
  // Every StopContainer call: the container's name and the timeout given.
  std::vector<std::pair<std::string, int>> stops() {
    absl::MutexLock lock(&mu_);
    return stops_;
  }
  int removes() {
    absl::MutexLock lock(&mu_);
    return removes_;
  }
  // Every KillContainer call: the container's name and the signal.
  std::vector<std::pair<std::string, std::string>> kills() {
    absl::MutexLock lock(&mu_);
    return kills_;
  }

  // DockerClient.
  absl::StatusOr<DockerVersion> Version() override {
    absl::MutexLock lock(&mu_);
    if (!fail_all_.ok()) return fail_all_;
    return DockerVersion{"20.10", "1.41"};
  }
  absl::StatusOr<DockerInfo> Info() override {
    absl::MutexLock lock(&mu_);
    if (!fail_all_.ok()) return fail_all_;
    return DockerInfo{"fake", 2, 1 << 30};
  }
  absl::Status EnsureNetwork(const NetworkConfig& config) override {
    absl::MutexLock lock(&mu_);
    ++calls_["EnsureNetwork"];
    if (!fail_all_.ok()) return fail_all_;
    if (!network_error_.ok()) return network_error_;
    networks_[config.name] = config;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<NetworkInfo>> ListNetworks(
      const std::map<std::string, std::string>&) override {
    absl::MutexLock lock(&mu_);
    ++calls_["ListNetworks"];
    std::vector<NetworkInfo> out;
    for (const auto& [name, config] : networks_) out.push_back({name, config});
    return out;
  }
  absl::Status RemoveNetwork(const std::string& name) override {
    absl::MutexLock lock(&mu_);
    networks_.erase(name);
    return absl::OkStatus();
  }
  absl::StatusOr<ImageInfo> InspectImage(const std::string& image) override {
    absl::MutexLock lock(&mu_);
    ++calls_["InspectImage"];
    ++image_inspections_;
    if (!fail_all_.ok()) return fail_all_;
    auto it = images_.find(image);
    if (it == images_.end()) return absl::NotFoundError(absl::StrCat("No such image: ", image));
    // An image runs "/entrypoint" with the default argument "default" unless SetImageProgram.
    auto program = image_programs_.find(image);
    if (program != image_programs_.end()) {
      return ImageInfo{absl::StrCat("sha256:", image), it->second, program->second.first,
                       program->second.second};
    }
    return ImageInfo{absl::StrCat("sha256:", image), it->second, {"/entrypoint"}, {"default"}};
  }
  // Each image as its own ID ("sha256:" + name) with its name as the one tag.
  absl::StatusOr<std::vector<ImageSummary>> ListImages() override {
    absl::MutexLock lock(&mu_);
    ++calls_["ListImages"];
    if (!fail_all_.ok()) return fail_all_;
    std::vector<ImageSummary> out;
    for (const auto& [image, user] : images_) {
      out.push_back({.id = absl::StrCat("sha256:", image), .repo_tags = {image}, .size_bytes = 0});
    }
    return out;
  }
  // Pulls every piece (on_load_piece sees each, as Docker reading the archive), then fails with
  // the scripted load error, or adds the scripted image.
  absl::StatusOr<std::string> LoadImage(const ImageSource& source) override {
    std::function<void(const std::string&)> on_piece;
    {
      absl::MutexLock lock(&mu_);
      ++calls_["LoadImage"];
      on_piece = on_load_piece_;
    }
    std::string archive;
    while (true) {
      absl::StatusOr<std::optional<std::string>> piece = source();
      if (!piece.ok()) return piece.status();
      if (!piece->has_value()) break;
      if (on_piece) on_piece(**piece);
      absl::MutexLock lock(&mu_);
      load_pieces_.push_back((*piece)->size());
      archive += **piece;
    }
    absl::MutexLock lock(&mu_);
    loaded_archives_.push_back(archive);
    if (!load_error_.ok()) return load_error_;
    images_[load_image_] = "nobody";
    return absl::StrCat("Loaded image: ", load_image_);
  }
  // What LoadImage loads: an image of this name, or this error once the archive is read.
  void SetLoadResult(const std::string& image, absl::Status error = absl::OkStatus()) {
    absl::MutexLock lock(&mu_);
    load_image_ = image;
    load_error_ = std::move(error);
  }
  // Called with each piece LoadImage pulls, outside the lock (may block, as a slow Docker).
  void OnLoadPiece(std::function<void(const std::string&)> on_piece) {
    absl::MutexLock lock(&mu_);
    on_load_piece_ = std::move(on_piece);
  }
  std::vector<size_t> load_pieces() {
    absl::MutexLock lock(&mu_);
    return load_pieces_;
  }
  std::vector<std::string> loaded_archives() {
    absl::MutexLock lock(&mu_);
    return loaded_archives_;
  }
  absl::StatusOr<VolumeInfo> CreateVolume(
      const std::string& name, const std::map<std::string, std::string>& labels) override {
    absl::MutexLock lock(&mu_);
    ++calls_["CreateVolume"];
    const std::string mountpoint = VolumeMountpoint(name);
    const bool created = volumes_.insert(name).second;
    if (created) volume_labels_[name] = labels;
    // A new volume's directory on the host is root's (the image lacks its path).
    if (created && host_files_ != nullptr) host_files_->AddDirectory(mountpoint);
    return VolumeInfo{created, mountpoint};
  }
  absl::StatusOr<std::vector<std::string>> ListVolumes() override {
    absl::MutexLock lock(&mu_);
    ++calls_["ListVolumes"];
    std::vector<std::string> names;
    names.assign(volumes_.begin(), volumes_.end());
    return names;
  }
  absl::Status RemoveVolume(const std::string& name) override {
    absl::MutexLock lock(&mu_);
    if (volumes_.erase(name) == 0) return absl::NotFoundError(name);
    return absl::OkStatus();
  }
  // Runs at the start of every CreateContainer, outside the lock (e.g. to hold a pass up).
  void set_before_create(std::function<void(const ContainerConfig&)> before_create) {
    before_create_ = std::move(before_create);
  }
  absl::StatusOr<std::string> CreateContainer(const ContainerConfig& config) override {
    if (before_create_) before_create_(config);
    absl::MutexLock lock(&mu_);
    ++calls_["CreateContainer"];
    if (!fail_all_.ok()) return fail_all_;
    for (const auto& [id, c] : containers_) {
      if (c.info.name == config.name) {
        return absl::AlreadyExistsError(absl::StrCat("name ", config.name, " in use"));
      }
    }
    // As dockerd: a bind mount's source must exist on the host when the container is created.
    for (const Mount& mount : config.mounts) {
      if (host_files_ != nullptr && absl::StartsWith(mount.source, "/") &&
          !host_files_->Get(mount.source)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid mount config for type \"bind\": bind source path does not exist: ",
            mount.source));
      }
    }
    // As dockerd: a named volume that does not exist is made (root's, the image lacking its path).
    for (const Mount& mount : config.mounts) {
      if (absl::StartsWith(mount.source, "/") || !volumes_.insert(mount.source).second) continue;
      volume_labels_[mount.source] = config.volume_labels;
      if (host_files_ != nullptr) host_files_->AddDirectory(VolumeMountpoint(mount.source));
    }
    Container c;
    c.config = config;
    c.info.id = absl::StrCat("id", ++next_id_);
    c.info.name = config.name;
    c.info.image = config.image;
    c.info.labels = config.labels;
    c.info.state = "created";
    c.info.ipv4 = config.ipv4;
    c.info.hosts_path = absl::StrCat("/fake/", c.info.id, "/hosts");
    c.info.stop_timeout_seconds = config.stop_timeout_seconds;
    c.info.nano_cpus = config.nano_cpus;
    containers_[c.info.id] = c;
    ++creates_;
    return c.info.id;
  }
  absl::StatusOr<ArchiveFile> ReadPath(const std::string& id, const std::string& path) override {
    absl::MutexLock lock(&mu_);
    ++calls_["ReadPath"];
    ++reads_;
    auto it = containers_.find(id);
    if (it == containers_.end()) return absl::NotFoundError(id);
    const auto& image = image_files_[it->second.config.image];
    if (auto file = image.find(path); file != image.end()) return file->second;
    return absl::NotFoundError(
        absl::StrCat("Could not find the file ", path, " in container ", id));
  }
  absl::Status StartContainer(const std::string& id) override {
    absl::MutexLock lock(&mu_);
    ++calls_["StartContainer"];
    if (!fail_all_.ok()) return fail_all_;
    if (!start_error_.ok()) return start_error_;
    auto it = containers_.find(id);
    if (it == containers_.end()) return absl::NotFoundError(id);
    it->second.info.state = "running";
    it->second.info.running = true;
    it->second.info.restart_count = 0;  // as dockerd does on a start through the API
    it->second.info.exit_code = 0;      // likewise: State.ExitCode is the running one's, 0
    ++starts_;
    // A new start time per start (how a restart shows), from a counter: the fake has no clock.
    it->second.info.started_at = absl::FormatTime(
        absl::RFC3339_full, absl::FromUnixSeconds(1700000000 + starts_), absl::UTCTimeZone());
    return absl::OkStatus();
  }
  absl::Status SetCpuLimit(const std::string& id, int64_t nano_cpus) override {
    absl::MutexLock lock(&mu_);
    ++calls_["SetCpuLimit"];
    if (!fail_all_.ok()) return fail_all_;
    if (!cpu_limit_error_.ok()) return cpu_limit_error_;
    auto it = containers_.find(id);
    if (it == containers_.end()) return absl::NotFoundError(id);
    it->second.info.nano_cpus = nano_cpus;
    return absl::OkStatus();
  }

  absl::Status StopContainer(const std::string& id, std::chrono::seconds timeout) override {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return absl::NotFoundError(id);
    stops_.emplace_back(it->second.info.name, static_cast<int>(timeout.count()));
    if (!stop_error_.ok()) return stop_error_;
    it->second.info.state = "exited";
    it->second.info.running = false;
    return absl::OkStatus();
  }
  absl::Status KillContainer(const std::string& id, const std::string& signal) override {
    absl::MutexLock lock(&mu_);
    ++calls_["KillContainer"];
    if (!fail_all_.ok()) return fail_all_;
    auto it = containers_.find(id);
    if (it == containers_.end()) return absl::NotFoundError(id);
    if (!it->second.info.running) {
      return absl::FailedPreconditionError(absl::StrCat("container ", id, " is not running"));
    }
    kills_.emplace_back(it->second.info.name, signal);
    return absl::OkStatus();
  }
  absl::Status RemoveContainer(const std::string& id, bool) override {
    absl::MutexLock lock(&mu_);
    if (!fail_all_.ok()) return fail_all_;
    if (containers_.erase(id) == 0) return absl::NotFoundError(id);
    ++removes_;
    return absl::OkStatus();
  }
  absl::StatusOr<ContainerInfo> InspectContainer(const std::string& id_or_name) override {
    absl::MutexLock lock(&mu_);
    ++calls_["InspectContainer"];
    if (!fail_all_.ok()) return fail_all_;
    for (const auto& [id, c] : containers_) {
      if (id == id_or_name || c.info.name == id_or_name) return c.info;
    }
    return absl::NotFoundError(absl::StrCat("No such container: ", id_or_name));
  }
  absl::StatusOr<std::vector<ContainerInfo>> ListContainers(
      const std::map<std::string, std::string>& filter) override {
    absl::MutexLock lock(&mu_);
    ++calls_["ListContainers"];
    if (!fail_all_.ok()) return fail_all_;
    std::vector<ContainerInfo> out;
    for (const auto& [id, c] : containers_) {
      bool match = true;
      for (const auto& [k, v] : filter) {
        auto it = c.info.labels.find(k);
        match = match && it != c.info.labels.end() && it->second == v;
      }
      if (match) out.push_back(c.info);
    }
    return out;
  }
  absl::Status Logs(const std::string& id, const LogOptions&,
                    const std::function<bool(const LogLine&)>& on_line) override {
    std::vector<std::string> logs;
    {
      absl::MutexLock lock(&mu_);
      auto it = containers_.find(id);
      if (it == containers_.end()) return absl::NotFoundError(id);
      logs = it->second.logs;
    }
    for (const auto& text : logs) {
      if (!on_line({LogLine::Stream::kStdout, text})) break;
    }
    return absl::OkStatus();
  }
  // Events queued here are delivered by the next Events call, after which its stream ends.
  void AddEvent(DockerEvent event) {
    absl::MutexLock lock(&mu_);
    events_.push_back(std::move(event));
  }
  int event_streams() {
    absl::MutexLock lock(&mu_);
    return event_streams_;
  }
  absl::Status Events(const std::map<std::string, std::string>&,
                      const std::function<bool(const DockerEvent&)>& on_event) override {
    std::vector<DockerEvent> events;
    {
      absl::MutexLock lock(&mu_);
      ++event_streams_;
      events.swap(events_);
    }
    for (const DockerEvent& event : events) {
      if (!on_event(event)) return absl::OkStatus();
    }
    return absl::UnavailableError("the fake's event stream ended");
  }
  int execs() {
    absl::MutexLock lock(&mu_);
    return execs_;
  }
  absl::StatusOr<ExecResult> Exec(const std::string&, const std::vector<std::string>&,
                                  const std::string&) override {
    absl::MutexLock lock(&mu_);
    ++execs_;
    return ExecResult{0, ""};
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, Container> containers_;
  std::map<std::string, NetworkConfig> networks_;
  std::map<std::string, std::string> images_;  // image -> its default user
  // image -> its entrypoint and cmd, when not the default ones
  std::map<std::string, std::pair<std::vector<std::string>, std::vector<std::string>>>
      image_programs_;
  std::string load_image_ = "loaded:latest";
  absl::Status load_error_;
  std::function<void(const std::string&)> on_load_piece_;
  std::vector<size_t> load_pieces_;
  std::vector<std::string> loaded_archives_;
  std::map<std::string, std::map<std::string, ArchiveFile>> image_files_;
  std::function<void(const ContainerConfig&)> before_create_;
  std::set<std::string> volumes_;
  std::map<std::string, std::map<std::string, std::string>> volume_labels_;
  FakeHostFiles* host_files_;
  int reads_ = 0;
  std::map<std::string, int> calls_;
  absl::Status fail_all_;
  absl::Status network_error_;
  absl::Status start_error_;
  absl::Status cpu_limit_error_;
  absl::Status stop_error_;
  int next_id_ = 0;
  int creates_ = 0;
  int image_inspections_ = 0;
  int starts_ = 0;
  int removes_ = 0;
  std::vector<std::pair<std::string, int>> stops_;
  std::vector<std::pair<std::string, std::string>> kills_;
  int execs_ = 0;
  std::vector<DockerEvent> events_;
  int event_streams_ = 0;
};

}  // namespace bdcoord::agent::testing

#endif  // BDCOORD_TESTS_TESTING_FAKE_DOCKER_CLIENT_H_
