// standin: the stand-in workload of bdcoord's test image `bdcoord/standin:latest`.
//
// A tiny, dependency-free process that behaves like a service for the orchestrator: it opens TCP
// listeners (answering HTTP requests with 200), logs a line per interval, exits after a delay with
// a chosen code, and stops promptly with exit code 0 on SIGTERM/SIGINT even as PID 1 of a
// container. Built by deploy/testbed.sh with `g++ -static -O2 -std=c++20`; see README.md.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Milliseconds: durations, and time points on the monotonic clock. (No <chrono>: it doubles the
// compile time, and testbed.sh compiles this on every fresh `up`.)
using Millis = std::int64_t;

Millis NowMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Millis>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

constexpr int kUsageError = 2;
constexpr int kRuntimeError = 1;
constexpr std::size_t kMaxClients = 256;
constexpr std::size_t kMaxRequestBytes = 16 * 1024;
constexpr Millis kClientTimeout = 5000;

constexpr std::string_view kUsage =
    R"(Usage: standin [FLAGS]

A stand-in workload for bdcoord tests. With no flags it runs until stopped.

Flags (--flag VALUE or --flag=VALUE):
  --listen PORT[,PORT...]   open TCP listeners on 0.0.0.0; an HTTP request gets
                            "HTTP/1.0 200 OK" and a one-line body, anything else
                            is closed (on EOF, on non-HTTP data, or after 5s)
  --log-interval DURATION   print "standin NAME tick N" every DURATION
  --exit-after DURATION     exit after DURATION with the code of --exit-code
  --exit-code N             exit code for --exit-after (0-255, default 0); given
                            alone it means --exit-after 0 (a job that completes)
  --ready-after DURATION    wait DURATION before opening the listeners and
                            printing "standin: ready" (slow-start stand-in)
  --name NAME               NAME in log lines and HTTP bodies (default: hostname)
  --help                    print this help and exit 0

DURATION is a number with a unit: 500ms, 2s, 1.5s, 1m, 1h (a bare number is seconds).

Lines printed on stdout, one write per line:
  standin: started (listen=8080,9090 name=NAME)
  standin: listening on 8080          (per port, once it accepts connections)
  standin: ready
  standin NAME tick 1                 (with --log-interval)
  standin: exiting with code 3 after 1s  |  standin: received SIGTERM, exiting
SIGTERM and SIGINT exit 0 promptly. Exit codes: 1 runtime error (e.g. a port in use),
2 bad flags.
)";

volatile sig_atomic_t g_signal = 0;
int g_signal_pipe[2] = {-1, -1};

void OnSignal(int sig) {
  g_signal = sig;
  const int saved = errno;
  const char byte = 1;
  [[maybe_unused]] const ssize_t n = ::write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}

// Writes all of `data` to `fd`, retrying on EINTR and short writes.
void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// One line, one write(2): nothing is buffered, lines of concurrent writers do not interleave.
void Out(const std::string& line) { WriteAll(STDOUT_FILENO, line + "\n"); }
void Err(const std::string& line) { WriteAll(STDERR_FILENO, "standin: " + line + "\n"); }

[[noreturn]] void UsageError(const std::string& message) {
  Err(message + " (see --help)");
  std::exit(kUsageError);
}

std::optional<Millis> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::size_t digits = 0;
  while (digits < text.size() &&
         ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.')) {
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  const std::string number(text.substr(0, digits));
  const std::string_view unit = text.substr(digits);
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(number.c_str(), &end);
  if (errno != 0 || end != number.c_str() + number.size() || value < 0) return std::nullopt;
  double scale = 0;
  if (unit == "ms") {
    scale = 1;
  } else if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60 * 1000;
  } else if (unit == "h") {
    scale = 3600 * 1000;
  } else {
    return std::nullopt;
  }
  const double ms = value * scale;
  if (ms > 1e12) return std::nullopt;
  return static_cast<Millis>(ms + 0.5);
}

std::string FormatDuration(Millis ms) {
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  return std::to_string(ms / 1000) + "s";
}

std::optional<long> ParseInt(std::string_view text, long min, long max) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  long value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < min || value > max) return std::nullopt;
  return value;
}

struct Options {
  std::vector<int> ports;
  std::optional<Millis> log_interval;
  std::optional<Millis> exit_after;
  std::optional<Millis> ready_after;
  int exit_code = 0;
  bool exit_code_given = false;
  std::string name;
};

