#ifndef BDCOORD_AGENT_DOCKER_DOCKER_CLIENT_H_
#define BDCOORD_AGENT_DOCKER_DOCKER_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace bdcoord::agent {

// The subset of the Docker Engine API the agent uses. One real implementation
// (docker_client_impl.h: libcurl over the unix socket); fakes live in tests/.
// Errors carry the HTTP status as the absl code (404 NotFound, 409 AlreadyExists or
// FailedPrecondition, 5xx Internal, socket gone Unavailable) and Docker's own message.

struct DockerVersion {
  std::string version;      // e.g. "20.10.24+dfsg1"
  std::string api_version;  // negotiated: min(server's, ours)
};

struct DockerInfo {
  std::string name;  // host name as dockerd sees it
  uint32_t cpus = 0;
  int64_t memory_bytes = 0;
};

struct NetworkConfig {
  std::string name;
  std::string driver;    // "macvlan" or "ipvlan"
  std::string parent;    // host interface
  std::string subnet;    // CIDR
  std::string gateway;   // may be empty
  std::string ip_range;  // may be empty
  std::map<std::string, std::string> labels;
  bool operator==(const NetworkConfig&) const = default;
};

struct NetworkInfo {
  std::string id;
  NetworkConfig config;
};

struct ImageInfo {
  std::string id;
  std::string user;  // Config.User: the image's default user; empty means root
  // Config.Entrypoint and Config.Cmd: what a container of it runs when given no command.
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
};

// An image as GET /images/json lists it.
struct ImageSummary {
  std::string id;  // sha256:...
  std::vector<std::string> repo_tags;
  int64_t size_bytes = 0;
};

// The pieces of a `docker save` archive for LoadImage, in order: each call gives the next one,
// std::nullopt at the end; an error aborts the load with it.
using ImageSource = std::function<absl::StatusOr<std::optional<std::string>>()>;

struct VolumeInfo {
  bool created = false;    // made by this call (false: it existed and is left as it is)
  std::string mountpoint;  // its directory on the host
};

struct Mount {
  std::string source;  // volume name, or absolute host path for a bind mount
  std::string target;
  bool read_only = false;
};

struct ContainerConfig {
  std::string name;
  std::string image;
  std::string hostname;
  std::string domainname;
  std::vector<std::string> entrypoint;  // empty: the image's
  std::vector<std::string> command;     // empty: the image's default
  std::vector<std::pair<std::string, std::string>> env;
  std::map<std::string, std::string> labels;
  std::string user;
  std::string network;  // attached at create time with a static IPv4
  std::string ipv4;
  std::vector<Mount> mounts;
  // Labels of the named volumes that the create makes (those that do not exist yet).
  std::map<std::string, std::string> volume_labels;
  int64_t nano_cpus = 0;              // 0 = no limit
  int64_t memory_bytes = 0;           // 0 = no limit
  std::string restart_policy = "no";  // no | on-failure | always | unless-stopped
  int restart_max_retries = 0;
  // HostConfig.Dns, DnsSearch, DnsOptions; empty: Docker's default (the host's servers and
  // search domains). On a user-defined network resolv.conf names the embedded DNS server, which
  // forwards to `dns`; DnsSearch ["."] means no search domain.
  std::vector<std::string> dns;
  std::vector<std::string> dns_search;
  std::vector<std::string> dns_options;
  // Config.StopTimeout: seconds between SIGTERM and SIGKILL when it is stopped; 0: Docker's 10.
  int stop_timeout_seconds = 0;
  // HostConfig.LogConfig: json-file, rotated at this size, this many files kept (a chatty
  // container must not fill the host's disk; `docker logs` and the agent read it as before).
  std::string log_max_size = "10m";
  int log_max_files = 3;
};

struct ContainerInfo {
  std::string id;
  std::string name;  // without the leading '/'
  std::string image;
  std::map<std::string, std::string> labels;
  std::string state;  // created | running | paused | restarting | removing | exited | dead
  bool running = false;
  int exit_code = 0;
  int restart_count = 0;         // inspect only: how often Docker's restart policy restarted it
  int pid = 0;                   // inspect only: its main process on this host, 0 when not running
  std::string hosts_path;        // inspect only: the file bind-mounted as /etc/hosts
  std::string ipv4;              // inspect only: address on its network
  std::string started_at;        // inspect only, RFC 3339
  int stop_timeout_seconds = 0;  // inspect only: Config.StopTimeout, 0 when not set
  int64_t nano_cpus = 0;         // inspect only: HostConfig.NanoCpus, 0 when no CPU limit
  std::string finished_at;
};

// A file of a container, as its archive endpoint gives it (GET /containers/{id}/archive).
struct ArchiveFile {
  std::string path;  // absolute path in the container
  std::string content;
  uint32_t mode = 0644;
  std::string owner;  // "uid:gid" (numeric) or empty for root
};

