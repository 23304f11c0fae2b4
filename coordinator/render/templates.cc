#include "coordinator/render/templates.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "coordinator/spec/diagnostics.h"

namespace bdcoord::coordinator {
namespace {

using kainjow::mustache::basic_context;
using kainjow::mustache::basic_data;

// Thrown out of the library's renderer when a template goes past a cap (the renderer has no
// other way to stop); caught in RenderTemplate.
struct TooLarge {
  std::string message;
};

// Resolves names like the library's own context, remembers the first that does not resolve, and
// counts the steps: every lookup and every section entered.
class CheckingContext : public basic_context<std::string> {
 public:
  explicit CheckingContext(const std::vector<const TemplateData*>& layers) {
    for (auto it = layers.rbegin(); it != layers.rend(); ++it) inner_.push(*it);
  }

  void push(const basic_data<std::string>* data) override {
    Step();
    ++depth_;
    inner_.push(data);
  }
  void pop() override {
    --depth_;
    inner_.pop();
  }
  const basic_data<std::string>* get(const std::string& name) const override {
    Step();
    if (depth_ == 0) outermost_ = name;
    const basic_data<std::string>* value = inner_.get(name);
    if (value == nullptr && !missing_) missing_ = name;
    return value;
  }
  const basic_data<std::string>* get_partial(const std::string& name) const override {
    return inner_.get_partial(name);
  }

  const std::optional<std::string>& missing() const { return missing_; }
  // The last name looked up outside any section: where a runaway render started.
  const std::string& outermost() const { return outermost_; }

 private:
  void Step() const {
    if (++steps_ > kMaxTemplateSteps) {
      throw TooLarge{absl::StrCat("takes more than ", kMaxTemplateSteps, " steps to render")};
    }
  }

  kainjow::mustache::context<std::string> inner_;
  mutable std::optional<std::string> missing_;
  mutable uint64_t steps_ = 0;
  mutable std::string outermost_;
  int depth_ = 0;
};

// What the renderer writes, up to kMaxRenderedBytes.
struct CappedOutput {
  std::string text;

  CappedOutput& operator<<(const std::string& piece) {
    if (text.size() + piece.size() > kMaxRenderedBytes) {
      throw TooLarge{absl::StrCat("renders more than ", kMaxRenderedBytes / (1 << 20),
                                  " MiB (at most ", kMaxRenderedBytes, " bytes)")};
    }
    text += piece;
    return *this;
  }
};

void LineAndColumn(const std::string& text, size_t offset, int* line, int* column) {
  *line = 0;
  size_t line_start = 0;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++*line;
      line_start = i + 1;
    }
  }
  *column = static_cast<int>(offset - line_start);
}

// Offset of the first `{{...name...}}` tag naming `name`, or 0.
size_t FindTag(const std::string& text, absl::string_view name) {
  for (size_t start = text.find("{{"); start != std::string::npos;
       start = text.find("{{", start + 2)) {
    const size_t end = text.find("}}", start + 2);
    if (end == std::string::npos) break;
    absl::string_view tag(text.data() + start + 2, end - start - 2);
    tag = absl::StripAsciiWhitespace(tag);
    if (!tag.empty() && absl::string_view("#^/&{").find(tag.front()) != absl::string_view::npos) {
      tag.remove_prefix(1);
    }
    tag = absl::StripAsciiWhitespace(absl::StripSuffix(tag, "}"));
    if (tag == name) return start;
  }
  return 0;
}

}  // namespace

RenderedTemplate RenderTemplate(const std::string& text,
                                const std::vector<const TemplateData*>& layers,
                                const std::vector<std::string>& known_names,
                                const std::map<std::string, std::string>& unset) {
  RenderedTemplate result;
  kainjow::mustache::mustache tmpl(text);
  if (!tmpl.is_valid()) {
    // The library reports "Unclosed tag at 12": turn the offset into a line and column.
    std::string message = tmpl.error_message();
    size_t offset = 0;
    if (const size_t at = message.rfind(" at ");
        at != std::string::npos &&
        absl::SimpleAtoi(absl::string_view(message).substr(at + 4), &offset)) {
      message.resize(at);
    }
    TemplateError error;
    LineAndColumn(text, offset, &error.line, &error.column);
    message[0] = absl::ascii_tolower(message[0]);
    error.message = message;
    error.hint = "every {{#section}} needs its {{/section}} and every {{ its }}";
    result.error = std::move(error);
    return result;
  }
  tmpl.set_custom_escape([](const std::string& s) { return s; });
  CheckingContext context(layers);
  CappedOutput output;
  try {
    tmpl.render(context, output);
  } catch (const TooLarge& too_large) {
    TemplateError error;
    LineAndColumn(text, FindTag(text, context.outermost()), &error.line, &error.column);
    error.message = too_large.message;
    error.hint =
        "a {{#peers.SERVICE}} section inside another multiplies its size: list each peer once";
    result.error = std::move(error);
    return result;
  }
  result.text = std::move(output.text);
  if (context.missing()) {
    const std::string& name = *context.missing();
    TemplateError error;
    LineAndColumn(text, FindTag(text, name), &error.line, &error.column);
    if (auto it = unset.find(name); it != unset.end()) {
      error.message = absl::StrCat("variable '", name, "' is not set");
      error.hint = it->second;
    } else {
      error.message = absl::StrCat("unknown variable '", name, "'");
      const std::string closest = ClosestMatch(name, known_names);
      error.hint = closest.empty()
                       ? "variables: index, name, fqdn, ip, host, service, cluster, domain, "
                         "resources.{memory_mib, memory_bytes, heap_mib, millicpus, cpus}, and "
                         "peers.SERVICE lists of {index, name, fqdn, ip, host, last}"
                       : absl::StrCat("did you mean '", closest, "'?");
    }
    result.error = std::move(error);
    result.text.clear();
  }
  return result;
}

}  // namespace bdcoord::coordinator
