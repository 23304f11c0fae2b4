#include "agent/probes/probes.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <regex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/docker/labels.h"

namespace bdcoord::agent {
namespace {

absl::Status CheckTcp(const std::string& ip, uint32_t port, absl::Duration timeout) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("'", ip, "' is not an IPv4 address"));
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  const std::string where = absl::StrCat(ip, ":", port);
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd waiting{fd, POLLOUT, 0};
    rc = poll(&waiting, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
    if (rc == 0) {
      close(fd);
      return absl::DeadlineExceededError(
          absl::StrCat("tcp ", where, ": no answer within ", absl::FormatDuration(timeout)));
    }
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    rc = error == 0 ? 0 : -1;
    errno = error;
  }
  const int saved = errno;
  close(fd);
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat("tcp ", where, ": ", std::strerror(saved)));
  }
  return absl::OkStatus();
}

size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

absl::Status CheckHttp(const std::string& ip, const bdcoord::v1::Probe::Http& http,
                       absl::Duration timeout) {
  const std::string url =
      absl::StrCat("http://", ip, ":", http.port(), http.path().empty() ? "/" : http.path());
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("http ", url, ": ", curl_easy_strerror(code)));
  }
  if (status < 200 || status > 299) {
    return absl::UnavailableError(absl::StrCat("http ", url, ": status ", status));
  }
  return absl::OkStatus();
}

// Runs `check` on a thread of its own that first enters the network namespace of process `pid`
// (setns is per thread; the thread ends with the check, so no other work runs in there).
absl::Status InNetworkNamespaceOf(int pid, const std::function<absl::Status()>& check) {
  absl::Status result;
  std::thread([&] {
    const std::string path = absl::StrCat("/proc/", pid, "/ns/net");
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
      result = absl::UnavailableError(absl::StrCat(
          "cannot enter the container's network namespace ", path, ": ", std::strerror(errno)));
      if (fd >= 0) close(fd);
      return;
    }
    close(fd);
    result = check();
  }).join();
  return result;
}

absl::Status CheckExec(DockerClient* docker, const std::string& id,
                       const bdcoord::v1::Probe::Exec& exec) {
  const std::vector<std::string> command(exec.command().begin(), exec.command().end());
  auto result = docker->Exec(id, command, "");
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::UnavailableError(
        absl::StrCat("exec ", absl::StrJoin(command, " "), ": exit code ", result->exit_code));
  }
  return absl::OkStatus();
}

absl::Status CheckLog(DockerClient* docker, const std::string& id, const std::string& pattern) {
  const std::regex regex(pattern);  // validated when the spec was loaded
  bool found = false;
  const absl::Status status = docker->Logs(id, LogOptions{}, [&](const LogLine& line) {
    found = std::regex_search(line.text, regex);
    return !found;
  });
  if (!status.ok()) return status;
  if (!found) {
    return absl::UnavailableError(absl::StrCat("log: no line matches '", pattern, "' yet"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DockerProber::Check(const bdcoord::v1::Probe& probe, const ProbeTarget& target,
                                 absl::Duration timeout) {
  switch (probe.check_case()) {
    case bdcoord::v1::Probe::kTcp:
    case bdcoord::v1::Probe::kHttp: {
      auto check = [&] {
        return probe.has_tcp() ? CheckTcp(target.ip, probe.tcp().port(), timeout)
                               : CheckHttp(target.ip, probe.http(), timeout);
      };
      if (!target.container_id.empty()) {
        if (auto info = docker_->InspectContainer(target.container_id);
            info.ok() && info->pid > 0) {
          return InNetworkNamespaceOf(info->pid, check);
        }
      }
      return check();
    }
    case bdcoord::v1::Probe::kExec:
      return CheckExec(docker_, target.container_id, probe.exec());
    case bdcoord::v1::Probe::kLog:
      return CheckLog(docker_, target.container_id, probe.log().pattern());
    default:
      return absl::OkStatus();  // no probe: ready once started
  }
}

bdcoord::v1::CommandResult RunProbeRequest(DockerClient* docker, Prober* prober,
                                           const bdcoord::v1::ProbeRequest& request) {
  bdcoord::v1::CommandResult result;
  result.set_request_id(request.request_id());
  auto info = docker->InspectContainer(request.container());
  if (!info.ok() || (info->name != request.container() && info->id != request.container())) {
    result.set_message(absl::StrCat("no container '", request.container(), "' on this host"));
    return result;
  }
  if (!info->labels.contains(kClusterLabel)) {
    result.set_message(absl::StrCat("container '", request.container(),
                                    "' is not managed by bdcoord: it is not probed"));
    return result;
  }
  const absl::Duration timeout = request.has_timeout()
                                     ? absl::Seconds(request.timeout().seconds()) +
                                           absl::Nanoseconds(request.timeout().nanos())
                                     : absl::Seconds(5);
  const absl::Status status = prober->Check(request.probe(), {request.ip(), info->id}, timeout);
  result.set_ok(status.ok());
  if (!status.ok()) result.set_message(std::string(status.message()));
  return result;
}

}  // namespace bdcoord::agent