Options ParseFlags(int argc, char** argv) {
  Options opts;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      WriteAll(STDOUT_FILENO, kUsage);
      std::exit(0);
    }
    if (!arg.starts_with("--")) UsageError("unexpected argument '" + std::string(arg) + "'");
    std::string flag(arg);
    std::string value;
    static constexpr std::string_view kFlags[] = {"--listen",    "--log-interval", "--exit-after",
                                                  "--exit-code", "--ready-after",  "--name"};
    const std::string bare = flag.substr(0, flag.find('='));
    bool known = false;
    for (const std::string_view f : kFlags) known = known || f == bare;
    if (!known) UsageError("unknown flag " + bare);
    if (const auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    } else {
      if (i + 1 >= argc) UsageError("flag " + flag + " needs a value");
      value = argv[++i];
    }
    const auto duration = [&]() {
      const auto d = ParseDuration(value);
      if (!d) UsageError("bad duration '" + value + "' for " + flag + " (like 500ms, 2s, 1m)");
      return *d;
    };
    if (flag == "--listen") {
      std::size_t start = 0;
      while (start <= value.size()) {
        std::size_t comma = value.find(',', start);
        if (comma == std::string::npos) comma = value.size();
        const std::string item = value.substr(start, comma - start);
        const auto port = ParseInt(item, 1, 65535);
        if (!port) UsageError("bad port '" + item + "' for --listen (1-65535)");
        opts.ports.push_back(static_cast<int>(*port));
        start = comma + 1;
      }
    } else if (flag == "--log-interval") {
      opts.log_interval = duration();
      if (*opts.log_interval == 0) UsageError("--log-interval must be more than 0");
    } else if (flag == "--exit-after") {
      opts.exit_after = duration();
    } else if (flag == "--ready-after") {
      opts.ready_after = duration();
    } else if (flag == "--exit-code") {
      const auto code = ParseInt(value, 0, 255);
      if (!code) UsageError("bad exit code '" + value + "' (0-255)");
      opts.exit_code = static_cast<int>(*code);
      opts.exit_code_given = true;
    } else if (flag == "--name") {
      if (value.empty()) UsageError("--name needs a non-empty value");
      opts.name = value;
    } else {
      UsageError("unknown flag " + flag);
    }
  }
  if (opts.exit_code_given && !opts.exit_after) opts.exit_after = 0;
  if (opts.name.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0') {
      opts.name = host;
    } else {
      opts.name = "standin";
    }
  }
  return opts;
}

void SetNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

int OpenListener(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 128) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

struct Listener {
  int fd;
  int port;
};

struct Client {
  int fd;
  int port;
  Millis deadline;
  std::string request;
};

bool IsMethodChar(char c) { return c >= 'A' && c <= 'Z'; }

enum class Verdict { kNeedMore, kHttp, kClose };

// Decides what to do with the bytes received so far: answer (a complete HTTP request head),
// wait for more, or close (not HTTP).
Verdict Classify(const std::string& request, bool eof) {
  std::size_t i = 0;
  while (i < request.size() && IsMethodChar(request[i])) ++i;
  if (i == request.size()) return (eof || i > 16) ? Verdict::kClose : Verdict::kNeedMore;
  if (i == 0 || request[i] != ' ') return Verdict::kClose;
  const std::size_t line_end = request.find('\n');
  if (line_end == std::string::npos) {
    return (eof || request.size() >= kMaxRequestBytes) ? Verdict::kClose : Verdict::kNeedMore;
  }
  const std::string_view line(request.data(), line_end);
  if (line.find(" HTTP/") == std::string_view::npos) return Verdict::kClose;
  if (request.find("\r\n\r\n") != std::string::npos || request.find("\n\n") != std::string::npos ||
      eof) {
    return Verdict::kHttp;
  }
  return request.size() >= kMaxRequestBytes ? Verdict::kHttp : Verdict::kNeedMore;
}

