#ifndef BDCOORD_TESTS_INTEGRATION_TLS_TEST_UTIL_H_
#define BDCOORD_TESTS_INTEGRATION_TLS_TEST_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace bdcoord::test_util {

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline bool HaveOpenssl() { return std::system("command -v openssl >/dev/null") == 0; }

// Makes, in `dir`: ca.pem/ca.key; server.pem/server.key and client.pem/client.key signed by it
// (both with subjectAltName IP:127.0.0.1 and DNS:localhost); host1.pem/host1.key, an agent's
// (CN host1, DNS:host1.example); rogue.pem, the client key's certificate signed by another CA
// (other.pem). False when openssl fails.
inline bool MakeTestCertificates(const std::string& dir) {
  const std::string script = "set -e; cd " + dir + R"(
    q() { "$@" >/dev/null 2>&1; }
    q openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -subj /CN=ca -days 1
    q openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -subj /CN=o -days 1
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext
    for n in server client; do
      q openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj /CN=$n
      q openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem \
        -days 1 -extfile san.ext
    done
    q openssl x509 -req -in client.csr -CA other.pem -CAkey other.key -CAcreateserial \
      -out rogue.pem -days 1
    printf 'subjectAltName=DNS:host1.example\n' >host1.ext
    q openssl req -newkey rsa:2048 -nodes -keyout host1.key -out host1.csr -subj /CN=host1
    q openssl x509 -req -in host1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out host1.pem \
      -days 1 -extfile host1.ext)";
  return std::system(script.c_str()) == 0;
}

// A free loopback TCP port: bind to 0, read it back, release it. 0 on failure.
inline int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace bdcoord::test_util

#endif  // BDCOORD_TESTS_INTEGRATION_TLS_TEST_UTIL_H_
