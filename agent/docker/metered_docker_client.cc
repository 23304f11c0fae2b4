#include "agent/docker/metered_docker_client.h"

namespace bdcoord::agent {
namespace {

const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}

}  // namespace

DockerMetrics DockerMetrics::Register(prometheus::Registry& registry) {
  return DockerMetrics{
      .calls = prometheus::BuildCounter()
                   .Name("bdagent_docker_api_calls_total")
                   .Help("Docker Engine API calls by endpoint (the client's method) and outcome "
                         "(ok or error)")
                   .Register(registry),
      .duration = prometheus::BuildHistogram()
                      .Name("bdagent_docker_api_call_duration_seconds")
                      .Help("How long Docker Engine API calls took, by endpoint (streams such as "
                            "Logs and Events are not timed)")
                      .Register(registry),
  };
}

template <typename Call>
auto MeteredDockerClient::Metered(const std::string& endpoint, bool timed, Call&& call)
    -> decltype(call()) {
  // From a millisecond (an inspect from the cache's miss) to a minute (the request time-out).
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  const auto start = std::chrono::steady_clock::now();
  auto result = call();
  if (timed) {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    metrics_.duration.Add({{"endpoint", endpoint}}, kBuckets).Observe(took.count());
  }
  metrics_.calls.Add({{"endpoint", endpoint}, {"outcome", StatusOf(result).ok() ? "ok" : "error"}})
      .Increment();
  return result;
}

absl::StatusOr<DockerVersion> MeteredDockerClient::Version() {
  return Metered("Version", true, [&] { return inner_->Version(); });
}
absl::StatusOr<DockerInfo> MeteredDockerClient::Info() {
  return Metered("Info", true, [&] { return inner_->Info(); });
}
absl::Status MeteredDockerClient::EnsureNetwork(const NetworkConfig& config) {
  return Metered("EnsureNetwork", true, [&] { return inner_->EnsureNetwork(config); });
}
absl::StatusOr<std::vector<NetworkInfo>> MeteredDockerClient::ListNetworks(
    const std::map<std::string, std::string>& label_filter) {
  return Metered("ListNetworks", true, [&] { return inner_->ListNetworks(label_filter); });
}
absl::Status MeteredDockerClient::RemoveNetwork(const std::string& name) {
  return Metered("RemoveNetwork", true, [&] { return inner_->RemoveNetwork(name); });
}
absl::StatusOr<ImageInfo> MeteredDockerClient::InspectImage(const std::string& image) {
  return Metered("InspectImage", true, [&] { return inner_->InspectImage(image); });
}
absl::StatusOr<std::vector<ImageSummary>> MeteredDockerClient::ListImages() {
  return Metered("ListImages", true, [&] { return inner_->ListImages(); });
}
absl::StatusOr<std::string> MeteredDockerClient::LoadImage(const ImageSource& source) {
  // As long as the archive takes to arrive: counted, not timed.
  return Metered("LoadImage", false, [&] { return inner_->LoadImage(source); });
}
absl::StatusOr<VolumeInfo> MeteredDockerClient::CreateVolume(
    const std::string& name, const std::map<std::string, std::string>& labels) {
  return Metered("CreateVolume", true, [&] { return inner_->CreateVolume(name, labels); });
}
absl::StatusOr<std::vector<std::string>> MeteredDockerClient::ListVolumes() {
  return Metered("ListVolumes", true, [&] { return inner_->ListVolumes(); });
}
absl::Status MeteredDockerClient::RemoveVolume(const std::string& name) {
  return Metered("RemoveVolume", true, [&] { return inner_->RemoveVolume(name); });
}
absl::StatusOr<std::string> MeteredDockerClient::CreateContainer(const ContainerConfig& config) {
  return Metered("CreateContainer", true, [&] { return inner_->CreateContainer(config); });
}
absl::StatusOr<ArchiveFile> MeteredDockerClient::ReadPath(const std::string& id,
                                                          const std::string& path) {
  return Metered("ReadPath", true, [&] { return inner_->ReadPath(id, path); });
}
absl::Status MeteredDockerClient::StartContainer(const std::string& id) {
  return Metered("StartContainer", true, [&] { return inner_->StartContainer(id); });
}
absl::Status MeteredDockerClient::SetCpuLimit(const std::string& id, int64_t nano_cpus) {
  return Metered("SetCpuLimit", true, [&] { return inner_->SetCpuLimit(id, nano_cpus); });
}
absl::Status MeteredDockerClient::StopContainer(const std::string& id,
                                                std::chrono::seconds timeout) {
  return Metered("StopContainer", true, [&] { return inner_->StopContainer(id, timeout); });
}
absl::Status MeteredDockerClient::RemoveContainer(const std::string& id, bool force) {
  return Metered("RemoveContainer", true, [&] { return inner_->RemoveContainer(id, force); });
}
absl::Status MeteredDockerClient::KillContainer(const std::string& id, const std::string& signal) {
  return Metered("KillContainer", true, [&] { return inner_->KillContainer(id, signal); });
}
absl::StatusOr<ContainerInfo> MeteredDockerClient::InspectContainer(const std::string& id_or_name) {
  return Metered("InspectContainer", true, [&] { return inner_->InspectContainer(id_or_name); });
}
absl::StatusOr<std::vector<ContainerInfo>> MeteredDockerClient::ListContainers(
    const std::map<std::string, std::string>& label_filter) {
  return Metered("ListContainers", true, [&] { return inner_->ListContainers(label_filter); });
}
absl::Status MeteredDockerClient::Logs(const std::string& id, const LogOptions& options,
                                       const std::function<bool(const LogLine&)>& on_line) {
  return Metered("Logs", false, [&] { return inner_->Logs(id, options, on_line); });
}
absl::Status MeteredDockerClient::Events(const std::map<std::string, std::string>& label_filter,
                                         const std::function<bool(const DockerEvent&)>& on_event) {
  return Metered("Events", false, [&] { return inner_->Events(label_filter, on_event); });
}
absl::StatusOr<ExecResult> MeteredDockerClient::Exec(const std::string& id,
                                                     const std::vector<std::string>& command,
                                                     const std::string& user) {
  return Metered("Exec", true, [&] { return inner_->Exec(id, command, user); });
}

}  // namespace bdcoord::agent
