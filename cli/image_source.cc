#include "cli/image_source.h"

#include <curl/curl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace bdcoord::cli {
namespace {

constexpr char kDockerHint[] =
    "hint: build or pull it there, point DOCKER_HOST at the Docker that has it, or give a "
    "`docker save IMAGE -o FILE.tar` file";

struct FileCloser {
  void operator()(FILE* file) const { std::fclose(file); }
};

absl::Status FileError(const std::string& path, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(
      path, ": ", what, "; hint: give a `docker save IMAGE -o FILE.tar` archive (not compressed)"));
}

absl::StatusOr<ArchiveImages> ReadManifest(const std::string& path) {
  std::unique_ptr<FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot read: ", std::strerror(errno)));
  }
  std::string block(512, '\0');
  while (std::fread(block.data(), 1, block.size(), file.get()) == block.size()) {
    absl::StatusOr<std::optional<TarEntry>> entry = ParseTarHeader(block);
    if (!entry.ok()) return FileError(path, std::string(entry.status().message()));
    if (!entry->has_value()) break;
    const int64_t padded = ((*entry)->size + 511) / 512 * 512;
    if ((*entry)->name == "manifest.json" || (*entry)->name == "./manifest.json") {
      if ((*entry)->size > (1 << 24)) return FileError(path, "its manifest.json is too large");
      std::string manifest(static_cast<size_t>((*entry)->size), '\0');
      if (std::fread(manifest.data(), 1, manifest.size(), file.get()) != manifest.size()) {
        return FileError(path, "the archive ends inside its manifest.json");
      }
      absl::StatusOr<ArchiveImages> images = ParseDockerManifest(manifest);
      if (!images.ok()) return FileError(path, std::string(images.status().message()));
      return images;
    }
    if (fseeko(file.get(), padded, SEEK_CUR) != 0) {
      return FileError(path, "the archive ends inside an entry");
    }
  }
  return FileError(path, "not a `docker save` archive (no manifest.json)");
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};

std::string Escape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || absl::StrContains("-._~/:@", c)) {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, "%", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    }
  }
  return out;
}

struct Transfer {
  long status = 0;
  std::string error_body;  // a non-2xx answer's start
  const std::function<bool(absl::string_view)>* sink = nullptr;
  CURL* curl = nullptr;
};

size_t OnData(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  curl_easy_getinfo(transfer->curl, CURLINFO_RESPONSE_CODE, &transfer->status);
  if (transfer->status < 200 || transfer->status >= 300) {
    if (transfer->error_body.size() < 4096) transfer->error_body.append(data, n);
    return n;
  }
  return (*transfer->sink)(absl::string_view(data, n)) ? n : 0;
}

// GET `path` from the local Docker, the body into `sink`. The error names what failed.
absl::Status DockerGet(const std::string& docker_host, const std::string& path,
                       const std::function<bool(absl::string_view)>& sink, long* status) {
  if (!absl::StartsWith(docker_host, "unix://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("DOCKER_HOST '", docker_host,
                     "' is not a unix socket (unix:///PATH); hint: give a `docker save` file"));
  }
  const std::string socket = docker_host.substr(7);
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  Transfer transfer{.status = 0, .error_body = {}, .sink = &sink, .curl = curl.get()};
  const std::string url = absl::StrCat("http://docker", path);
  curl_easy_setopt(curl.get(), CURLOPT_UNIX_SOCKET_PATH, socket.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &OnData);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &transfer);
  const CURLcode code = curl_easy_perform(curl.get());
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &transfer.status);
  *status = transfer.status;
  if (code == CURLE_WRITE_ERROR) return absl::OkStatus();  // the sink stopped
  if (code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("cannot reach the local Docker at ", docker_host,
                                               ": ", curl_easy_strerror(code), "; ", kDockerHint));
  }
  if (transfer.status < 200 || transfer.status >= 300) {
    std::string message = transfer.error_body;
    try {
      const nlohmann::json body = nlohmann::json::parse(transfer.error_body);
      if (body.is_object() && body.contains("message") && body["message"].is_string()) {
        message = body["message"].get<std::string>();
      }
    } catch (const nlohmann::json::exception&) {
    }
    return absl::Status(
        transfer.status == 404 ? absl::StatusCode::kNotFound : absl::StatusCode::kUnavailable,
        std::string(absl::StripAsciiWhitespace(message)));
  }
  return absl::OkStatus();
}

}  // namespace

