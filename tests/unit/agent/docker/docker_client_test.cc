// Unit tests of the Docker client: the tar builder, the stream parsers, and the client itself
// against a fake dockerd (a small HTTP/1.1 server on a unix socket in a temp dir).

#include "agent/docker/docker_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "agent/docker/docker_client_impl.h"
#include "agent/docker/stream_frames.h"
#include "agent/docker/tar.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/tar_builder.h"

namespace bdcoord::agent {
namespace {

using testing::BuildTar;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// The archive reader, over archives written by tests/testing/tar_builder.h.

std::string Msg(const absl::Status& status) { return std::string(status.message()); }

ArchiveFile File(std::string path, std::string content, uint32_t mode = 0644,
                 std::string owner = "") {
  ArchiveFile file;
  file.path = std::move(path);
  file.content = std::move(content);
  file.mode = mode;
  file.owner = std::move(owner);
  return file;
}

TEST(TarTest, FirstEntryOfAFileADirectoryAndAnIncompleteStream) {
  const std::string tar =
      *BuildTar({File("/passwd", "root:x:0:0::/:/bin/sh\n", 0600, "0:42"), File("/other", "x")});
  absl::StatusOr<std::optional<ArchiveFile>> entry = FirstTarEntry(tar);
  ASSERT_TRUE(entry.ok() && entry->has_value()) << entry.status();
  EXPECT_EQ((*entry)->path, "passwd");
  EXPECT_EQ((*entry)->content, "root:x:0:0::/:/bin/sh\n");
  EXPECT_EQ((*entry)->mode, 0600u);
  EXPECT_EQ((*entry)->owner, "0:42");
  for (size_t size : {size_t{0}, size_t{511}, size_t{512}, size_t{530}}) {
    entry = FirstTarEntry(absl::string_view(tar).substr(0, size));
    ASSERT_TRUE(entry.ok()) << size;
    EXPECT_FALSE(entry->has_value()) << size;
  }
  // A directory: its own entry, not what it holds.
  entry = FirstTarEntry(*BuildTar({File("/zk/", "", 0750, "1000:1000"), File("/zk/myid", "1")}));
  ASSERT_TRUE(entry.ok() && entry->has_value()) << entry.status();
  EXPECT_EQ((*entry)->path, "zk/");
  EXPECT_EQ((*entry)->mode, 0750u);
  EXPECT_EQ((*entry)->owner, "1000:1000");
}

TEST(TarTest, FirstEntrySkipsExtendedHeadersAndRefusesLinks) {
  // A PAX header (as Go's archive/tar writes for long names) before the entry.
  std::string pax = *BuildTar({File("/pax", "30 path=passwd\n")});
  pax.resize(1024);
  pax[156] = 'x';
  pax[148] = ' ';  // checksums are not checked by the reader
  const std::string tar = pax + *BuildTar({File("/passwd", "root:x:0:0::/:/bin/sh\n")});
  absl::StatusOr<std::optional<ArchiveFile>> entry = FirstTarEntry(tar);
  ASSERT_TRUE(entry.ok() && entry->has_value()) << entry.status();
  EXPECT_EQ((*entry)->path, "passwd");

  std::string link = *BuildTar({File("/passwd", "")});
  link[156] = '2';
  std::memcpy(&link[157], "/usr/etc/passwd", 15);
  EXPECT_EQ(FirstTarEntry(link).status().message(),
            "\"passwd\" is a symbolic link to \"/usr/etc/passwd\"");
  EXPECT_EQ(FirstTarEntry(std::string(1024, '\0')).status().message(),
            "the archive holds no entry");
  std::string bad = *BuildTar({File("/x", "")});
  bad[124] = '9';
  EXPECT_EQ(FirstTarEntry(bad).status().message(), "malformed tar header at byte 0");
}

// Found by tests/fuzz/tar.cc: a directory entry without a name read name.back() of an empty
// string (undefined behaviour); an entry without a name is an error, whatever its type.
TEST(TarTest, FirstEntryWithoutANameIsAnError) {
  for (char type : {'5', '0'}) {
    std::string tar = *BuildTar({File("/x", "")});
    tar[0] = '\0';
    tar[156] = type;
    EXPECT_EQ(FirstTarEntry(tar).status().message(), "tar entry without a name at byte 0") << type;
  }
}

// ---------------------------------------------------------------------------------------------
// Stream parsers

std::string Frame(uint8_t stream, absl::string_view payload) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream);
  const uint32_t size = static_cast<uint32_t>(payload.size());
  out[4] = static_cast<char>(size >> 24);
  out[5] = static_cast<char>(size >> 16);
  out[6] = static_cast<char>(size >> 8);
  out[7] = static_cast<char>(size);
  absl::StrAppend(&out, payload);
  return out;
}

std::string Show(const LogLine& line) {
  return absl::StrCat(line.stream == LogLine::Stream::kStdout ? "out:" : "err:", line.text);
}

// A sample log: lines split across frames, interleaved streams, an empty frame, a frame of
// several lines, partial last lines on both streams.
std::string SampleStream() {
  return absl::StrCat(Frame(1, "hello\nwor"), Frame(2, "err1\n"), Frame(1, ""),
                      Frame(1, "ld\nthree\nfour\n"), Frame(2, "partial"), Frame(1, "last"));
}

const std::vector<std::string> kSampleLines = {"out:hello", "err:err1", "out:world",  "out:three",
                                               "out:four",  "out:last", "err:partial"};

std::vector<std::string> Demux(const std::vector<absl::string_view>& chunks) {
  LogLineDemuxer demuxer(/*multiplexed=*/true);
  std::vector<std::string> lines;
  auto sink = [&](const LogLine& line) {
    lines.push_back(Show(line));
    return true;
  };
  for (absl::string_view chunk : chunks) EXPECT_TRUE(demuxer.Feed(chunk, sink));
  EXPECT_TRUE(demuxer.Finish(sink).ok());
  return lines;
}

TEST(LogLineDemuxerTest, WholeStream) {
  const std::string stream = SampleStream();
  EXPECT_EQ(Demux({stream}), kSampleLines);
}

TEST(LogLineDemuxerTest, EveryChunkingWithOneOrTwoCuts) {
  const std::string stream = SampleStream();
  const absl::string_view s = stream;
  for (size_t i = 0; i <= s.size(); ++i) {
    ASSERT_EQ(Demux({s.substr(0, i), s.substr(i)}), kSampleLines) << "cut at " << i;
    for (size_t j = i; j <= s.size(); ++j) {
      ASSERT_EQ(Demux({s.substr(0, i), s.substr(i, j - i), s.substr(j)}), kSampleLines)
          << "cuts at " << i << " and " << j;
    }
  }
}

TEST(LogLineDemuxerTest, ByteByByte) {
  const std::string stream = SampleStream();
  std::vector<absl::string_view> chunks;
  for (size_t i = 0; i < stream.size(); ++i)
    chunks.push_back(absl::string_view(stream).substr(i, 1));
  EXPECT_EQ(Demux(chunks), kSampleLines);
}

TEST(LogLineDemuxerTest, StdinCountsAsStdoutAndSystemErrorAsStderr) {
  EXPECT_THAT(Demux({absl::StrCat(Frame(0, "in\n"), Frame(3, "sys\n"))}),
              ElementsAre("out:in", "err:sys"));
}

