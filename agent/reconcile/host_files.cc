#include "agent/reconcile/host_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace bdcoord::agent {
namespace {

absl::Status ErrnoError(const std::string& what, const std::string& path, int error = errno) {
  const std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(error));
  return error == ENOENT ? absl::NotFoundError(message) : absl::InternalError(message);
}

absl::Status WriteAll(int fd, const std::string& content, const std::string& path) {
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot write", path);
    written += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// Makes the missing directories above `path`, root's and 0700 (the files may hold secrets; a
// container reaches its own through the bind mount, which needs no search permission above it).
absl::Status MakeParents(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string directory = path.substr(0, slash);
    if (mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoError("cannot make directory", directory);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> LocalHostFiles::Read(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path);
  std::string content;
  char buffer[8192];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      return ErrnoError("cannot read", path, error);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return content;
}

absl::Status LocalHostFiles::WriteInPlace(const std::string& path, const std::string& content) {
  // O_TRUNC on the existing file keeps its inode; never create it.
  const int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open for writing", path);
  absl::Status written = WriteAll(fd, content, path);
  if (close(fd) != 0 && written.ok()) return ErrnoError("cannot close", path);
  return written;
}

absl::Status LocalHostFiles::Create(const std::string& path, const std::string& content,
                                    uint32_t mode, FileOwner owner) {
  if (absl::Status made = MakeParents(path); !made.ok()) return made;
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("cannot replace", path);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot create", path);
  absl::Status status = WriteAll(fd, content, path);
  // Owner first: chown clears the set-id bits that fchmod may then set as asked.
  if (status.ok() && fchown(fd, owner.uid, owner.gid) != 0)
    status = ErrnoError("cannot chown", path);
  if (status.ok() && fchmod(fd, mode & 07777) != 0) status = ErrnoError("cannot chmod", path);
  if (close(fd) != 0 && status.ok()) status = ErrnoError("cannot close", path);
  return status;
}

absl::StatusOr<FileOwner> LocalHostFiles::OwnerOf(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return ErrnoError("cannot stat", path);
  return FileOwner{st.st_uid, st.st_gid};
}

absl::Status LocalHostFiles::SetOwner(const std::string& path, FileOwner owner) {
  if (lchown(path.c_str(), owner.uid, owner.gid) != 0) return ErrnoError("cannot chown", path);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> LocalHostFiles::List(const std::string& directory) {
  std::vector<std::string> names;
  DIR* dir = opendir(directory.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) return names;
    return ErrnoError("cannot list", directory);
  }
  while (const dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  return names;
}

absl::Status LocalHostFiles::RemoveAll(const std::string& path) {
  std::error_code error;
  std::filesystem::remove_all(path, error);  // removes links, never follows them
  if (error)
    return absl::InternalError(absl::StrCat("cannot remove ", path, ": ", error.message()));
  return absl::OkStatus();
}

}  // namespace bdcoord::agent
