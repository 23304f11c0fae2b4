// bdgate RELEASE_FILE PROGRAM [ARG...]: the first process of a held instance's container. The
// agent starts a held container early, while its dependencies come up, so that Docker's start
// (network, /etc/hosts, runc) is done by the time they are met; bdgate keeps the instance's own
// program from running until the agent writes RELEASE_FILE (bind-mounted from the host, empty
// while held), then becomes it (execvp: same PID, same user, environment and working directory).
//
// Static, with nothing but the C library: it runs in any image, distroless ones included.
// Never blocks a stop: SIGTERM, SIGINT, SIGHUP and SIGQUIT end it while it waits (as PID 1 it
// would ignore them otherwise).
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

namespace {

constexpr int kStopSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};

void ExitOnSignal(int signal) { _exit(128 + signal); }

// Released once the file has content.
bool Released(const char* path) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char byte;
  const ssize_t n = read(fd, &byte, 1);
  close(fd);
  return n > 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bdgate RELEASE_FILE PROGRAM [ARG...]\n");
    return 2;
  }
  const char* release_file = argv[1];
  for (int signal : kStopSignals) ::signal(signal, ExitOnSignal);
  // The watch comes before the first look: a release between the two is not missed.
  const int watch = inotify_init1(IN_CLOEXEC);
  const bool watching =
      watch >= 0 && inotify_add_watch(watch, release_file, IN_MODIFY | IN_CLOSE_WRITE) >= 0;
  while (!Released(release_file)) {
    char events[4096];
    if (!watching || read(watch, events, sizeof events) < 0) {
      const timespec poll = {0, 50 * 1000 * 1000};  // no inotify here: look again in 50 ms
      nanosleep(&poll, nullptr);
    }
  }
  if (watch >= 0) close(watch);
  for (int signal : kStopSignals) ::signal(signal, SIG_DFL);
  execvp(argv[2], argv + 2);
  const int error = errno;
  fprintf(stderr, "bdgate: cannot run %s: %s\n", argv[2], strerror(error));
  return error == ENOENT ? 127 : 126;
}
