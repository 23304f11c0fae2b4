#ifndef BDCOORD_AGENT_DOCKER_STREAM_FRAMES_H_
#define BDCOORD_AGENT_DOCKER_STREAM_FRAMES_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/docker/docker_client.h"

namespace bdcoord::agent {

// Pure, incremental parsers of the byte streams dockerd sends (logs, exec output, events).
// They accept the bytes in any chunking and keep no more than one incomplete unit buffered.

// The stream byte of a multiplexed frame header.
enum class StreamType : uint8_t { kStdin = 0, kStdout = 1, kStderr = 2, kSystemErr = 3 };

// Docker's multiplexed stream (a container or exec without a TTY): frames of an 8-byte header
// [stream type, 0, 0, 0, payload size as big-endian uint32] followed by the payload.
class FrameParser {
 public:
  // Receives the payload as it arrives: one frame's payload may come in several pieces, never
  // empty ones. Returns false to stop.
  using Sink = std::function<bool(StreamType, absl::string_view)>;

  // Returns false once the sink has returned false or the stream is malformed (status() says
  // why); after that, Feed does nothing and keeps returning false.
  bool Feed(absl::string_view data, const Sink& sink);
  // OK, or why parsing stopped: a malformed header (Internal, with its byte offset).
  const absl::Status& status() const { return status_; }
  bool stopped() const { return stopped_; }
  // True between frames (nothing of a header or a payload pending).
  bool AtFrameBoundary() const { return header_size_ == 0 && remaining_ == 0; }
  // At the end of the stream: OK when it ended between frames, else Internal.
  absl::Status Finish() const;

 private:
  std::array<unsigned char, 8> header_{};
  size_t header_size_ = 0;
  uint32_t remaining_ = 0;  // payload bytes of the current frame still to come
  StreamType type_ = StreamType::kStdout;
  uint64_t offset_ = 0;  // bytes consumed so far, for error messages
  bool stopped_ = false;
  absl::Status status_;
};

// Turns a log or exec stream into lines per stream. Multiplexed streams are demultiplexed
// (stdin frames count as stdout and system-error frames as stderr, as in Docker's stdcopy); a
// raw stream (container with a TTY) is all stdout, and a trailing '\r' is dropped from its lines.
// A line is complete at '\n' in its own stream, whatever the frame boundaries; lines longer than
// max_line_bytes are cut into pieces of that size.
class LogLineDemuxer {
 public:
  using LineSink = std::function<bool(const LogLine&)>;
  static constexpr size_t kDefaultMaxLineBytes = 1 << 20;

  explicit LogLineDemuxer(bool multiplexed, size_t max_line_bytes = kDefaultMaxLineBytes);

  // Returns false once the sink has returned false or the stream is malformed.
  bool Feed(absl::string_view data, const LineSink& sink);
  // At the end of the stream: flushes the partial last line of stdout, then of stderr, unless
  // stopped. Returns the parse error if any, or Internal if the stream ended inside a frame.
  absl::Status Finish(const LineSink& sink);
  const absl::Status& status() const { return parser_.status(); }
  bool stopped() const { return stopped_; }

 private:
  bool Append(LogLine::Stream stream, absl::string_view data, const LineSink& sink);
  bool Emit(LogLine::Stream stream, std::string text, const LineSink& sink);

  bool multiplexed_;
  size_t max_line_bytes_;
  FrameParser parser_;
  std::string partial_[2];  // indexed by LogLine::Stream
  bool stopped_ = false;
};

// Splits a stream of concatenated JSON objects (GET /events: one per line, but an object may be
// split across chunks, and nothing requires the newline) into complete objects, by tracking
// brace depth outside strings. Whitespace between objects is skipped; anything else there is
// an error. Objects larger than max_object_bytes are an error.
class JsonObjectSplitter {
 public:
  using Sink = std::function<bool(absl::string_view object)>;
  static constexpr size_t kDefaultMaxObjectBytes = 16 << 20;

  explicit JsonObjectSplitter(size_t max_object_bytes = kDefaultMaxObjectBytes)
      : max_object_bytes_(max_object_bytes) {}

  // Returns false once the sink has returned false or the stream is malformed.
  bool Feed(absl::string_view data, const Sink& sink);
  const absl::Status& status() const { return status_; }
  bool stopped() const { return stopped_; }
  // True when part of an object is buffered (the stream ended inside it).
  bool HasPartial() const { return !buffer_.empty(); }

 private:
  size_t max_object_bytes_;
  std::string buffer_;  // the incomplete object so far
  int depth_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
  uint64_t offset_ = 0;
  bool stopped_ = false;
  absl::Status status_;
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_DOCKER_STREAM_FRAMES_H_
