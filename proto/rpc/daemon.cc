#include "proto/rpc/daemon.h"

#include <pthread.h>
#include <signal.h>

#include <thread>

#include "proto/rpc/logging.h"

namespace bdcoord::rpc {
namespace {

sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  return signals;
}

}  // namespace

void AddVersionFlag(CLI::App* app, const std::string& program) {
  app->set_version_flag("--version", program + " " + BDCOORD_VERSION);
}

void AddLogLevelFlag(CLI::App* app, std::string* level) {
  app->add_option("--log-level", *level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
}

std::optional<int> ParseCommandLine(CLI::App* app, int argc, char** argv) {
  try {
    app->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app->exit(e) == 0 ? 0 : 2;
  }
  return std::nullopt;
}

std::shared_ptr<spdlog::logger> SetUpDaemonLogger(const std::string& program,
                                                  const std::string& level) {
  std::shared_ptr<spdlog::logger> logger = NamedLogger(program);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  return logger;
}

void BlockStopSignals() {
  const sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int WaitForStopSignal() {
  const sigset_t signals = StopSignals();
  int signal_number = 0;
  while (sigwait(&signals, &signal_number) != 0) {
  }
  return signal_number;
}

void StopOnSignal(std::function<void()> stop) {
  std::thread([stop = std::move(stop)] {
    WaitForStopSignal();
    stop();
  }).detach();
}

}  // namespace bdcoord::rpc