std::string LocalDockerHost() {
  const char* host = std::getenv("DOCKER_HOST");
  return host != nullptr && host[0] != '\0' ? std::string(host) : "unix:///var/run/docker.sock";
}

absl::StatusOr<ImageSource> ResolveImageSource(const std::string& name,
                                               const std::string& docker_host) {
  ImageSource source;
  source.name = name;
  source.docker_host = docker_host;
  struct stat st;
  const bool exists = ::stat(name.c_str(), &st) == 0;
  if ((exists && S_ISREG(st.st_mode)) || absl::EndsWith(name, ".tar")) {
    if (!exists) {
      return absl::NotFoundError(absl::StrCat(name, ": cannot read: ", std::strerror(ENOENT)));
    }
    absl::StatusOr<ArchiveImages> images = ReadManifest(name);
    if (!images.ok()) return images.status();
    source.file = name;
    source.images = *std::move(images);
    source.size_bytes = st.st_size;
    return source;
  }
  std::string body;
  long status = 0;
  absl::Status got = DockerGet(
      docker_host, absl::StrCat("/images/", Escape(name), "/json"),
      [&body](absl::string_view data) {
        body.append(data.data(), data.size());
        return body.size() < (16 << 20);
      },
      &status);
  if (absl::IsNotFound(got)) {
    return absl::NotFoundError(absl::StrCat("image '", name, "' is not in the local Docker (",
                                            docker_host, "); ", kDockerHint));
  }
  if (!got.ok()) return got;
  try {
    const nlohmann::json image = nlohmann::json::parse(body);
    source.images.ids.push_back(image.at("Id").get<std::string>());
    source.size_bytes = image.value("Size", int64_t{0});
    // The archive of a tag carries that tag (of an ID, none).
    const std::string wanted = NormalizeImageReference(name);
    for (const nlohmann::json& tag : image.value("RepoTags", nlohmann::json::array())) {
      if (tag.is_string() && tag.get<std::string>() == wanted) {
        source.images.repo_tags.push_back(wanted);
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::InternalError(
        absl::StrCat("the local Docker's answer about '", name, "' is not understood: ", e.what()));
  }
  return source;
}

absl::Status ReadImageArchive(const ImageSource& source, size_t piece_bytes,
                              const std::function<bool(std::string)>& sink) {
  if (!source.file.empty()) {
    std::unique_ptr<FILE, FileCloser> file(std::fopen(source.file.c_str(), "rb"));
    if (file == nullptr) {
      return absl::NotFoundError(
          absl::StrCat(source.file, ": cannot read: ", std::strerror(errno)));
    }
    while (true) {
      std::string piece(piece_bytes, '\0');
      const size_t n = std::fread(piece.data(), 1, piece.size(), file.get());
      if (n == 0) break;
      piece.resize(n);
      if (!sink(std::move(piece))) return absl::OkStatus();
    }
    if (std::ferror(file.get())) {
      return absl::DataLossError(
          absl::StrCat(source.file, ": cannot read: ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  std::string piece;
  bool stopped = false;
  long status = 0;
  absl::Status got = DockerGet(
      source.docker_host, absl::StrCat("/images/", Escape(source.name), "/get"),
      [&](absl::string_view data) {
        piece.append(data.data(), data.size());
        if (piece.size() >= piece_bytes) {
          std::string full = piece.substr(0, piece_bytes);
          piece.erase(0, piece_bytes);
          if (!sink(std::move(full))) {
            stopped = true;
            return false;
          }
        }
        return true;
      },
      &status);
  if (!got.ok()) {
    return absl::Status(got.code(), absl::StrCat("the local Docker could not save '", source.name,
                                                 "': ", got.message()));
  }
  if (!stopped && !piece.empty()) sink(std::move(piece));
  return absl::OkStatus();
}

}  // namespace bdcoord::cli