TEST(LogLineDemuxerTest, StopsWhenTheSinkSaysSo) {
  const std::string stream = SampleStream();
  LogLineDemuxer demuxer(true);
  std::vector<std::string> lines;
  auto sink = [&](const LogLine& line) {
    lines.push_back(Show(line));
    return lines.size() < 2;
  };
  EXPECT_FALSE(demuxer.Feed(stream, sink));
  EXPECT_TRUE(demuxer.stopped());
  EXPECT_FALSE(demuxer.Feed(stream, sink));
  EXPECT_TRUE(demuxer.Finish(sink).ok());  // no flush after a stop
  EXPECT_THAT(lines, ElementsAre("out:hello", "err:err1"));
}

TEST(LogLineDemuxerTest, MalformedHeader) {
  LogLineDemuxer demuxer(true);
  std::vector<std::string> lines;
  auto sink = [&](const LogLine& line) {
    lines.push_back(Show(line));
    return true;
  };
  // A TTY stream taken for a multiplexed one.
  EXPECT_FALSE(demuxer.Feed(absl::StrCat(Frame(1, "ok\n"), "plain text\n"), sink));
  EXPECT_EQ(demuxer.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(Msg(demuxer.status()),
              StartsWith("malformed stream frame header at byte 11: 70 6c 61 69"));
  EXPECT_THAT(lines, ElementsAre("out:ok"));
  EXPECT_EQ(demuxer.Finish(sink).code(), absl::StatusCode::kInternal);
}

TEST(LogLineDemuxerTest, EndInsideAFrame) {
  LogLineDemuxer demuxer(true);
  std::vector<std::string> lines;
  auto sink = [&](const LogLine& line) {
    lines.push_back(Show(line));
    return true;
  };
  const std::string frame = Frame(2, "abc\ndef");
  EXPECT_TRUE(demuxer.Feed(frame.substr(0, frame.size() - 2), sink));
  const absl::Status status = demuxer.Finish(sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(status.message(), "stream ended inside a frame: 2 payload bytes missing after byte 13");
  EXPECT_THAT(lines, ElementsAre("err:abc", "err:d"));

  LogLineDemuxer header_cut(true);
  EXPECT_TRUE(header_cut.Feed(frame.substr(0, 5), sink));
  EXPECT_EQ(header_cut.Finish(sink).message(),
            "stream ended inside a frame header: 5 of 8 bytes after byte 0");
}

TEST(LogLineDemuxerTest, RawStreamOfATty) {
  LogLineDemuxer demuxer(/*multiplexed=*/false);
  std::vector<std::string> lines;
  auto sink = [&](const LogLine& line) {
    lines.push_back(Show(line));
    return true;
  };
  EXPECT_TRUE(demuxer.Feed("one\r\ntw", sink));
  EXPECT_TRUE(demuxer.Feed("o\r\n\r\nthree", sink));
  EXPECT_TRUE(demuxer.Finish(sink).ok());
  EXPECT_THAT(lines, ElementsAre("out:one", "out:two", "out:", "out:three"));
}

TEST(LogLineDemuxerTest, LongLinesAreCutTheSameWayWhateverTheChunking) {
  const std::string stream = Frame(1, "abcdefghij\nabcd\nabcde");
  const std::vector<std::string> want = {"out:abcd", "out:efgh", "out:ij",
                                         "out:abcd", "out:abcd", "out:e"};
  for (size_t i = 0; i <= stream.size(); ++i) {
    LogLineDemuxer demuxer(true, /*max_line_bytes=*/4);
    std::vector<std::string> lines;
    auto sink = [&](const LogLine& line) {
      lines.push_back(Show(line));
      return true;
    };
    EXPECT_TRUE(demuxer.Feed(absl::string_view(stream).substr(0, i), sink));
    EXPECT_TRUE(demuxer.Feed(absl::string_view(stream).substr(i), sink));
    EXPECT_TRUE(demuxer.Finish(sink).ok());
    EXPECT_EQ(lines, want) << "cut at " << i;
  }
}

TEST(FrameParserTest, PayloadPiecesKeepTheirStream) {
  const std::string stream = absl::StrCat(Frame(1, "out1"), Frame(2, "err"), Frame(1, "out2"));
  for (size_t i = 0; i <= stream.size(); ++i) {
    FrameParser parser;
    std::string out;
    std::string err;
    auto sink = [&](StreamType type, absl::string_view payload) {
      EXPECT_FALSE(payload.empty());
      (type == StreamType::kStdout ? out : err).append(payload.data(), payload.size());
      return true;
    };
    EXPECT_TRUE(parser.Feed(absl::string_view(stream).substr(0, i), sink));
    EXPECT_TRUE(parser.Feed(absl::string_view(stream).substr(i), sink));
    EXPECT_TRUE(parser.AtFrameBoundary());
    EXPECT_TRUE(parser.Finish().ok());
    EXPECT_EQ(out, "out1out2");
    EXPECT_EQ(err, "err");
  }
}

std::vector<std::string> SplitJson(const std::vector<absl::string_view>& chunks,
                                   JsonObjectSplitter& splitter) {
  std::vector<std::string> objects;
  for (absl::string_view chunk : chunks) {
    EXPECT_TRUE(splitter.Feed(chunk, [&](absl::string_view object) {
      objects.emplace_back(object);
      return true;
    }));
  }
  return objects;
}

TEST(JsonObjectSplitterTest, EveryCut) {
  const std::string a = R"({"status":"start","Actor":{"Attributes":{"x":"}{\"]"}}})";
  const std::string b = R"({"n":[1,{"m":"\\"}]})";
  const std::string stream = absl::StrCat(a, "\n", b, "\r\n", a);
  for (size_t i = 0; i <= stream.size(); ++i) {
    JsonObjectSplitter splitter;
    EXPECT_THAT(
        SplitJson({absl::string_view(stream).substr(0, i), absl::string_view(stream).substr(i)},
                  splitter),
        ElementsAre(a, b, a))
        << "cut at " << i;
    EXPECT_FALSE(splitter.HasPartial());
  }
}

TEST(JsonObjectSplitterTest, PartialAndJunk) {
  JsonObjectSplitter splitter;
  EXPECT_THAT(SplitJson({"{\"a\":1}{\"b\""}, splitter), ElementsAre("{\"a\":1}"));
  EXPECT_TRUE(splitter.HasPartial());

  JsonObjectSplitter junk;
  EXPECT_FALSE(junk.Feed("{} x", [](absl::string_view) { return true; }));
  EXPECT_EQ(junk.status().message(), "unexpected byte 0x78 at byte 3 between JSON objects");

  JsonObjectSplitter small(/*max_object_bytes=*/8);
  EXPECT_FALSE(small.Feed("{\"aaaaaaaaaa", [](absl::string_view) { return true; }));
  EXPECT_THAT(Msg(small.status()), StartsWith("JSON object larger than 8 bytes"));
}

// ---------------------------------------------------------------------------------------------
// A fake dockerd: HTTP/1.1 with keep-alive on a unix socket, canned replies from a handler.

struct FakeRequest {
  std::string method;
  std::string target;                          // path and query
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string Path() const { return target.substr(0, target.find('?')); }
};

struct FakeReply {
  std::string bytes;   // written as is
  bool close = false;  // close the connection after writing
  bool hold = false;   // write nothing, keep the connection open
};

std::string Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    default:
      return "Internal Server Error";
  }
}

FakeReply Reply(int status, const std::string& body,
                const std::string& content_type = "application/json") {
  FakeReply reply;
  reply.bytes = absl::StrFormat("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
                                status, Reason(status), content_type, body.size());
  reply.bytes += body;
  return reply;
}

FakeReply JsonReply(int status, const json& body) { return Reply(status, body.dump()); }

