#include "agent/reconcile/hosts_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace bdcoord::agent {
namespace {

absl::Status ErrnoError(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::string> FileHostsWriter::Read(const std::string& hosts_path) {
  const int fd = open(hosts_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no hosts file at ", hosts_path));
    return ErrnoError("cannot open", hosts_path);
  }
  std::string content;
  char buffer[8192];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return ErrnoError("cannot read", hosts_path);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return content;
}

absl::Status FileHostsWriter::WriteInPlace(const std::string& hosts_path,
                                           const std::string& content) {
  // O_TRUNC on the existing file keeps its inode; never create it (Docker owns its existence).
  const int fd = open(hosts_path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open for writing", hosts_path);
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return ErrnoError("cannot write", hosts_path);
    }
    written += static_cast<size_t>(n);
  }
  if (close(fd) != 0) return ErrnoError("cannot close", hosts_path);
  return absl::OkStatus();
}

}  // namespace bdcoord::agent
