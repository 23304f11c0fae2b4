// dockerd's JSON bodies (inspect, list, network, event, info, error) and the /events stream
// splitter on arbitrary bytes: no crash, no exception escaping, no undefined behaviour (a huge
// number where an int is expected), and the splitter keeps at most its limit buffered.
#include "agent/docker/docker_json.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "agent/docker/stream_frames.h"

namespace agent = bdcoord::agent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  (void)agent::ParseContainerInspectJson(body);
  (void)agent::ParseContainerListJson(body);
  (void)agent::ParseNetworkJson(body);
  (void)agent::ParseEventJson(body);
  (void)agent::ParseInfoJson(body);
  (void)agent::DockerErrorMessage(body);

  // As an event stream, in chunks of 7 bytes, with a small limit so it is reached.
  constexpr size_t kLimit = 256;
  agent::JsonObjectSplitter splitter(kLimit);
  absl::string_view rest = body;
  while (!rest.empty()) {
    const absl::string_view chunk = rest.substr(0, 7);
    rest.remove_prefix(chunk.size());
    const bool more = splitter.Feed(chunk, [](absl::string_view object) {
      if (object.empty() || object.front() != '{') std::abort();
      (void)agent::ParseEventJson(object);
      return true;
    });
    if (!more) break;
  }
  return 0;
}