FakeReply ErrorReply(int status, const std::string& message) {
  return JsonReply(status, {{"message", message}});
}

// A chunked reply; each string is one HTTP chunk.
FakeReply ChunkedReply(int status, const std::vector<std::string>& chunks,
                       const std::string& content_type = "application/json") {
  FakeReply reply;
  reply.bytes =
      absl::StrFormat("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n",
                      status, Reason(status), content_type);
  for (const std::string& chunk : chunks) {
    absl::StrAppendFormat(&reply.bytes, "%x\r\n%s\r\n", chunk.size(), chunk);
  }
  reply.bytes += "0\r\n\r\n";
  return reply;
}

const json kVersion141 = {
    {"Version", "20.10.24+dfsg1"}, {"ApiVersion", "1.41"}, {"MinAPIVersion", "1.12"}};

class FakeDocker {
 public:
  using Handler = std::function<FakeReply(const FakeRequest&)>;

  FakeDocker() {
    char dir[] = "/tmp/fake-docker.XXXXXX";
    EXPECT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    socket_path_ = dir_ + "/docker.sock";
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path_.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
        << std::strerror(errno);
    EXPECT_EQ(listen(listen_fd_, 16), 0);
    EXPECT_EQ(pipe2(wake_, O_CLOEXEC), 0);
    thread_ = std::thread([this] { Serve(); });
  }

  ~FakeDocker() {
    const char byte = 'x';
    EXPECT_EQ(write(wake_[1], &byte, 1), 1);
    thread_.join();
    close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
    std::filesystem::remove_all(dir_);
  }

  const std::string& socket_path() const { return socket_path_; }
  const std::string& dir() const { return dir_; }

  // What GET /version answers (API 1.41 by default).
  void SetVersion(json version) {
    absl::MutexLock lock(&mu_);
    version_ = std::move(version);
  }

  // Answers everything but GET /version.
  void SetHandler(Handler handler) {
    absl::MutexLock lock(&mu_);
    handler_ = std::move(handler);
  }

  std::vector<FakeRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  // Requests other than GET /version.
  std::vector<FakeRequest> api_requests() {
    std::vector<FakeRequest> out;
    for (FakeRequest& request : requests()) {
      if (request.target != "/version") out.push_back(std::move(request));
    }
    return out;
  }
  int connections() {
    absl::MutexLock lock(&mu_);
    return connections_;
  }

 private:
  struct Connection {
    int fd = -1;
    std::string buffer;
  };

  FakeReply Handle(const FakeRequest& request) {
    Handler handler;
    json version;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
      handler = handler_;
      version = version_;
    }
    if (request.target == "/version") return JsonReply(200, version);
    if (handler) return handler(request);
    return ErrorReply(404, "page not found");
  }

  // Parses as many complete requests as the buffer holds. Returns false to close.
  bool Process(Connection& connection) {
    while (true) {
      const size_t end = connection.buffer.find("\r\n\r\n");
      if (end == std::string::npos) return true;
      FakeRequest request;
      std::vector<std::string> lines = absl::StrSplit(connection.buffer.substr(0, end), "\r\n");
      std::vector<std::string> start = absl::StrSplit(lines[0], ' ');
      if (start.size() != 3) return false;
      request.method = start[0];
      request.target = start[1];
      for (size_t i = 1; i < lines.size(); ++i) {
        const size_t colon = lines[i].find(':');
        if (colon == std::string::npos) continue;
        request.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
            std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
      }
      size_t length = 0;
      if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
        if (!absl::SimpleAtoi(it->second, &length)) return false;
      }
      if (connection.buffer.size() < end + 4 + length) return true;
      request.body = connection.buffer.substr(end + 4, length);
      connection.buffer.erase(0, end + 4 + length);
      const FakeReply reply = Handle(request);
      if (reply.hold) continue;
      size_t written = 0;
      while (written < reply.bytes.size()) {
        const ssize_t n = send(connection.fd, reply.bytes.data() + written,
                               reply.bytes.size() - written, MSG_NOSIGNAL);
        if (n <= 0) return false;
        written += static_cast<size_t>(n);
      }
      if (reply.close) return false;
    }
  }

  void Serve() {
    std::vector<Connection> connections;
    while (true) {
      std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
      for (const Connection& c : connections) fds.push_back({c.fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[0].revents != 0) break;
      if (fds[1].revents & POLLIN) {
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          connections.push_back({fd, ""});
          absl::MutexLock lock(&mu_);
          ++connections_;
        }
      }
      std::vector<Connection> alive;
      for (size_t i = 0; i < connections.size(); ++i) {
        Connection& c = connections[i];
        bool keep = true;
        if (i + 2 < fds.size() && fds[i + 2].revents != 0) {
          char buffer[65536];
          const ssize_t n = read(c.fd, buffer, sizeof(buffer));
          if (n <= 0) {
            keep = false;
          } else {
            c.buffer.append(buffer, static_cast<size_t>(n));
            keep = Process(c);
          }
        }
        if (keep) {
          alive.push_back(std::move(c));
        } else {
          close(c.fd);
        }
      }
      connections = std::move(alive);
    }
    for (const Connection& c : connections) close(c.fd);
  }

  std::string dir_;
  std::string socket_path_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::thread thread_;
  absl::Mutex mu_;
  Handler handler_ ABSL_GUARDED_BY(mu_);
  json version_ ABSL_GUARDED_BY(mu_) = kVersion141;
  std::vector<FakeRequest> requests_ ABSL_GUARDED_BY(mu_);
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
};

