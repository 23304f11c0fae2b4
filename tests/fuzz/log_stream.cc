// Docker's multiplexed (and raw) log stream parser on arbitrary bytes in arbitrary chunks: no
// crash, lines never longer than the limit, and a stream cut short or malformed is an error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "agent/docker/docker_client.h"
#include "agent/docker/stream_frames.h"

namespace agent = bdcoord::agent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // First byte: raw or multiplexed, and the chunk size; second: the line limit.
  const bool multiplexed = (data[0] & 1) != 0;
  const size_t chunk = 1 + (data[0] >> 1);
  const size_t max_line = 1 + data[1];
  absl::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);

  agent::LogLineDemuxer demuxer(multiplexed, max_line);
  auto sink = [&](const agent::LogLine& line) {
    if (line.text.size() > max_line) std::abort();
    return true;
  };
  while (!stream.empty()) {
    const absl::string_view piece = stream.substr(0, chunk);
    stream.remove_prefix(piece.size());
    if (!demuxer.Feed(piece, sink)) break;
  }
  (void)demuxer.Finish(sink);

  // The frame parser alone, all at once: payload bytes delivered never exceed the input.
  agent::FrameParser parser;
  size_t delivered = 0;
  parser.Feed(absl::string_view(reinterpret_cast<const char*>(data), size),
              [&](agent::StreamType, absl::string_view payload) {
                if (payload.empty()) std::abort();
                delivered += payload.size();
                return true;
              });
  if (delivered > size) std::abort();
  if (parser.AtFrameBoundary() != parser.Finish().ok() && parser.status().ok()) std::abort();
  return 0;
}
