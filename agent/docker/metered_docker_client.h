#ifndef BDCOORD_AGENT_DOCKER_METERED_DOCKER_CLIENT_H_
#define BDCOORD_AGENT_DOCKER_METERED_DOCKER_CLIENT_H_

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "agent/docker/docker_client.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace bdcoord::agent {

// The Docker Engine API calls' metrics, labelled by endpoint (the DockerClient method, such as
// CreateContainer).
struct DockerMetrics {
  // bdagent_docker_api_calls_total{endpoint, outcome="ok"|"error"}
  prometheus::Family<prometheus::Counter>& calls;
  // bdagent_docker_api_call_duration_seconds{endpoint}; none for the streams (Logs, Events),
  // which last as long as they are followed.
  prometheus::Family<prometheus::Histogram>& duration;

  static DockerMetrics Register(prometheus::Registry& registry);
};

// A DockerClient that counts and times every call of the one it wraps, so that the callers (the
// reconciler, probes, the session) stay as they are.
class MeteredDockerClient : public DockerClient {
 public:
  // `inner` outlives this client.
  MeteredDockerClient(DockerClient* inner, DockerMetrics metrics)
      : inner_(inner), metrics_(metrics) {}

  absl::StatusOr<DockerVersion> Version() override;
  absl::StatusOr<DockerInfo> Info() override;
  absl::Status EnsureNetwork(const NetworkConfig& config) override;
  absl::StatusOr<std::vector<NetworkInfo>> ListNetworks(
      const std::map<std::string, std::string>& label_filter) override;
  absl::Status RemoveNetwork(const std::string& name) override;
  absl::StatusOr<ImageInfo> InspectImage(const std::string& image) override;
  absl::StatusOr<std::vector<ImageSummary>> ListImages() override;
  absl::StatusOr<std::string> LoadImage(const ImageSource& source) override;
  absl::StatusOr<VolumeInfo> CreateVolume(
      const std::string& name, const std::map<std::string, std::string>& labels) override;
  absl::StatusOr<std::vector<std::string>> ListVolumes() override;
  absl::Status RemoveVolume(const std::string& name) override;
  absl::StatusOr<std::string> CreateContainer(const ContainerConfig& config) override;
  absl::StatusOr<ArchiveFile> ReadPath(const std::string& id, const std::string& path) override;
  absl::Status StartContainer(const std::string& id) override;
  absl::Status SetCpuLimit(const std::string& id, int64_t nano_cpus) override;
  absl::Status StopContainer(const std::string& id, std::chrono::seconds timeout) override;
  absl::Status RemoveContainer(const std::string& id, bool force) override;
  absl::Status KillContainer(const std::string& id, const std::string& signal) override;
  absl::StatusOr<ContainerInfo> InspectContainer(const std::string& id_or_name) override;
  absl::StatusOr<std::vector<ContainerInfo>> ListContainers(
      const std::map<std::string, std::string>& label_filter) override;
  absl::Status Logs(const std::string& id, const LogOptions& options,
                    const std::function<bool(const LogLine&)>& on_line) override;
  absl::Status Events(const std::map<std::string, std::string>& label_filter,
                      const std::function<bool(const DockerEvent&)>& on_event) override;
  absl::StatusOr<ExecResult> Exec(const std::string& id, const std::vector<std::string>& command,
                                  const std::string& user) override;

 private:
  // Runs `call`, counts its outcome and, unless it is a stream, records how long it took.
  template <typename Call>
  auto Metered(const std::string& endpoint, bool timed, Call&& call) -> decltype(call());

  DockerClient* inner_;
  DockerMetrics metrics_;
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_DOCKER_METERED_DOCKER_CLIENT_H_
