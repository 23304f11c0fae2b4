#include "agent/docker/stream_frames.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace bdcoord::agent {

bool FrameParser::Feed(absl::string_view data, const Sink& sink) {
  if (stopped_) return false;
  while (!data.empty()) {
    if (remaining_ == 0) {
      // Collecting a header.
      const size_t take = std::min(header_.size() - header_size_, data.size());
      std::copy_n(data.data(), take, header_.data() + header_size_);
      header_size_ += take;
      data.remove_prefix(take);
      if (header_size_ < header_.size()) break;
      const uint64_t header_offset = offset_;
      offset_ += header_.size();
      header_size_ = 0;
      if (header_[0] > 3 || header_[1] != 0 || header_[2] != 0 || header_[3] != 0) {
        stopped_ = true;
        status_ = absl::InternalError(absl::StrFormat(
            "malformed stream frame header at byte %d: %02x %02x %02x %02x (expected a stream "
            "type 0-3 and three zero bytes; is the container's TTY setting known?)",
            header_offset, header_[0], header_[1], header_[2], header_[3]));
        return false;
      }
      type_ = static_cast<StreamType>(header_[0]);
      remaining_ = (uint32_t{header_[4]} << 24) | (uint32_t{header_[5]} << 16) |
                   (uint32_t{header_[6]} << 8) | uint32_t{header_[7]};
      continue;  // an empty frame just ends here
    }
    const size_t take = std::min<size_t>(remaining_, data.size());
    remaining_ -= static_cast<uint32_t>(take);
    offset_ += take;
    const absl::string_view piece = data.substr(0, take);
    data.remove_prefix(take);
    if (!sink(type_, piece)) {
      stopped_ = true;
      return false;
    }
  }
  return true;
}

absl::Status FrameParser::Finish() const {
  if (!status_.ok()) return status_;
  if (stopped_ || AtFrameBoundary()) return absl::OkStatus();
  if (remaining_ > 0) {
    return absl::InternalError(
        absl::StrFormat("stream ended inside a frame: %d payload bytes missing after byte %d",
                        remaining_, offset_));
  }
  return absl::InternalError(absl::StrFormat(
      "stream ended inside a frame header: %d of 8 bytes after byte %d", header_size_, offset_));
}

LogLineDemuxer::LogLineDemuxer(bool multiplexed, size_t max_line_bytes)
    : multiplexed_(multiplexed), max_line_bytes_(std::max<size_t>(max_line_bytes, 1)) {}

bool LogLineDemuxer::Emit(LogLine::Stream stream, std::string text, const LineSink& sink) {
  if (!multiplexed_ && !text.empty() && text.back() == '\r') text.pop_back();
  LogLine line;
  line.stream = stream;
  line.text = std::move(text);
  if (!sink(line)) {
    stopped_ = true;
    return false;
  }
  return true;
}

bool LogLineDemuxer::Append(LogLine::Stream stream, absl::string_view data, const LineSink& sink) {
  std::string& partial = partial_[static_cast<int>(stream)];
  while (!data.empty()) {
    const size_t newline = data.find('\n');
    const absl::string_view piece =
        newline == absl::string_view::npos ? data : data.substr(0, newline);
    const size_t room = max_line_bytes_ - partial.size();
    if (piece.size() > room) {
      // Cut an over-long line; what is left of it starts a new line (the same cut whatever the
      // chunking: a line of exactly max_line_bytes is not cut).
      partial.append(piece.data(), room);
      data.remove_prefix(room);
      if (!Emit(stream, std::exchange(partial, std::string()), sink)) return false;
      continue;
    }
    partial.append(piece.data(), piece.size());
    if (newline == absl::string_view::npos) break;
    data.remove_prefix(newline + 1);
    if (!Emit(stream, std::exchange(partial, std::string()), sink)) return false;
  }
  return true;
}

bool LogLineDemuxer::Feed(absl::string_view data, const LineSink& sink) {
  if (stopped_) return false;
  if (!multiplexed_) return Append(LogLine::Stream::kStdout, data, sink);
  const bool ok = parser_.Feed(data, [&](StreamType type, absl::string_view payload) {
    const LogLine::Stream stream = type == StreamType::kStderr || type == StreamType::kSystemErr
                                       ? LogLine::Stream::kStderr
                                       : LogLine::Stream::kStdout;
    return Append(stream, payload, sink);
  });
  if (!ok) stopped_ = true;
  return ok;
}

absl::Status LogLineDemuxer::Finish(const LineSink& sink) {
  if (!stopped_) {
    for (LogLine::Stream stream : {LogLine::Stream::kStdout, LogLine::Stream::kStderr}) {
      std::string& partial = partial_[static_cast<int>(stream)];
      if (partial.empty()) continue;
      if (!Emit(stream, std::exchange(partial, std::string()), sink)) break;
    }
  }
  return multiplexed_ ? parser_.Finish() : absl::OkStatus();
}

bool JsonObjectSplitter::Feed(absl::string_view data, const Sink& sink) {
  if (stopped_) return false;
  size_t start = 0;  // where the current object starts in `data`, if it started in this chunk
  for (size_t i = 0; i < data.size(); ++i, ++offset_) {
    const char c = data[i];
    if (depth_ == 0) {
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
      if (c != '{') {
        stopped_ = true;
        status_ = absl::InternalError(
            absl::StrFormat("unexpected byte 0x%02x at byte %d between JSON objects",
                            static_cast<uint8_t>(c), offset_));
        return false;
      }
      start = i;
      depth_ = 1;
      continue;
    }
    if (in_string_) {
      if (escaped_) {
        escaped_ = false;
      } else if (c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
      continue;
    }
    if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      ++depth_;
    } else if (c == '}' || c == ']') {
      if (--depth_ == 0) {
        const absl::string_view tail = data.substr(start, i + 1 - start);
        bool keep_going;
        if (buffer_.empty()) {
          keep_going = sink(tail);
        } else {
          buffer_.append(tail.data(), tail.size());
          keep_going = sink(buffer_);
          buffer_.clear();
        }
        if (!keep_going) {
          stopped_ = true;
          return false;
        }
      }
    }
  }
  if (depth_ > 0) {
    buffer_.append(data.data() + start, data.size() - start);
    if (buffer_.size() > max_object_bytes_) {
      stopped_ = true;
      status_ = absl::InternalError(absl::StrFormat(
          "JSON object larger than %d bytes in stream at byte %d", max_object_bytes_, offset_));
      return false;
    }
  }
  return true;
}

}  // namespace bdcoord::agent