void Respond(const Client& client, const std::string& name) {
  const bool head = client.request.starts_with("HEAD ");
  const std::string body = "standin " + name + " port " + std::to_string(client.port) + "\n";
  std::string response =
      "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n";
  if (!head) response += body;
  std::string_view rest = response;
  // The response is small: one send nearly always takes it whole; give up on a full buffer.
  while (!rest.empty()) {
    const ssize_t n = ::send(client.fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

void InstallSignals() {
  if (::pipe2(g_signal_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
    Err(std::string("pipe: ") + std::strerror(errno));
    std::exit(kRuntimeError);
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, nullptr);
}

std::string JoinPorts(const std::vector<int>& ports) {
  if (ports.empty()) return "none";
  std::string out;
  for (const int p : ports) {
    if (!out.empty()) out += ",";
    out += std::to_string(p);
  }
  return out;
}

int Run(const Options& opts) {
  InstallSignals();
  Out("standin: started (listen=" + JoinPorts(opts.ports) + " name=" + opts.name + ")");

  const Millis start = NowMs();
  std::optional<Millis> ready_at = start + opts.ready_after.value_or(0);
  std::optional<Millis> exit_at;
  if (opts.exit_after) exit_at = start + *opts.exit_after;
  std::optional<Millis> next_tick;
  if (opts.log_interval) next_tick = start + *opts.log_interval;
  long tick = 0;

  std::vector<Listener> listeners;
  std::vector<Client> clients;
  std::vector<pollfd> fds;

  for (;;) {
    if (g_signal != 0) {
      const char* what = g_signal == SIGINT ? "SIGINT" : g_signal == SIGHUP ? "SIGHUP" : "SIGTERM";
      Out(std::string("standin: received ") + what + ", exiting");
      return 0;
    }
    Millis now = NowMs();
    if (ready_at && now >= *ready_at) {
      ready_at.reset();
      for (const int port : opts.ports) {
        const int fd = OpenListener(port);
        if (fd < 0) {
          Err("cannot listen on port " + std::to_string(port) + ": " + std::strerror(errno));
          return kRuntimeError;
        }
        listeners.push_back({fd, port});
        Out("standin: listening on " + std::to_string(port));
      }
      Out("standin: ready");
    }
    if (exit_at && now >= *exit_at) {
      Out("standin: exiting with code " + std::to_string(opts.exit_code) + " after " +
          FormatDuration(*opts.exit_after));
      return opts.exit_code;
    }
    if (next_tick && now >= *next_tick) {
      Out("standin " + opts.name + " tick " + std::to_string(++tick));
      *next_tick += *opts.log_interval;
      if (*next_tick <= now) *next_tick = now + *opts.log_interval;  // Fell behind: skip ahead.
    }
    // Expire idle clients.
    for (auto it = clients.begin(); it != clients.end();) {
      if (now >= it->deadline) {
        ::close(it->fd);
        it = clients.erase(it);
      } else {
        ++it;
      }
    }

    // The earliest deadline bounds the wait.
    std::optional<Millis> wake;
    const auto consider = [&](const std::optional<Millis>& t) {
      if (t && (!wake || *t < *wake)) wake = t;
    };
    consider(ready_at);
    consider(exit_at);
    consider(next_tick);
    for (const Client& c : clients) consider(c.deadline);
    int timeout_ms = -1;
    if (wake) {
      const Millis left = *wake - now;
      timeout_ms = static_cast<int>(left < 0 ? 0 : left > 60000 ? 60000 : left);
    }

    fds.clear();
    fds.push_back({g_signal_pipe[0], POLLIN, 0});
    for (const Listener& l : listeners) fds.push_back({l.fd, POLLIN, 0});
    for (const Client& c : clients) fds.push_back({c.fd, POLLIN, 0});
    const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      Err(std::string("poll: ") + std::strerror(errno));
      return kRuntimeError;
    }
    if (ready == 0) continue;
    if (fds[0].revents != 0) {
      char drain[64];
      while (::read(g_signal_pipe[0], drain, sizeof(drain)) > 0) {
      }
    }

    now = NowMs();
    // Clients first (their pollfds follow the listeners'), so new ones are not polled yet.
    std::vector<Client> kept;
    kept.reserve(clients.size());
    for (std::size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      const short revents = fds[1 + listeners.size() + i].revents;
      if (revents == 0) {
        kept.push_back(std::move(c));
        continue;
      }
      char buf[4096];
      const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        kept.push_back(std::move(c));
        continue;
      }
      if (n > 0) c.request.append(buf, static_cast<std::size_t>(n));
      const Verdict v = Classify(c.request, n <= 0);
      if (v == Verdict::kNeedMore) {
        kept.push_back(std::move(c));
        continue;
      }
      if (v == Verdict::kHttp) Respond(c, opts.name);
      ::close(c.fd);
    }
    clients = std::move(kept);

    for (std::size_t i = 0; i < listeners.size(); ++i) {
      if (fds[1 + i].revents == 0) continue;
      for (;;) {
        const int fd = ::accept4(listeners[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) break;
        SetNonBlocking(fd);
        if (clients.size() >= kMaxClients) {
          ::close(fd);
          continue;
        }
        clients.push_back({fd, listeners[i].port, now + kClientTimeout, {}});
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) { return Run(ParseFlags(argc, argv)); }
