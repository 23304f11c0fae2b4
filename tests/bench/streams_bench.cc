// streams_bench: what N idle WatchEvents streams cost a real bdcoordd. Starts bdcoordd on a unix
// socket in a temporary directory, opens N streams (each subscribed: its headers came back),
// then samples the daemon's threads and CPU time from /proc over an idle window, and compares
// with the figures of the thread-per-stream design (issue 10: 1,011 threads and about half a
// core for 1,000 streams).
//
//   streams_bench BDCOORDD [STREAMS=1000] [IDLE_SECONDS=10] [old]
//
// `old`: a bdcoordd from before the caps (no --max-streams flags), to measure the old design.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bdcoord/v1/cluster.grpc.pb.h"
#include "tests/bench/proc_stat.h"

namespace {

using bdcoord::bench::CpuSeconds;
using bdcoord::bench::StatusField;

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: streams_bench BDCOORDD [STREAMS=1000] [IDLE_SECONDS=10]\n");
    return 2;
  }
  const std::string bdcoordd = argv[1];
  const int streams = argc > 2 ? std::atoi(argv[2]) : 1000;
  const int idle_seconds = argc > 3 ? std::atoi(argv[3]) : 10;
  const bool old = argc > 4 && std::string(argv[4]) == "old";
  char dir_template[] = "/tmp/streams-bench-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return 1;
  const std::string dir = dir_template;
  const std::string socket = "unix://" + dir + "/bdcoordd.sock";
  const std::string max = std::to_string(streams + 24);

  const pid_t pid = fork();
  if (pid == 0 && old) {
    execl(bdcoordd.c_str(), bdcoordd.c_str(), "--listen", socket.c_str(), "--data-dir",
          (dir + "/data").c_str(), "--log-level", "warn", static_cast<char*>(nullptr));
    _exit(127);
  }
  if (pid == 0) {
    execl(bdcoordd.c_str(), bdcoordd.c_str(), "--listen", socket.c_str(), "--data-dir",
          (dir + "/data").c_str(), "--max-streams", max.c_str(), "--max-streams-per-client",
          max.c_str(), "--log-level", "warn", static_cast<char*>(nullptr));
    _exit(127);
  }
  auto channel = grpc::CreateChannel(socket, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
    std::fprintf(stderr, "bdcoordd did not come up on %s\n", socket.c_str());
    kill(pid, SIGKILL);
    return 1;
  }
  auto stub = bdcoord::v1::ClusterService::NewStub(channel);
  const int threads_before = static_cast<int>(StatusField(pid, "Threads"));
  const long rss_before = StatusField(pid, "VmRSS");

  struct Watch {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<bdcoord::v1::Event>> reader;
  };
  std::vector<std::unique_ptr<Watch>> watches;
  const auto open_start = std::chrono::steady_clock::now();
  for (int i = 0; i < streams; ++i) {
    auto watch = std::make_unique<Watch>();
    watch->reader = stub->WatchEvents(&watch->context, {});
    watch->reader->WaitForInitialMetadata();  // subscribed
    watches.push_back(std::move(watch));
  }
  const double open_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - open_start).count();

  std::this_thread::sleep_for(std::chrono::seconds(1));  // settle
  const double cpu_start = CpuSeconds(pid);
  std::this_thread::sleep_for(std::chrono::seconds(idle_seconds));
  const double cpu_end = CpuSeconds(pid);
  const int threads_open = static_cast<int>(StatusField(pid, "Threads"));
  const long rss_open = StatusField(pid, "VmRSS");
  const double cpu_percent = 100.0 * (cpu_end - cpu_start) / idle_seconds;

  for (auto& watch : watches) watch->context.TryCancel();
  for (auto& watch : watches) watch->reader->Finish();
  watches.clear();
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  std::filesystem::remove_all(dir);

  std::printf("bdcoordd with %d idle WatchEvents streams (opened in %.2f s):\n", streams,
              open_seconds);
  std::printf("  threads: %d before, %d with the streams open\n", threads_before, threads_open);
  std::printf("  CPU over %d s idle: %.1f%% of one core\n", idle_seconds, cpu_percent);
  std::printf("  RSS: %ld KiB before, %ld KiB with the streams open\n", rss_before, rss_open);
  std::printf("  thread-per-stream design (issue 10, 1,000 streams): 1,011 threads, ~50%% CPU\n");
  std::printf("  exit: %s\n",
              WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "clean (SIGTERM)" : "NOT clean");
  return 0;
}
