#include "agent/probes/probes.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "agent/docker/labels.h"
#include "tests/testing/fake_docker_client.h"

namespace bdcoord::agent {
namespace {

using ::testing::HasSubstr;

// A loopback listener on an ephemeral port; answers each connection with `reply`.
class LocalServer {
 public:
  explicit LocalServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    listen(fd_, 8);
    thread_ = std::thread([this] {
      while (true) {
        const int client = accept(fd_, nullptr, nullptr);
        if (client < 0) return;
        char buffer[1024];
        if (!reply_.empty()) {
          (void)!read(client, buffer, sizeof(buffer));
          (void)!write(client, reply_.data(), reply_.size());
        }
        close(client);
      }
    });
  }
  ~LocalServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  uint32_t port() const { return port_; }

 private:
  std::string reply_;
  int fd_;
  uint32_t port_ = 0;
  std::thread thread_;
};

// A port nothing listens on: bind one, note it, close it.
uint32_t ClosedPort() {
  LocalServer server("");
  return server.port();
}

bdcoord::v1::Probe Tcp(uint32_t port) {
  bdcoord::v1::Probe probe;
  probe.mutable_tcp()->set_port(port);
  return probe;
}

TEST(DockerProber, TcpSucceedsOnAListenerAndExplainsARefusal) {
  testing::FakeDockerClient docker;
  LocalServer server("");
  EXPECT_TRUE(
      DockerProber(&docker).Check(Tcp(server.port()), {"127.0.0.1", ""}, absl::Seconds(2)).ok());
  const uint32_t closed = ClosedPort();
  const absl::Status refused =
      DockerProber(&docker).Check(Tcp(closed), {"127.0.0.1", ""}, absl::Seconds(2));
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(refused.message(), absl::StrCat("tcp 127.0.0.1:", closed, ": Connection refused"));
}

TEST(DockerProber, HttpWantsA2xx) {
  testing::FakeDockerClient docker;
  LocalServer ok("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
  LocalServer missing("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  bdcoord::v1::Probe probe;
  probe.mutable_http()->set_port(ok.port());
  probe.mutable_http()->set_path("/health");
  EXPECT_TRUE(DockerProber(&docker).Check(probe, {"127.0.0.1", ""}, absl::Seconds(2)).ok());
  probe.mutable_http()->set_port(missing.port());
  const absl::Status status =
      DockerProber(&docker).Check(probe, {"127.0.0.1", ""}, absl::Seconds(2));
  EXPECT_EQ(status.message(),
            absl::StrCat("http http://127.0.0.1:", missing.port(), "/health: status 404"));
}

TEST(DockerProber, LogProbeSearchesTheLines) {
  testing::FakeDockerClient docker;
  docker.AddImage("img");
  ContainerConfig config;
  config.name = "c1";
  config.image = "img";
  const std::string id = *docker.CreateContainer(config);
  bdcoord::v1::Probe probe;
  probe.mutable_log()->set_pattern("binding to port [0-9]+");
  const absl::Status before = DockerProber(&docker).Check(probe, {"", id}, absl::Seconds(1));
  EXPECT_EQ(before.message(), "log: no line matches 'binding to port [0-9]+' yet");
  docker.Exit("c1", 0, {"starting", "binding to port 2181"});
  EXPECT_TRUE(DockerProber(&docker).Check(probe, {"", id}, absl::Seconds(1)).ok());
}

TEST(RunProbeRequest, ProbesOnlyBdcoordContainersAndAnswersByRequestId) {
  testing::FakeDockerClient docker;
  DockerProber prober(&docker);
  docker.AddImage("img");
  ContainerConfig config;
  config.name = "zk1";
  config.image = "img";
  config.labels = {{kClusterLabel, "demo"}};
  ASSERT_TRUE(docker.CreateContainer(config).ok());
  docker.AddForeignContainer("someone-elses");
  LocalServer server("");
  bdcoord::v1::ProbeRequest request;
  request.set_request_id(7);
  request.set_container("zk1");
  request.set_ip("127.0.0.1");
  *request.mutable_probe() = Tcp(server.port());
  bdcoord::v1::CommandResult result = RunProbeRequest(&docker, &prober, request);
  EXPECT_EQ(result.request_id(), 7u);
  EXPECT_TRUE(result.ok()) << result.message();

  const uint32_t closed = ClosedPort();
  *request.mutable_probe() = Tcp(closed);
  result = RunProbeRequest(&docker, &prober, request);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.message(), absl::StrCat("tcp 127.0.0.1:", closed, ": Connection refused"));

  request.set_container("someone-elses");
  *request.mutable_probe() = Tcp(server.port());
  result = RunProbeRequest(&docker, &prober, request);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.message(),
            "container 'someone-elses' is not managed by bdcoord: it is not probed");
  request.set_container("nobody");
  EXPECT_EQ(RunProbeRequest(&docker, &prober, request).message(),
            "no container 'nobody' on this host");
}

}  // namespace
}  // namespace bdcoord::agent