std::string PercentDecode(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    int value = 0;
    if (text[i] == '%' && i + 2 < text.size() + 0 &&
        absl::SimpleHexAtoi(text.substr(i + 1, 2), &value)) {
      out.push_back(static_cast<char>(value));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> Query(const std::string& target) {
  std::map<std::string, std::string> out;
  const size_t q = target.find('?');
  if (q == std::string::npos) return out;
  for (absl::string_view part : absl::StrSplit(target.substr(q + 1), '&')) {
    const std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    out[kv.first] = PercentDecode(kv.second);
  }
  return out;
}

class DockerClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<DockerClient> Client(
      std::string socket_path = "", std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    DockerClientOptions options;
    options.socket_path = socket_path.empty() ? fake_.socket_path() : socket_path;
    options.request_timeout = timeout;
    options.connect_timeout = std::chrono::seconds(2);
    absl::StatusOr<std::unique_ptr<DockerClient>> client = NewDockerClient(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  FakeDocker fake_;
};

TEST(NegotiateDockerApiVersionTest, Picks) {
  EXPECT_EQ(*NegotiateDockerApiVersion("1.41", "1.12"), "1.41");
  EXPECT_EQ(*NegotiateDockerApiVersion("1.40", ""), "1.40");
  EXPECT_EQ(*NegotiateDockerApiVersion("1.47", "1.24"), kMaxDockerApiVersion);
  EXPECT_EQ(*NegotiateDockerApiVersion("1.9", "1.2"), "1.9");     // numeric, not lexical
  EXPECT_EQ(*NegotiateDockerApiVersion("1.52", "1.46"), "1.46");  // the daemon has the last word
  EXPECT_EQ(NegotiateDockerApiVersion("one", "1.12").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(NewDockerClientTest, RejectsBadOptions) {
  DockerClientOptions options;
  options.socket_path = "";
  EXPECT_EQ(NewDockerClient(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.socket_path = std::string(200, 'x');
  EXPECT_EQ(NewDockerClient(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.socket_path = "/x.sock";
  options.request_timeout = std::chrono::milliseconds(0);
  EXPECT_EQ(NewDockerClient(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DockerClientTest, VersionNegotiationAndVersionedPaths) {
  fake_.SetHandler([](const FakeRequest& request) {
    if (request.target == "/v1.41/info") {
      return JsonReply(200, {{"Name", "host1"}, {"NCPU", 2}, {"MemTotal", 25000000000}});
    }
    return ErrorReply(404, "page not found");
  });
  std::unique_ptr<DockerClient> client = Client();
  absl::StatusOr<DockerVersion> version = client->Version();
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(version->version, "20.10.24+dfsg1");
  EXPECT_EQ(version->api_version, "1.41");
  absl::StatusOr<DockerInfo> info = client->Info();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name, "host1");
  EXPECT_EQ(info->cpus, 2u);
  EXPECT_EQ(info->memory_bytes, 25000000000);
  const std::vector<FakeRequest> requests = fake_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/version");
  EXPECT_EQ(requests[1].target, "/v1.41/info");
}

TEST_F(DockerClientTest, NegotiatesOnFirstUse) {
  fake_.SetHandler([](const FakeRequest&) { return ErrorReply(404, "No such image: x:1"); });
  std::unique_ptr<DockerClient> client = Client();
  absl::StatusOr<ImageInfo> image = client->InspectImage("registry.local:5000/team/x:1");
  EXPECT_TRUE(absl::IsNotFound(image.status())) << image.status();
  EXPECT_EQ(image.status().message(), "image 'registry.local:5000/team/x:1' is not on this host");
  image = client->InspectImage("y");
  const std::vector<FakeRequest> requests = fake_.requests();
  ASSERT_EQ(requests.size(), 3u);  // negotiated once
  EXPECT_EQ(requests[0].target, "/version");
  EXPECT_EQ(requests[1].target, "/v1.41/images/registry.local:5000/team/x:1/json");
  EXPECT_EQ(requests[2].target, "/v1.41/images/y/json");
}

TEST_F(DockerClientTest, InspectImageGivesItsDefaultUserAndProgram) {
  fake_.SetHandler([](const FakeRequest& request) {
    if (request.Path() == "/v1.41/images/zk:3.8/json") {
      return Reply(200, R"({"Id": "sha256:abc", "Config": {"User": "zookeeper",
                            "Entrypoint": ["/docker-entrypoint.sh"], "Cmd": ["zkServer.sh",
                            "start-foreground"]}})");
    }
    return Reply(200, R"({"Id": "sha256:def", "Config": {"Cmd": ["sh"]}})");
  });
  std::unique_ptr<DockerClient> client = Client();
  absl::StatusOr<ImageInfo> image = client->InspectImage("zk:3.8");
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->id, "sha256:abc");
  EXPECT_EQ(image->user, "zookeeper");
  EXPECT_THAT(image->entrypoint, ElementsAre("/docker-entrypoint.sh"));
  EXPECT_THAT(image->cmd, ElementsAre("zkServer.sh", "start-foreground"));
  image = client->InspectImage("busybox");  // no USER: root; no entrypoint (null)
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->user, "");
  EXPECT_THAT(image->entrypoint, IsEmpty());
  EXPECT_THAT(image->cmd, ElementsAre("sh"));
}

TEST_F(DockerClientTest, NewerDaemonGetsOurNewestVersion) {
  fake_.SetVersion({{"Version", "27.3.1"}, {"ApiVersion", "1.47"}, {"MinAPIVersion", "1.24"}});
  fake_.SetHandler([](const FakeRequest&) { return Reply(200, "{}"); });
  std::unique_ptr<DockerClient> client = Client();
  EXPECT_TRUE(client->InspectImage("busybox").ok());
  const std::vector<FakeRequest> requests = fake_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].target, absl::StrCat("/v", kMaxDockerApiVersion, "/images/busybox/json"));
  EXPECT_EQ(fake_.connections(), 1);  // /version and the call share the connection
}

TEST_F(DockerClientTest, BadVersionAnswer) {
  fake_.SetVersion({{"Version", "?"}});
  absl::StatusOr<DockerVersion> version = Client()->Version();
  EXPECT_EQ(version.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(version.status().message(),
            "GET /version: the daemon's API version \"\" is not MAJOR.MINOR");
}

TEST_F(DockerClientTest, ReusesTheConnection) {
  fake_.SetHandler([](const FakeRequest&) { return JsonReply(200, {{"Volumes", json::array()}}); });
  std::unique_ptr<DockerClient> client = Client();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client->ListVolumes().ok());
  EXPECT_EQ(fake_.requests().size(), 6u);
  EXPECT_EQ(fake_.connections(), 1);
}

TEST_F(DockerClientTest, ConflictCarriesDockersMessage) {
  const std::string message =
      "Conflict. The container name \"/zk1\" is already in use by container \"0123abc\". You "
      "have to remove (or rename) that container to be able to reuse that name.";
  fake_.SetHandler([&](const FakeRequest&) { return ErrorReply(409, message); });
  ContainerConfig config;
  config.name = "zk1";
  config.image = "bdcoord/zookeeper:3.8";
  absl::StatusOr<std::string> id = Client()->CreateContainer(config);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(id.status().message(), "POST /containers/create: HTTP 409: " + message);
}

TEST_F(DockerClientTest, CreateContainerRequest) {
  fake_.SetHandler([](const FakeRequest&) {
    return JsonReply(201, {{"Id", "c0ffee"}, {"Warnings", json::array()}});
  });
  ContainerConfig config;
  config.name = "zk1";
  config.image = "bdcoord/zookeeper:3.8";
  config.hostname = "zk1";
  config.domainname = "lab.example";
  config.entrypoint = {"/.bdcoord/bdgate"};
  config.command = {"java", "-cp", "/usr/share/java/*"};
  config.env = {{"ZOO_MY_ID", "1"}, {"JAVA_OPTS", "-Xmx512m -Da=b"}};
  config.labels = {{"bdcoord.cluster", "c1"}};
  config.user = "1000:1000";
  config.network = "lan";
  config.ipv4 = "10.0.0.11";
  config.mounts = {{"zk1-data", "/data", false}, {"/srv/conf", "/conf", true}};
  config.volume_labels = {{"bdcoord.cluster", "c1"}};
  config.nano_cpus = 1500000000;
  config.memory_bytes = 1 << 30;
  config.restart_policy = "on-failure";
  config.restart_max_retries = 3;
  absl::StatusOr<std::string> id = Client()->CreateContainer(config);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "c0ffee");
  const std::vector<FakeRequest> requests = fake_.api_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1.41/containers/create?name=zk1");
  EXPECT_EQ(requests[0].headers.at("content-type"), "application/json");
  const json body = json::parse(requests[0].body);
  EXPECT_EQ(body["Image"], "bdcoord/zookeeper:3.8");
  EXPECT_EQ(body["Hostname"], "zk1");
  EXPECT_EQ(body["Domainname"], "lab.example");
  EXPECT_EQ(body["User"], "1000:1000");
  EXPECT_EQ(body["Entrypoint"], json({"/.bdcoord/bdgate"}));
  EXPECT_EQ(body["Cmd"], json({"java", "-cp", "/usr/share/java/*"}));
  EXPECT_EQ(body["Env"], json({"ZOO_MY_ID=1", "JAVA_OPTS=-Xmx512m -Da=b"}));
  EXPECT_EQ(body["Labels"], json({{"bdcoord.cluster", "c1"}}));
  const json& host = body["HostConfig"];
  EXPECT_EQ(host["NetworkMode"], "lan");
  EXPECT_EQ(host["NanoCpus"], 1500000000);
  EXPECT_EQ(host["Memory"], 1 << 30);
  EXPECT_EQ(host["RestartPolicy"], json({{"Name", "on-failure"}, {"MaximumRetryCount", 3}}));
  ASSERT_EQ(host["Mounts"].size(), 2u);
  EXPECT_EQ(host["Mounts"][0], json({{"Type", "volume"},
                                     {"Source", "zk1-data"},
                                     {"Target", "/data"},
                                     {"ReadOnly", false},
                                     {"VolumeOptions", {{"Labels", {{"bdcoord.cluster", "c1"}}}}}}))
      << "a volume the create makes is labelled";
  EXPECT_EQ(host["Mounts"][1]["Type"], "bind");
  EXPECT_FALSE(host["Mounts"][1].contains("VolumeOptions"));
  EXPECT_EQ(host["Mounts"][1]["ReadOnly"], true);
  EXPECT_EQ(body["NetworkingConfig"]["EndpointsConfig"]["lan"]["IPAMConfig"]["IPv4Address"],
            "10.0.0.11");
}

TEST_F(DockerClientTest, ServerErrorIsInternal) {
  fake_.SetHandler([](const FakeRequest&) {
    return ErrorReply(500, "error creating overlay mount: no space left on device");
  });
  absl::StatusOr<ContainerInfo> info = Client()->InspectContainer("zk1");
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(info.status().message(),
            "GET /containers/zk1/json: HTTP 500: error creating overlay mount: no space left on "
            "device");
}

TEST_F(DockerClientTest, ErrorBodyThatIsNotJson) {
  fake_.SetHandler([](const FakeRequest&) { return Reply(502, "Bad gateway\n", "text/plain"); });
  absl::Status status = Client()->StartContainer("zk1");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(status.message(), "POST /containers/zk1/start: HTTP 502: Bad gateway");
  fake_.SetHandler([](const FakeRequest&) { return Reply(500, ""); });
  status = Client()->StartContainer("zk1");
  EXPECT_EQ(status.message(), "POST /containers/zk1/start: HTTP 500: (empty response body)");
}

TEST_F(DockerClientTest, StatusCodeMapping) {
  const std::vector<std::pair<int, absl::StatusCode>> cases = {
      {400, absl::StatusCode::kInvalidArgument}, {404, absl::StatusCode::kNotFound},
      {409, absl::StatusCode::kAlreadyExists},   {500, absl::StatusCode::kInternal},
      {503, absl::StatusCode::kInternal},        {403, absl::StatusCode::kFailedPrecondition}};
  for (const auto& [http, code] : cases) {
    fake_.SetHandler([http = http](const FakeRequest& request) {
      return ErrorReply(request.method == "GET" ? 404 : http, "nope");  // the volume is new
    });
    absl::Status status = Client()->CreateVolume("v", {}).status();
    EXPECT_EQ(status.code(), code) << http;
    EXPECT_EQ(status.message(), absl::StrCat("POST /volumes/create: HTTP ", http, ": nope"));
  }
  // A 409 that means "wrong state" rather than "exists".
  fake_.SetHandler(
      [](const FakeRequest&) { return ErrorReply(409, "Container 0123 is not running"); });
  absl::StatusOr<ExecResult> exec = Client()->Exec("zk1", {"true"}, "");
  EXPECT_EQ(exec.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(exec.status().message(),
            "POST /containers/zk1/exec: HTTP 409: Container 0123 is not running");
}

TEST_F(DockerClientTest, NotFound) {
  fake_.SetHandler([](const FakeRequest&) { return ErrorReply(404, "No such container: zk9"); });
  absl::StatusOr<ContainerInfo> info = Client()->InspectContainer("zk9");
  EXPECT_EQ(info.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(info.status().message(), "GET /containers/zk9/json: HTTP 404: No such container: zk9");
}

TEST_F(DockerClientTest, TruncatedJson) {
  const std::string body = R"({"Id":"abc","Name":"/zk1","State":{"Status":"runn)";
  fake_.SetHandler([&](const FakeRequest&) { return Reply(200, body); });
  absl::StatusOr<ContainerInfo> info = Client()->InspectContainer("zk1");
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(Msg(info.status()),
              StartsWith(absl::StrCat("GET /containers/zk1/json: HTTP 200: truncated JSON in the "
                                      "response (",
                                      body.size(), " bytes): [json.exception.parse_error")));
  // Cut between tokens too.
  fake_.SetHandler([](const FakeRequest&) { return Reply(200, R"({"Id":"abc",)"); });
  info = Client()->InspectContainer("zk1");
  EXPECT_THAT(Msg(info.status()), HasSubstr("HTTP 200: truncated JSON"));
}

TEST_F(DockerClientTest, InvalidJson) {
  fake_.SetHandler([](const FakeRequest&) { return Reply(200, "<html>hello</html>"); });
  absl::StatusOr<std::vector<std::string>> volumes = Client()->ListVolumes();
  EXPECT_EQ(volumes.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(Msg(volumes.status()),
              StartsWith("GET /volumes: HTTP 200: invalid JSON in the response (18 bytes): "
                         "[json.exception.parse_error.101]"));
  // Valid JSON of the wrong shape is an error too, not an exception.
  fake_.SetHandler([](const FakeRequest&) { return Reply(200, R"({"not":"an array"})"); });
  absl::StatusOr<std::vector<ContainerInfo>> list = Client()->ListContainers({});
  EXPECT_EQ(list.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(list.status().message(), "GET /containers/json: expected a JSON array in the response");
}

TEST_F(DockerClientTest, SocketMissing) {
  const std::string missing = fake_.dir() + "/gone.sock";
  absl::StatusOr<DockerVersion> version = Client(missing)->Version();
  EXPECT_EQ(version.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(version.status().message(),
            absl::StrCat("GET /version: cannot connect to the Docker daemon at unix://", missing,
                         ": the socket file does not exist"));
  // Any call negotiates first, so it reports the same.
  absl::Status status = Client(missing)->StartContainer("zk1");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Msg(status), HasSubstr(missing));
}

TEST_F(DockerClientTest, ConnectionRefused) {
  // A socket file that nobody listens on any more.
  const std::string path = fake_.dir() + "/dead.sock";
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
  absl::StatusOr<DockerVersion> version = Client(path)->Version();
  EXPECT_EQ(version.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(version.status().message(),
            absl::StrCat("GET /version: cannot connect to the Docker daemon at unix://", path,
                         ": Connection refused"));
}

TEST_F(DockerClientTest, ConnectionClosedMidResponse) {
  fake_.SetHandler([](const FakeRequest&) {
    FakeReply reply;
    reply.bytes =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
        "\r\n{\"Id\":";
    reply.close = true;
    return reply;
  });
  std::unique_ptr<DockerClient> client = Client();
  absl::StatusOr<ContainerInfo> info = client->InspectContainer("zk1");
  EXPECT_EQ(info.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(
      info.status().message(),
      absl::StrCat("GET /containers/zk1/json: the Docker daemon at unix://", fake_.socket_path(),
                   " closed the connection: transfer closed with 94 bytes remaining to "
                   "read"));
  // Closed before any byte of the reply.
  fake_.SetHandler([](const FakeRequest&) {
    FakeReply reply;
    reply.close = true;
    return reply;
  });
  info = client->InspectContainer("zk1");
  EXPECT_EQ(info.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Msg(info.status()), HasSubstr("closed the connection: Empty reply from server"));
  // The client recovers on a new connection.
  fake_.SetHandler([](const FakeRequest&) { return ErrorReply(404, "No such container: zk1"); });
  EXPECT_EQ(client->InspectContainer("zk1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DockerClientTest, RequestTimeout) {
  fake_.SetHandler([](const FakeRequest&) {
    FakeReply reply;
    reply.hold = true;
    return reply;
  });
  absl::StatusOr<ContainerInfo> info =
      Client("", std::chrono::milliseconds(300))->InspectContainer("zk1");
  EXPECT_EQ(info.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(Msg(info.status()),
              StartsWith(absl::StrCat("GET /containers/zk1/json: no answer in time from the Docker "
                                      "daemon at unix://",
                                      fake_.socket_path())));
}

TEST_F(DockerClientTest, StartAndStopTreat304AsDone) {
  fake_.SetHandler([](const FakeRequest&) { return Reply(304, ""); });
  std::unique_ptr<DockerClient> client = Client();
  EXPECT_TRUE(client->StartContainer("zk1").ok());
  EXPECT_TRUE(client->StopContainer("zk1", std::chrono::seconds(7)).ok());
  fake_.SetHandler([](const FakeRequest&) { return Reply(204, ""); });
  EXPECT_TRUE(client->RemoveContainer("zk1", true).ok());
  const std::vector<FakeRequest> requests = fake_.api_requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1.41/containers/zk1/start");
  EXPECT_EQ(requests[0].body, "");
  EXPECT_EQ(requests[1].target, "/v1.41/containers/zk1/stop?t=7");
  EXPECT_EQ(requests[2].method, "DELETE");
  EXPECT_EQ(requests[2].target, "/v1.41/containers/zk1?force=1&v=0");
}

TEST_F(DockerClientTest, KillSendsTheSignal) {
  fake_.SetHandler([](const FakeRequest&) { return Reply(204, ""); });
  std::unique_ptr<DockerClient> client = Client();
  EXPECT_TRUE(client->KillContainer("zk1", "SIGHUP").ok());
  fake_.SetHandler(
      [](const FakeRequest&) { return ErrorReply(409, "Container zk1 is not running"); });
  absl::Status not_running = client->KillContainer("zk1", "SIGUSR1");
  EXPECT_EQ(not_running.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(not_running), HasSubstr("is not running"));
  const std::vector<FakeRequest> requests = fake_.api_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1.41/containers/zk1/kill?signal=SIGHUP");
  EXPECT_EQ(requests[1].target, "/v1.41/containers/zk1/kill?signal=SIGUSR1");
}

TEST_F(DockerClientTest, ReadPathReadsTheFirstEntryOfTheArchive) {
  const std::string tar = *BuildTar({File("/passwd", "zk:x:1000:1000::/:/bin/sh\n")});
  fake_.SetHandler([&](const FakeRequest& request) {
    if (Query(request.target)["path"] == "/etc/passwd") return Reply(200, tar, "application/x-tar");
    return ErrorReply(404, "Could not find the file /nothere in container c0ffee");
  });
  absl::StatusOr<ArchiveFile> file = Client()->ReadPath("c0ffee", "/etc/passwd");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->path, "/etc/passwd");
  EXPECT_EQ(file->content, "zk:x:1000:1000::/:/bin/sh\n");
  EXPECT_EQ(fake_.api_requests()[0].target, "/v1.41/containers/c0ffee/archive?path=/etc/passwd");
  file = Client()->ReadPath("c0ffee", "/nothere");
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(file.status().message(),
            "GET /containers/c0ffee/archive: HTTP 404: Could not find the file /nothere in "
            "container c0ffee");
}

TEST_F(DockerClientTest, CreateVolumeSaysWhetherItWasNew) {
  fake_.SetHandler([](const FakeRequest& request) {
    if (request.method == "GET" && request.Path() == "/v1.41/volumes/old") {
      return JsonReply(200, {{"Name", "old"}, {"Mountpoint", "/var/lib/docker/volumes/old/_data"}});
    }
    if (request.method == "GET") return ErrorReply(404, "get new: no such volume");
    return JsonReply(201, {{"Name", "new"}, {"Mountpoint", "/var/lib/docker/volumes/new/_data"}});
  });
  const absl::StatusOr<VolumeInfo> old = Client()->CreateVolume("old", {});
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_FALSE(old->created);
  EXPECT_EQ(old->mountpoint, "/var/lib/docker/volumes/old/_data");
  const absl::StatusOr<VolumeInfo> made =
      Client()->CreateVolume("new", {{"io.bdcoord.cluster", "demo"}});
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_TRUE(made->created);
  EXPECT_EQ(made->mountpoint, "/var/lib/docker/volumes/new/_data");
  const std::vector<FakeRequest> requests = fake_.api_requests();
  ASSERT_EQ(requests.size(), 3u) << "an existing volume is not created again";
  EXPECT_EQ(requests[2].method, "POST");
  EXPECT_EQ(json::parse(requests[2].body)["Labels"]["io.bdcoord.cluster"], "demo");
}

TEST_F(DockerClientTest, RemoveVolume) {
  fake_.SetHandler([](const FakeRequest& request) {
    if (request.Path() == "/v1.41/volumes/busy") return ErrorReply(409, "volume is in use");
    return Reply(204, "");
  });
  EXPECT_TRUE(Client()->RemoveVolume("gone").ok());
  const absl::Status busy = Client()->RemoveVolume("busy");
  EXPECT_EQ(busy.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(busy.message(), "DELETE /volumes/busy: HTTP 409: volume is in use");
}

TEST_F(DockerClientTest, InspectContainer) {
  fake_.SetHandler([](const FakeRequest&) {
    return JsonReply(
        200,
        {{"Id", "c0ffee"},
         {"Name", "/zk1"},
         {"HostsPath", "/var/lib/docker/containers/c0ffee/hosts"},
         {"Config", {{"Image", "bdcoord/zk:1"}, {"Labels", {{"bdcoord.cluster", "c1"}}}}},
         {"State",
          {{"Status", "exited"},
           {"Running", false},
           {"ExitCode", 3},
           {"StartedAt", "2024-05-01T10:00:00.1Z"},
           {"FinishedAt", "0001-01-01T00:00:00Z"}}},
         {"HostConfig", {{"NetworkMode", "lan"}}},
         {"NetworkSettings",
          {{"Networks",
            {{"other", {{"IPAddress", "172.17.0.2"}}},
             {"lan", {{"IPAddress", ""}, {"IPAMConfig", {{"IPv4Address", "10.0.0.11"}}}}}}}}}});
  });
  absl::StatusOr<ContainerInfo> info = Client()->InspectContainer("zk1");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->id, "c0ffee");
  EXPECT_EQ(info->name, "zk1");
  EXPECT_EQ(info->image, "bdcoord/zk:1");
  EXPECT_EQ(info->labels.at("bdcoord.cluster"), "c1");
  EXPECT_EQ(info->state, "exited");
  EXPECT_FALSE(info->running);
  EXPECT_EQ(info->exit_code, 3);
  EXPECT_EQ(info->hosts_path, "/var/lib/docker/containers/c0ffee/hosts");
  EXPECT_EQ(info->ipv4, "10.0.0.11");
  EXPECT_EQ(info->started_at, "2024-05-01T10:00:00.1Z");
  EXPECT_EQ(info->finished_at, "");  // never
}

TEST_F(DockerClientTest, ListContainersByLabel) {
  fake_.SetHandler([](const FakeRequest&) {
    return JsonReply(
        200,
        json::array(
            {{{"Id", "a1"},
              {"Names", {"/zk1"}},
              {"Image", "zk"},
              {"Labels", {{"k", "v"}}},
              {"State", "exited"},
              {"Status", "Exited (137) 5 minutes ago"}},
             {{"Id", "b2"}, {"Names", {"/zk2"}}, {"State", "running"}, {"Status", "Up 3 hours"}}}));
  });
  absl::StatusOr<std::vector<ContainerInfo>> list =
      Client()->ListContainers({{"bdcoord.cluster", "c1"}, {"k", "v"}});
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "zk1");
  EXPECT_EQ((*list)[0].exit_code, 137);
  EXPECT_FALSE((*list)[0].running);
  EXPECT_EQ((*list)[1].name, "zk2");
  EXPECT_TRUE((*list)[1].running);
  const std::vector<FakeRequest> requests = fake_.api_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].Path(), "/v1.41/containers/json");
  const std::map<std::string, std::string> query = Query(requests[0].target);
  EXPECT_EQ(query.at("all"), "1");
  EXPECT_EQ(json::parse(query.at("filters")), json({{"label", {"bdcoord.cluster=c1", "k=v"}}}));
}

json NetworkJson(const std::string& name, const std::string& driver, const std::string& subnet,
                 const std::string& ip_range, std::map<std::string, std::string> options,
                 std::map<std::string, std::string> labels = {}) {
  json config = {{"Subnet", subnet}, {"Gateway", "10.0.0.1"}};
  if (!ip_range.empty()) config["IPRange"] = ip_range;
  return {{"Name", name},     {"Id", "f00d" + name},
          {"Driver", driver}, {"Options", options},
          {"Labels", labels}, {"IPAM", {{"Driver", "default"}, {"Config", json::array({config})}}}};
}

NetworkConfig Lan(const std::string& driver = "macvlan") {
  NetworkConfig config;
  config.name = "lan";
  config.driver = driver;
  config.parent = "eth0";
  config.subnet = "10.0.0.0/24";
  config.gateway = "10.0.0.1";
  config.ip_range = "10.0.0.128/26";
  config.labels = {{"bdcoord.cluster", "c1"}};
  return config;
}

TEST_F(DockerClientTest, EnsureNetworkCreates) {
  fake_.SetHandler([](const FakeRequest& request) {
    if (request.method == "GET") return ErrorReply(404, "network lan not found");
    return JsonReply(201, {{"Id", "f00d"}, {"Warning", ""}});
  });
  absl::Status status = Client()->EnsureNetwork(Lan("ipvlan"));
  ASSERT_TRUE(status.ok()) << status;
  const std::vector<FakeRequest> requests = fake_.api_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target, "/v1.41/networks/lan");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].target, "/v1.41/networks/create");
  const json body = json::parse(requests[1].body);
  EXPECT_EQ(body["Name"], "lan");
  EXPECT_EQ(body["Driver"], "ipvlan");
  EXPECT_EQ(body["CheckDuplicate"], true);
  EXPECT_EQ(body["Options"], json({{"parent", "eth0"}, {"ipvlan_mode", "l2"}}));
  EXPECT_EQ(
      body["IPAM"]["Config"],
      json::array(
          {{{"Subnet", "10.0.0.0/24"}, {"Gateway", "10.0.0.1"}, {"IPRange", "10.0.0.128/26"}}}));
  EXPECT_EQ(body["Labels"], json({{"bdcoord.cluster", "c1"}}));
}

TEST_F(DockerClientTest, EnsureNetworkAcceptsTheSameSettings) {
  fake_.SetHandler([](const FakeRequest& request) {
    if (request.method != "GET") return ErrorReply(500, "unexpected");
    return JsonReply(
        200, NetworkJson("lan", "macvlan", "10.0.0.0/24", "10.0.0.128/26", {{"parent", "eth0"}},
                         {{"bdcoord.cluster", "c1"}, {"extra", "x"}}));
  });
  absl::Status status = Client()->EnsureNetwork(Lan());
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(fake_.api_requests().size(), 1u);
}

TEST_F(DockerClientTest, EnsureNetworkNamesEveryDifference) {
  fake_.SetHandler([](const FakeRequest& request) {
    if (request.method != "GET") return ErrorReply(500, "unexpected");
    return JsonReply(200, NetworkJson("lan", "ipvlan", "10.1.0.0/24", "",
                                      {{"parent", "eth1"}, {"ipvlan_mode", "l3"}}));
  });
  absl::Status status = Client()->EnsureNetwork(Lan());
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            "network \"lan\" exists with driver ipvlan, want macvlan; parent eth1, want eth0; "
            "subnet 10.1.0.0/24, want 10.0.0.0/24; ip_range none, want 10.0.0.128/26; label none, "
            "want bdcoord.cluster=c1");
  EXPECT_EQ(fake_.api_requests().size(), 1u);  // neither reused nor deleted

  status = Client()->EnsureNetwork(Lan("ipvlan"));
  EXPECT_THAT(Msg(status), HasSubstr("ipvlan_mode l3, want l2"));
}

TEST_F(DockerClientTest, EnsureNetworkIgnoresAnIdPrefixMatch) {
  fake_.SetHandler([](const FakeRequest& request) {
    if (request.method == "GET") {
      return JsonReply(200, NetworkJson("other", "bridge", "172.18.0.0/16", "", {}));
    }
    return JsonReply(201, {{"Id", "f00d"}});
  });
  NetworkConfig config = Lan();
  config.name = "abc";  // could be an ID prefix
  EXPECT_TRUE(Client()->EnsureNetwork(config).ok());
  ASSERT_EQ(fake_.api_requests().size(), 2u);
  EXPECT_EQ(fake_.api_requests()[1].target, "/v1.41/networks/create");
}

TEST_F(DockerClientTest, LogsDemultiplexed) {
  fake_.SetHandler([](const FakeRequest& request) {
    if (request.Path() == "/v1.41/containers/zk1/json") {
      return JsonReply(200, {{"Id", "c0ffee"}, {"Config", {{"Tty", false}}}});
    }
    if (request.Path() == "/v1.41/images/x/json") return JsonReply(200, {{"Id", "sha256:x"}});
    const std::string stream = SampleStream();
    // Chunk boundaries inside headers and payloads.
    return ChunkedReply(200, {stream.substr(0, 3), stream.substr(3, 17), stream.substr(20)},
                        "application/vnd.docker.multiplexed-stream");
  });
  std::unique_ptr<DockerClient> client = Client();
  std::vector<std::string> lines;
  LogOptions options;
  options.tail = 10;
  options.since_unix = 1700000000;
  absl::Status status = client->Logs("zk1", options, [&](const LogLine& line) {
    lines.push_back(Show(line));
    return true;
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(lines, kSampleLines);
  const std::vector<FakeRequest> requests = fake_.api_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].target,
            "/v1.41/containers/zk1/logs?stdout=1&stderr=1&follow=0&tail=10&since=1700000000");

  // Stopping early is not an error, and the next call works.
  lines.clear();
  status = client->Logs("zk1", LogOptions{}, [&](const LogLine& line) {
    lines.push_back(Show(line));
    return false;
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(lines, ElementsAre("out:hello"));
  EXPECT_THAT(fake_.api_requests().back().target, HasSubstr("follow=0&tail=all"));
  EXPECT_TRUE(client->InspectImage("x").ok());
}

TEST_F(DockerClientTest, LogsOfATtyAndErrors) {
  fake_.SetHandler([](const FakeRequest& request) {
    if (request.Path() == "/v1.41/containers/tty/json") {
      return JsonReply(200, {{"Id", "c0ffee"}, {"Config", {{"Tty", true}}}});
    }
    if (request.Path() == "/v1.41/containers/tty/logs") {
      return ChunkedReply(200, {"one\r\ntw", "o\r\n"}, "application/vnd.docker.raw-stream");
    }
    return ErrorReply(404, "No such container: gone");
  });
  std::unique_ptr<DockerClient> client = Client();
  std::vector<std::string> lines;
  auto collect = [&](const LogLine& line) {
    lines.push_back(Show(line));
    return true;
  };
  ASSERT_TRUE(client->Logs("tty", LogOptions{}, collect).ok());
  EXPECT_THAT(lines, ElementsAre("out:one", "out:two"));
  absl::Status status = client->Logs("gone", LogOptions{}, collect);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "GET /containers/gone/json: HTTP 404: No such container: gone");
}

TEST_F(DockerClientTest, LogsStreamErrorAfterInspect) {
  fake_.SetHandler([](const FakeRequest& request) {
    if (request.Path() == "/v1.41/containers/zk1/json") {
      return JsonReply(200, {{"Id", "c0ffee"}, {"Config", {{"Tty", false}}}});
    }
    return ErrorReply(500, "configured logging driver does not support reading");
  });
  absl::Status status = Client()->Logs("zk1", LogOptions{}, [](const LogLine&) { return true; });
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(status.message(),
            "GET /containers/zk1/logs: HTTP 500: configured logging driver does not support "
            "reading");
}

std::string EventJson(const std::string& action, const std::string& id) {
  return json(
             {{"Type", "container"},
              {"Action", action},
              {"status", action},
              {"id", id},
              {"Actor", {{"ID", id}, {"Attributes", {{"name", "zk1"}, {"bdcoord.cluster", "c1"}}}}},
              {"time", 1700000000}})
      .dump();
}

TEST_F(DockerClientTest, EventsSplitAcrossChunks) {
  const std::string start = EventJson("start", "c0ffee");
  const std::string die = EventJson("die", "c0ffee");
  fake_.SetHandler([&](const FakeRequest&) {
    return ChunkedReply(200, {start.substr(0, 10), start.substr(10) + "\n" + die.substr(0, 30),
                              die.substr(30) + "\n"});
  });
  std::unique_ptr<DockerClient> client = Client();
  std::vector<DockerEvent> events;
  absl::Status status = client->Events({{"bdcoord.cluster", "c1"}}, [&](const DockerEvent& e) {
    events.push_back(e);
    return true;
  });
  ASSERT_TRUE(status.ok()) << status;  // the stream ended: the caller reconnects
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "container");
  EXPECT_EQ(events[0].action, "start");
  EXPECT_EQ(events[0].id, "c0ffee");
  EXPECT_EQ(events[0].attributes.at("name"), "zk1");
  EXPECT_EQ(events[1].action, "die");
  const std::vector<FakeRequest> requests = fake_.api_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].Path(), "/v1.41/events");
  EXPECT_EQ(json::parse(Query(requests[0].target).at("filters")),
            json({{"type", {"container"}}, {"label", {"bdcoord.cluster=c1"}}}));

  // Returns as soon as on_event says so.
  events.clear();
  status = client->Events({}, [&](const DockerEvent& e) {
    events.push_back(e);
    return false;
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(events.size(), 1u);
}

TEST_F(DockerClientTest, EventsWithBadJsonOrACutStream) {
  fake_.SetHandler([](const FakeRequest&) { return ChunkedReply(200, {"{\"Type\":}\n"}); });
  std::unique_ptr<DockerClient> client = Client();
  absl::Status status = client->Events({}, [](const DockerEvent&) { return true; });
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(Msg(status), StartsWith("GET /events: invalid JSON event in the stream: "));

  const std::string start = EventJson("start", "c0ffee");
  fake_.SetHandler([&](const FakeRequest&) {
    FakeReply reply = ChunkedReply(200, {start + "\n" + start.substr(0, 20)});
    reply.bytes.resize(reply.bytes.size() - 5);  // no final chunk
    reply.close = true;
    return reply;
  });
  int count = 0;
  status = client->Events({}, [&](const DockerEvent&) {
    ++count;
    return true;
  });
  EXPECT_EQ(count, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Msg(status), StartsWith("GET /events: the Docker daemon at unix://"));
}

TEST_F(DockerClientTest, Exec) {
  fake_.SetHandler([](const FakeRequest& request) {
    if (request.Path() == "/v1.41/containers/zk1/exec") return JsonReply(201, {{"Id", "e1"}});
    if (request.Path() == "/v1.41/exec/e1/start") {
      // Like dockerd: a hijacked connection, no length, closed at the end.
      FakeReply reply;
      reply.bytes =
          absl::StrCat("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n",
                       Frame(1, "out "), Frame(2, "err "), Frame(1, "more\n"));
      reply.close = true;
      return reply;
    }
    if (request.Path() == "/v1.41/exec/e1/json") {
      return JsonReply(200, {{"Running", false}, {"ExitCode", 3}});
    }
    return ErrorReply(404, "unexpected");
  });
  std::unique_ptr<DockerClient> client = Client();
  absl::StatusOr<ExecResult> result = client->Exec("zk1", {"sh", "-c", "exit 3"}, "");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(result->output, "out err more\n");
  const std::vector<FakeRequest> requests = fake_.api_requests();
  ASSERT_EQ(requests.size(), 3u);
  const json create = json::parse(requests[0].body);
  EXPECT_EQ(create["Cmd"], json({"sh", "-c", "exit 3"}));
  EXPECT_EQ(create["AttachStdout"], true);
  EXPECT_EQ(create["Tty"], false);
  EXPECT_EQ(json::parse(requests[1].body), json({{"Detach", false}, {"Tty", false}}));
}

TEST_F(DockerClientTest, ListNetworksAndRemove) {
  fake_.SetHandler([](const FakeRequest& request) {
    if (request.method == "DELETE") {
      return ErrorReply(403,
                        "error while removing network: network lan id f00d has active "
                        "endpoints");
    }
    return JsonReply(200,
                     json::array({NetworkJson("lan", "macvlan", "10.0.0.0/24", "10.0.0.128/26",
                                              {{"parent", "eth0"}}, {{"bdcoord.cluster", "c1"}})}));
  });
  std::unique_ptr<DockerClient> client = Client();
  absl::StatusOr<std::vector<NetworkInfo>> networks =
      client->ListNetworks({{"bdcoord.cluster", "c1"}});
  ASSERT_TRUE(networks.ok()) << networks.status();
  ASSERT_EQ(networks->size(), 1u);
  EXPECT_EQ((*networks)[0].id, "f00dlan");
  EXPECT_EQ((*networks)[0].config.name, "lan");
  EXPECT_EQ((*networks)[0].config.parent, "eth0");
  EXPECT_EQ((*networks)[0].config.subnet, "10.0.0.0/24");
  EXPECT_EQ((*networks)[0].config.gateway, "10.0.0.1");
  EXPECT_EQ((*networks)[0].config.ip_range, "10.0.0.128/26");
  EXPECT_EQ((*networks)[0].config.labels.at("bdcoord.cluster"), "c1");
  absl::Status status = client->RemoveNetwork("lan");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            "DELETE /networks/lan: HTTP 403: error while removing network: network lan id f00d "
            "has active endpoints");
}

}  // namespace
}  // namespace bdcoord::agent
