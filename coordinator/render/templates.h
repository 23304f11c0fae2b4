#ifndef BDCOORD_COORDINATOR_RENDER_TEMPLATES_H_
#define BDCOORD_COORDINATOR_RENDER_TEMPLATES_H_

#include <cstddef>
#include <cstdint>
#include <kainjow/mustache.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bdcoord::coordinator {

using TemplateData = kainjow::mustache::data;

// One template renders at most this many bytes (a file, an env value, a command argument) and
// takes at most this many steps (name lookups and section entries): a {{#peers.x}} section nested
// in another multiplies, and a few nested ones would render gigabytes, or loop for minutes with
// no output (README, "Limits").
inline constexpr size_t kMaxRenderedBytes = 1 << 20;
inline constexpr uint64_t kMaxTemplateSteps = 1'000'000;

// Where and what went wrong inside one template; line and column are 0-based within its text.
struct TemplateError {
  int line = 0;
  int column = 0;
  std::string message;
  std::string hint;
};

struct RenderedTemplate {
  std::string text;
  std::optional<TemplateError> error;
};

// Renders a mustache template without HTML escaping (these are config files, not web pages).
// A syntax error or a variable that the data does not define is an error, never an empty string;
// `known_names` (e.g. "ip", "peers.zk") feed the did-you-mean hint. `unset` names variables
// that exist but that this render does not define (e.g. "resources.heap_mib" of a service
// without resources), each with the hint saying what defines it.
// A template past kMaxRenderedBytes or kMaxTemplateSteps is an error at its outermost section.
// `layers` are looked up innermost first (instance variables, then cluster-wide ones), so large
// shared data such as peer lists is built once, not copied per instance.
RenderedTemplate RenderTemplate(const std::string& text,
                                const std::vector<const TemplateData*>& layers,
                                const std::vector<std::string>& known_names = {},
                                const std::map<std::string, std::string>& unset = {});

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_RENDER_TEMPLATES_H_