struct LogLine {
  enum class Stream { kStdout, kStderr };
  Stream stream = Stream::kStdout;
  std::string text;  // one line, without the trailing newline
};

struct LogOptions {
  bool follow = false;
  int64_t since_unix = 0;  // 0 = from the start
  int tail = -1;           // -1 = all
  // Polled while the stream is idle (at least once a second) and between lines: true ends a
  // follow early (Logs then returns OK), even when the container prints nothing.
  std::function<bool()> stop = nullptr;
};

struct DockerEvent {
  std::string type;    // container, network, ...
  std::string action;  // start, die, destroy, ...
  std::string id;
  std::map<std::string, std::string> attributes;  // labels, name, exitCode
};

struct ExecResult {
  int exit_code = 0;
  std::string output;  // stdout and stderr, demultiplexed, in order
};

class DockerClient {
 public:
  virtual ~DockerClient() = default;

  virtual absl::StatusOr<DockerVersion> Version() = 0;
  virtual absl::StatusOr<DockerInfo> Info() = 0;

  // Creates the network, or verifies that the existing one of that name has these settings.
  // A different existing network is an error naming each difference; it is never reused or
  // deleted.
  virtual absl::Status EnsureNetwork(const NetworkConfig& config) = 0;
  // Networks carrying every label of the filter (an empty value: the label is present).
  virtual absl::StatusOr<std::vector<NetworkInfo>> ListNetworks(
      const std::map<std::string, std::string>& label_filter) = 0;
  virtual absl::Status RemoveNetwork(const std::string& name) = 0;

  // The image's id and default user; NotFound when the image is not on this host.
  virtual absl::StatusOr<ImageInfo> InspectImage(const std::string& image) = 0;
  // Every image on this host (GET /images/json), untagged ones included.
  virtual absl::StatusOr<std::vector<ImageSummary>> ListImages() = 0;
  // Loads a `docker save` archive streamed from `source` (POST /images/load), never holding it
  // whole: each piece is pulled when Docker takes more. Returns what Docker said it loaded
  // ("Loaded image: x:1"); Docker's error (an archive it cannot read, a full disk) with its
  // message, and the source's error as it is.
  virtual absl::StatusOr<std::string> LoadImage(const ImageSource& source) = 0;

  // Creates the named volume unless it exists (one that existed is left as it is).
  virtual absl::StatusOr<VolumeInfo> CreateVolume(
      const std::string& name, const std::map<std::string, std::string>& labels) = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListVolumes() = 0;
  virtual absl::Status RemoveVolume(const std::string& name) = 0;

  // Returns the container id.
  virtual absl::StatusOr<std::string> CreateContainer(const ContainerConfig& config) = 0;
  // A file or directory of the container (GET /containers/{id}/archive, also before it starts,
  // with its volumes mounted): `path` as asked (a directory's ending in '/'), its content (none
  // for a directory), mode and "uid:gid". NotFound when the path does not exist.
  virtual absl::StatusOr<ArchiveFile> ReadPath(const std::string& id, const std::string& path) = 0;
  virtual absl::Status StartContainer(const std::string& id) = 0;
  // Sets the container's CPU limit (POST /containers/{id}/update with NanoCpus), at once if it
  // runs; Docker keeps it for its next starts.
  virtual absl::Status SetCpuLimit(const std::string& id, int64_t nano_cpus) = 0;
  virtual absl::Status StopContainer(const std::string& id, std::chrono::seconds timeout) = 0;
  virtual absl::Status RemoveContainer(const std::string& id, bool force) = 0;
  // Sends a signal ("SIGHUP", ...) to the running container's main process
  // (POST /containers/{id}/kill?signal=...); FailedPrecondition when it is not running.
  virtual absl::Status KillContainer(const std::string& id, const std::string& signal) = 0;
  virtual absl::StatusOr<ContainerInfo> InspectContainer(const std::string& id_or_name) = 0;
  // All containers (running or not) whose labels match every entry of the filter.
  virtual absl::StatusOr<std::vector<ContainerInfo>> ListContainers(
      const std::map<std::string, std::string>& label_filter) = 0;

  // Calls on_line for each line until the stream ends or on_line returns false.
  virtual absl::Status Logs(const std::string& id, const LogOptions& options,
                            const std::function<bool(const LogLine&)>& on_line) = 0;
  // Streams events whose labels match the filter until on_event returns false or the
  // connection drops (the caller reconnects).
  virtual absl::Status Events(const std::map<std::string, std::string>& label_filter,
                              const std::function<bool(const DockerEvent&)>& on_event) = 0;
  // Runs `command` in the running container as `user` ("" = the container's own user).
  virtual absl::StatusOr<ExecResult> Exec(const std::string& id,
                                          const std::vector<std::string>& command,
                                          const std::string& user) = 0;
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_DOCKER_DOCKER_CLIENT_H_
