#ifndef BDCOORD_TESTS_TESTING_ETCD_PROCESS_H_
#define BDCOORD_TESTS_TESTING_ETCD_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "coordinator/state/etcd_kv_http.h"
#include "tests/integration/tls_test_util.h"  // FreeLoopbackPort

namespace bdcoord::test_util {

// TLS of an etcd: its certificate and key, and the CA that client certificates must be signed by.
struct EtcdTls {
  std::string cert;
  std::string key;
  std::string client_ca;
};

// A single-member etcd (Debian's etcd-server) of its own, on free loopback ports with its data
// in `dir`; killed by its PID when this goes. Transactions may hold 10,000 operations. With
// `tls`, clients must come over https with a certificate signed by tls.client_ca.
class EtcdProcess {
 public:
  // Starts it and waits (up to `timeout`) until it answers a range.
  static absl::StatusOr<std::unique_ptr<EtcdProcess>> Start(
      const std::string& dir, const EtcdTls* tls = nullptr,
      absl::Duration timeout = absl::Seconds(20)) {
    auto etcd = std::unique_ptr<EtcdProcess>(new EtcdProcess());
    etcd->client_port_ = FreeLoopbackPort();
    const int peer_port = FreeLoopbackPort();
    const std::string client =
        absl::StrCat(tls != nullptr ? "https" : "http", "://127.0.0.1:", etcd->client_port_);
    const std::string peer = absl::StrCat("http://127.0.0.1:", peer_port);
    std::vector<std::string> args = {
        "etcd",
        "--name=test",
        "--data-dir=" + dir + "/etcd",
        "--listen-client-urls=" + client,
        "--advertise-client-urls=" + client,
        "--listen-peer-urls=" + peer,
        "--initial-advertise-peer-urls=" + peer,
        "--initial-cluster=test=" + peer,
        "--max-txn-ops=10000",
        "--max-request-bytes=10485760",
    };
    if (tls != nullptr) {
      args.insert(args.end(), {"--cert-file=" + tls->cert, "--key-file=" + tls->key,
                               "--client-cert-auth", "--trusted-ca-file=" + tls->client_ca});
    }
    const std::string log = dir + "/etcd.log";
    const pid_t pid = ::fork();
    if (pid < 0) return absl::InternalError("fork failed");
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      ::execvp("etcd", argv.data());
      ::_exit(127);
    }
    etcd->pid_ = pid;
    coordinator::EtcdHttpOptions options;
    options.endpoints = {etcd->endpoint()};
    if (tls != nullptr) {  // the server's own pair serves as a client certificate here
      options.tls_ca = tls->client_ca;
      options.tls_cert = tls->cert;
      options.tls_key = tls->key;
    }
    absl::StatusOr<std::unique_ptr<coordinator::EtcdKv>> kv = coordinator::NewEtcdHttpKv(options);
    if (!kv.ok()) return kv.status();
    const absl::Time deadline = absl::Now() + timeout;
    absl::Status last;
    while (absl::Now() < deadline) {
      last = (*kv)->Range("health", "").status();
      if (last.ok()) return etcd;
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        etcd->pid_ = 0;
        return absl::FailedPreconditionError(
            absl::StrCat("etcd exited (status ", status, "); is etcd-server installed? see ", log));
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return absl::DeadlineExceededError(absl::StrCat("etcd did not answer within ",
                                                    absl::FormatDuration(timeout), ": ",
                                                    last.message(), "; see ", log));
  }

  ~EtcdProcess() { Kill(); }
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // SIGKILL, then reaps it.
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
  }
  std::string endpoint() const { return absl::StrCat("127.0.0.1:", client_port_); }
  // What bdcoordd --store takes.
  std::string url() const { return "etcd://" + endpoint(); }

 private:
  EtcdProcess() = default;
  pid_t pid_ = 0;
  int client_port_ = 0;
};

}  // namespace bdcoord::test_util

#endif  // BDCOORD_TESTS_TESTING_ETCD_PROCESS_H_
