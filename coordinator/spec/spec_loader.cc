#include "coordinator/spec/spec_loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "policy/file_on_change.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::ClusterSpec;
using bdcoord::v1::Constraint;
using bdcoord::v1::Dependency;
using bdcoord::v1::Host;
using bdcoord::v1::MaxPer;
using bdcoord::v1::Network;
using bdcoord::v1::Probe;
using bdcoord::v1::Resources;
using bdcoord::v1::RestartPolicy;
using bdcoord::v1::Service;

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return Quote(node.Scalar());
    default:
      return "nothing";
  }
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

// The 1-based line and (byte) column of `offset` in `text`.
SourcePos PosAt(absl::string_view text, size_t offset) {
  SourcePos pos;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

// The offset of the first byte that is not part of well-formed UTF-8 (overlong forms and
// surrogates included), or npos.
size_t FirstInvalidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else {
      return i;
    }
    if (i + length > text.size()) return i;
    for (size_t k = 1; k < length; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if (k == 1 ? (next < low || next > high) : (next & 0xC0) != 0x80) return i;
    }
    i += length;
  }
  return absl::string_view::npos;
}

// yaml-cpp accepts a quote left open at the end of the file and lets one in the middle swallow
// the lines after it. A quoted string may go on over lines indented deeper than the line it opens
// on; a line that is not is where the string should have ended. Block scalars and comments are
// skipped.
void CheckQuotes(absl::string_view text, std::vector<Diagnostic>* diagnostics) {
  struct Open {
    char quote;
    SourcePos pos;
    size_t indent;  // of the line the quote opens on
  };
  std::optional<Open> open;
  auto report = [&](const Open& o) {
    diagnostics->push_back(
        {o.pos, "unclosed quote: the string that starts here does not end",
         absl::StrCat("close it with ", std::string(1, o.quote),
                      "; a string over several lines goes on indented deeper than its first "
                      "line (or use a block scalar, `key: |`)")});
  };
  // The offset after the closing `quote` in `line` from `from`, or npos.
  auto find_close = [](absl::string_view line, size_t from, char quote) {
    for (size_t j = from; j < line.size(); ++j) {
      if (quote == '"' && line[j] == '\\') {
        ++j;
      } else if (line[j] == quote) {
        if (quote == '\'' && j + 1 < line.size() && line[j + 1] == '\'') {
          ++j;  // '' is a quote inside single quotes
          continue;
        }
        return j + 1;
      }
    }
    return absl::string_view::npos;
  };
  int line_number = 0;
  int block_indent = -1;  // >= 0 inside a block scalar opened on a line with this indent
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    size_t indent = 0;
    while (indent < line.size() && line[indent] == ' ') ++indent;
    const bool blank = absl::StripAsciiWhitespace(line).empty();
    if (block_indent >= 0) {
      if (blank || static_cast<int>(indent) > block_indent) continue;
      block_indent = -1;
    }
    size_t i = indent;
    if (open) {
      if (blank) continue;
      if (indent <= open->indent) {
        report(*open);
        open.reset();
      } else {
        i = find_close(line, indent, open->quote);
        if (i == absl::string_view::npos) continue;
        open.reset();
      }
    }
    bool can_start = i == indent;  // whether a scalar may begin here
    size_t end = line.size();      // where the content ends (a comment starts)
    for (; i < line.size(); ++i) {
      const char c = line[i];
      if (c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
        end = i;
        break;
      }
      if ((c == '"' || c == '\'') && can_start) {
        const size_t close = find_close(line, i + 1, c);
        if (close == absl::string_view::npos) {
          open = Open{c, {line_number, static_cast<int>(i) + 1}, indent};
          end = i;
          break;
        }
        i = close - 1;
        can_start = false;
      } else if (c == '[' || c == '{' || c == ',') {
        can_start = true;
      } else if (c == ':' || c == '-' || c == '?') {
        can_start = i + 1 == line.size() || line[i + 1] == ' ' || line[i + 1] == '\t';
      } else if (c != ' ' && c != '\t') {
        can_start = false;
      }
    }
    if (open) continue;
    // `key: |`, `- >-`: the lines indented below are the scalar's text.
    absl::string_view content = absl::StripTrailingAsciiWhitespace(line.substr(0, end));
    if (content.size() <= indent) continue;
    const size_t space = content.find_last_of(" \t");
    absl::string_view last =
        space == absl::string_view::npos ? content.substr(indent) : content.substr(space + 1);
    if (!last.empty() && (last[0] == '|' || last[0] == '>') &&
        last.find_first_not_of("0123456789+-", 1) == absl::string_view::npos) {
      block_indent = static_cast<int>(indent);
    }
  }
  if (open) report(*open);
}

// Records where each YAML document starts, and nothing else.
class DocumentStarts final : public YAML::EventHandler {
 public:
  std::optional<YAML::Mark> last;
  bool repeated = false;  // a document started where the previous one did

  void OnDocumentStart(const YAML::Mark& mark) override {
    repeated = last && last->pos == mark.pos;
    last = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// yaml-cpp 0.7 neither consumes nor rejects a token that cannot start a node at the top level
// (a stray `,` or `]`): each document ends before it and the next starts on it again, so
// YAML::LoadAll loops for ever, one empty document at a time. Walks the documents first and
// returns where such a token is. Throws YAML::Exception on invalid YAML, as LoadAll would.
std::optional<YAML::Mark> StuckToken(absl::string_view text) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  DocumentStarts starts;
  while (parser.HandleNextDocument(starts)) {
    if (starts.repeated) return starts.last;
  }
  return std::nullopt;
}

// Where the second YAML document starts: its `---` line, or 1:1 if none is found.
SourcePos SecondDocument(absl::string_view text) {
  int line_number = 0;
  bool content = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    const bool marker = absl::StartsWith(line, "---") &&
                        (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    if (marker && content) return {line_number, 1};
    absl::string_view stripped = absl::StripAsciiWhitespace(line);
    if (marker || (!stripped.empty() && stripped[0] != '#')) content = true;
    if (marker && stripped.size() == 3) content = false;  // a first `---` on its own line
  }
  return {1, 1};
}

// A Docker volume name ([A-Za-z0-9][A-Za-z0-9_.-]*, mustache tags allowed) or an absolute host
// path; `./logs` would be taken relative to the agent's working directory.
bool IsVolumeSource(absl::string_view source) {
  if (absl::StartsWith(source, "/")) return true;  // the host policy checks host paths
  bool first = true;
  for (size_t i = 0; i < source.size(); ++i) {
    if (absl::StartsWith(source.substr(i), "{{")) {
      const size_t close = source.find("}}", i);
      if (close == absl::string_view::npos) return false;
      i = close + 1;
      first = false;
      continue;
    }
    const char c = source[i];
    const bool name_char = absl::ascii_isalnum(c) || (!first && (c == '_' || c == '.' || c == '-'));
    if (!name_char) return false;
    first = false;
  }
  return true;
}

// Walks the YAML tree, filling the proto and recording positions and diagnostics.
class Loader {
 public:
  Loader(absl::string_view text, LoadedSpec* out) : text_(text), out_(out) {}

  void Load() {
    if (text_.size() > kMaxSpecBytes) {
      out_->diagnostics.push_back(
          {{1, 1},
           absl::StrCat("the spec is ", text_.size(), " bytes; at most ", kMaxSpecBytes),
           "a cluster spec is a page or two of YAML: check that this is the right file"});
      return;
    }
    // One encoding error says it all: what follows would be noise.
    if (std::optional<Diagnostic> encoding = EncodingError(text_)) {
      out_->diagnostics.push_back(*std::move(encoding));
      return;
    }
    CheckQuotes(text_, &out_->diagnostics);
    if (!out_->diagnostics.empty()) return;
    YAML::Node root;
    try {
      if (const std::optional<YAML::Mark> stuck = StuckToken(text_)) {
        const size_t at = static_cast<size_t>(std::max(stuck->pos, 0));
        const char c = at < text_.size() ? text_[at] : ' ';
        out_->diagnostics.push_back(
            {{stuck->line + 1, stuck->column + 1},
             c == ',' ? std::string("a stray ',' outside [...] or {...}: not valid YAML here")
                      : absl::StrCat("unexpected ", Quote(absl::string_view(&c, 1)),
                                     ": not valid YAML here"),
             "a comma separates items only inside [a, b] or {k: v}; quote a value that starts "
             "with one"});
        return;
      }
      const std::vector<YAML::Node> documents = YAML::LoadAll(std::string(text_));
      if (documents.size() > 1) {
        out_->diagnostics.push_back(
            {SecondDocument(text_), "a second YAML document: a spec is one document",
             "remove the `---` line (and anything meant for another file after it)"});
        return;
      }
      if (!documents.empty()) root = documents[0];
    } catch (const YAML::Exception& e) {
      out_->diagnostics.push_back({{e.mark.line + 1, e.mark.column + 1},
                                   absl::StrCat("not valid YAML: ", e.msg),
                                   "check indentation, colons and quotes around this point"});
      return;
    }
    if (!root.IsMap()) {
      Error(root, absl::StrCat("expected a mapping at the top level, got ", Describe(root)),
            "a cluster spec starts with `cluster: NAME`");
      return;
    }
    ClusterSpec& spec = out_->spec;
    Record("", root);
    ForEachKey(root, "the top level", {"cluster", "domain", "hosts", "networks", "services", "dns"},
               "", [&](const std::string& key, const YAML::Node& value, const std::string& path) {
                 if (key == "cluster") {
                   ReadNonEmpty(value, path, "'cluster'", "name the cluster: `cluster: analytics`",
                                spec.mutable_cluster());
                 } else if (key == "domain") {
                   ReadString(value, path, "'domain'", spec.mutable_domain());
                 } else if (key == "hosts") {
                   LoadHosts(value, path);
                 } else if (key == "networks") {
                   LoadNetworks(value, path);
                 } else if (key == "services") {
                   LoadServices(value, path);
                 } else if (key == "dns") {
                   LoadDns(value, path, spec.mutable_dns());
                 }
               });
    if (!root["cluster"]) {
      Error(root, "missing required key 'cluster'", "name the cluster: `cluster: analytics`");
    }
    // A spec without services would remove every container of a running cluster.
    if (!root["services"]) {
      Error(root, "missing required key 'services'",
            "a cluster runs at least one service: `services: {zk: {image: NAME:TAG}}`");
    } else if (spec.services_size() == 0 && root["services"].size() == 0 &&
               (root["services"].IsMap() || root["services"].IsNull())) {
      out_->diagnostics.push_back(
          {out_->positions.Find("services"), "'services' is empty",
           "a cluster runs at least one service; `bdcoord down` removes a cluster"});
    }
    uint64_t total = 0;
    for (const Service& service : spec.services()) total += service.count();
    if (total > kMaxInstances) {
      out_->diagnostics.push_back(
          {out_->positions.Find("services"),
           absl::StrCat("the spec has ", total, " instances; at most ", kMaxInstances),
           "lower the services' counts"});
    }
  }

 private:
  using KeyFn = std::function<void(const std::string&, const YAML::Node&, const std::string&)>;

  SourcePos PosOf(const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null() || mark.line < 0) return {1, 1};
    return {mark.line + 1, mark.column + 1};
  }

  bool IsBlockScalar(const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    if (!node.IsScalar() || mark.is_null() || mark.pos < 0) return false;
    const size_t pos = static_cast<size_t>(mark.pos);
    return pos < text_.size() && (text_[pos] == '|' || text_[pos] == '>');
  }

  void Record(const std::string& path, const YAML::Node& node) {
    SourcePos pos = PosOf(node);
    const YAML::Mark mark = node.Mark();
    // A quoted scalar's text starts one column after its mark.
    if (node.IsScalar() && !mark.is_null() && mark.pos >= 0 &&
        static_cast<size_t>(mark.pos) < text_.size() &&
        (text_[mark.pos] == '"' || text_[mark.pos] == '\'')) {
      pos.column += 1;
    }
    const bool block = IsBlockScalar(node);
    if (block) {
      // Block scalar content starts on the line after the indicator; point at its first character.
      size_t start = text_.find('\n', static_cast<size_t>(mark.pos));
      if (start != absl::string_view::npos) {
        ++start;
        size_t indent = 0;
        while (start + indent < text_.size() && text_[start + indent] == ' ') ++indent;
        pos = {mark.line + 2, static_cast<int>(indent) + 1};
      }
    }
    out_->positions.Record(path, pos, block);
  }

  void Error(const YAML::Node& node, std::string message, std::string hint = "") {
    out_->diagnostics.push_back({PosOf(node), std::move(message), std::move(hint)});
  }

  // Visits the known keys of a mapping in file order; reports unknown and duplicate keys.
  void ForEachKey(const YAML::Node& map, absl::string_view what,
                  const std::vector<std::string>& allowed, const std::string& path,
                  const KeyFn& fn) {
    if (!map.IsMap()) {
      if (!map.IsNull())
        Error(map, absl::StrCat("expected a mapping for ", what, ", got ", Describe(map)));
      return;
    }
    absl::flat_hash_map<std::string, int> seen;
    for (const auto& item : map) {
      if (!item.first.IsScalar()) {
        Error(item.first, absl::StrCat("expected a plain key in ", what));
        continue;
      }
      const std::string key = item.first.Scalar();
      if (absl::StrContains(key, '\0')) {
        Error(item.first, absl::StrCat("NUL byte in a key in ", what), "remove the \\0");
        continue;
      }
      if (auto [it, inserted] = seen.emplace(key, PosOf(item.first).line); !inserted) {
        Error(item.first, absl::StrCat("duplicate key ", Quote(key), " in ", what),
              absl::StrCat("the first ", Quote(key), " is on line ", it->second));
        continue;
      }
      // Top-level `x-...` keys hold YAML anchors for reuse, like Compose extension fields.
      if (path.empty() && absl::StartsWith(key, "x-")) continue;
      if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        Error(item.first, absl::StrCat("unknown key ", Quote(key), " in ", what),
              SuggestionHint(key, allowed));
        continue;
      }
      const std::string child = path.empty() ? key : absl::StrCat(path, ".", key);
      Record(child, item.second.IsNull() ? item.first : item.second);
      fn(key, item.second, child);
    }
  }

  bool ReadString(const YAML::Node& node, const std::string& path, absl::string_view what,
                  std::string* out) {
    Record(path, node);
    if (!node.IsScalar()) {
      Error(node, absl::StrCat("expected a string for ", what, ", got ", Describe(node)));
      return false;
    }
    // "\0" in double quotes: no name, path or argument can carry one.
    if (absl::StrContains(node.Scalar(), '\0')) {
      Error(node, absl::StrCat("NUL byte in ", what), "remove the \\0");
      return false;
    }
    *out = node.Scalar();
    return true;
  }

  // A required string that must not be empty.
  void ReadNonEmpty(const YAML::Node& node, const std::string& path, absl::string_view what,
                    absl::string_view hint, std::string* out) {
    if (ReadString(node, path, what, out) && out->empty()) {
      Error(node, absl::StrCat(what, " is empty"), std::string(hint));
    }
  }

  bool ReadUint(const YAML::Node& node, absl::string_view what, uint32_t* out) {
    uint32_t value = 0;
    if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &value)) {
      Error(node, absl::StrCat("expected a whole number for ", what, ", got ", Describe(node)));
      return false;
    }
    *out = value;
    return true;
  }

  struct DurationRange {
    absl::Duration min;
    absl::Duration max;
    bool whole_seconds = false;
  };
  // A duration in `range` into `out`, else an error at the value with `hint`; whether it was.
  bool ReadDurationIn(const YAML::Node& value, absl::string_view field, const DurationRange& range,
                      absl::string_view hint, google::protobuf::Duration* out) {
    absl::Duration duration;
    if (!value.IsScalar() || !absl::ParseDuration(value.Scalar(), &duration) ||
        duration < range.min || duration > range.max ||
        (range.whole_seconds && duration != absl::Trunc(duration, absl::Seconds(1)))) {
      Error(value, absl::StrCat(Describe(value), " is not a duration for ", field),
            std::string(hint));
      return false;
    }
    SetDuration(duration, out);
    return true;
  }

  bool ReadBool(const YAML::Node& node, absl::string_view what, bool* out) {
    const std::string text = node.IsScalar() ? absl::AsciiStrToLower(node.Scalar()) : "";
    if (text == "true" || text == "yes" || text == "on") {
      *out = true;
    } else if (text == "false" || text == "no" || text == "off") {
      *out = false;
    } else {
      Error(node, absl::StrCat("expected true or false for ", what, ", got ", Describe(node)));
      return false;
    }
    return true;
  }

  // A list of scalars, each recorded as path.N.
  std::vector<std::string> ReadStringList(const YAML::Node& node, const std::string& path,
                                          absl::string_view what) {
    std::vector<std::string> values;
    if (node.IsNull()) return values;
    if (!node.IsSequence()) {
      Error(node, absl::StrCat("expected a list for ", what, ", got ", Describe(node)),
            "write a YAML list: [a, b] or one `- item` per line");
      return values;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      std::string value;
      if (ReadString(node[i], absl::StrCat(path, ".", i), what, &value)) {
        values.push_back(std::move(value));
      }
    }
    return values;
  }

  // name -> string mapping (labels, env, parents), keys in file order.
  void ReadStringMap(const YAML::Node& node, const std::string& path, absl::string_view what,
                     const std::function<void(const std::string&, const std::string&)>& fn) {
    ForEachKey(
        node, what, {}, path,
        [&](const std::string& key, const YAML::Node& value, const std::string& child) {
          std::string text;
          if (value.IsNull()) {
            fn(key, "");
          } else if (ReadString(value, child, absl::StrCat(Quote(key), " in ", what), &text)) {
            fn(key, text);
          }
        });
  }

  void ReadResources(const YAML::Node& node, const std::string& path, absl::string_view what,
                     Resources* out) {
    ForEachKey(node, what, {"cpus", "memory"}, path,
               [&](const std::string& key, const YAML::Node& value, const std::string&) {
                 const std::string text = value.IsScalar() ? value.Scalar() : "";
                 if (key == "cpus") {
                   int64_t millicpus = 0;
                   if (!ParseMilliCpus(text, &millicpus)) {
                     Error(value, absl::StrCat(Describe(value), " is not a CPU count in ", what),
                           "use cores (2, 0.5) or millicores (500m)");
                   }
                   out->set_millicpus(millicpus);
                 } else {
                   int64_t bytes = 0;
                   if (!ParseMemoryBytes(text, &bytes)) {
                     Error(value, absl::StrCat(Describe(value), " is not a memory size in ", what),
                           "use bytes or a unit: 512Mi, 4Gi, 2G (Ki/Mi/Gi/Ti are powers of 1024, "
                           "K/M/G/T of 1000)");
                   }
                   out->set_memory_bytes(bytes);
                 }
               });
  }

  // Validation and placement compare these with each other: cap them before loading any.
  bool TooMany(const YAML::Node& node, absl::string_view what, size_t max) {
    if (!(node.IsMap() || node.IsSequence()) || node.size() <= max) return false;
    Error(node, absl::StrCat("the spec has ", node.size(), " ", what, "; at most ", max),
          "split the spec into several clusters");
    return true;
  }

  void LoadHosts(const YAML::Node& node, const std::string& path) {
    if (TooMany(node, "hosts", kMaxHosts)) return;
    if (!node.IsSequence()) {
      if (!node.IsNull()) {
        Error(node, absl::StrCat("expected a list of hosts, got ", Describe(node)),
              "write one `- name: HOST` entry per host");
      }
      return;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      const YAML::Node& entry = node[i];
      Host* host = out_->spec.add_hosts();
      const std::string host_path = absl::StrCat(path, ".", i);
      Record(host_path, entry);
      const std::string what = entry.IsMap() && entry["name"] && entry["name"].IsScalar()
                                   ? absl::StrCat("host ", Quote(entry["name"].Scalar()))
                                   : absl::StrCat("hosts entry ", i + 1);
      ForEachKey(
          entry, what, {"name", "address", "labels", "capacity", "parents"}, host_path,
          [&](const std::string& key, const YAML::Node& value, const std::string& p) {
            if (key == "name") {
              ReadString(value, p, absl::StrCat("'name' of ", what), host->mutable_name());
            } else if (key == "address") {
              ReadString(value, p, absl::StrCat("'address' of ", what), host->mutable_address());
            } else if (key == "labels") {
              ReadStringMap(value, p, absl::StrCat("labels of ", what),
                            [&](const std::string& k, const std::string& v) {
                              (*host->mutable_labels())[k] = v;
                            });
            } else if (key == "capacity") {
              ReadResources(value, p, absl::StrCat("capacity of ", what), host->mutable_capacity());
            } else if (key == "parents") {
              ReadStringMap(value, p, absl::StrCat("parents of ", what),
                            [&](const std::string& k, const std::string& v) {
                              (*host->mutable_parents())[k] = v;
                            });
            }
          });
      if (entry.IsMap() && !entry["name"]) {
        Error(entry, absl::StrCat("missing required key 'name' in ", what));
      }
    }
  }

  void LoadNetworks(const YAML::Node& node, const std::string& path) {
    if (TooMany(node, "networks", kMaxNetworks)) return;
    ForEachKey(node, "networks", {}, path,
               [&](const std::string& name, const YAML::Node& value, const std::string& p) {
                 Network* network = out_->spec.add_networks();
                 network->set_name(name);
                 LoadNetwork(value, p, network);
               });
  }

  void LoadNetwork(const YAML::Node& node, const std::string& path, Network* network) {
    const std::string what = absl::StrCat("network ", Quote(network->name()));
    ForEachKey(node, what,
               {"driver", "parent", "subnet", "gateway", "ip_range", "reserved", "host_shim",
                "shim_range"},
               path, [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                 const std::string field = absl::StrCat(Quote(key), " of ", what);
                 if (key == "driver") {
                   std::string driver;
                   if (!ReadString(value, p, field, &driver)) return;
                   if (driver == "macvlan") {
                     network->set_driver(bdcoord::v1::NETWORK_DRIVER_MACVLAN);
                   } else if (driver == "ipvlan") {
                     network->set_driver(bdcoord::v1::NETWORK_DRIVER_IPVLAN);
                   } else {
                     Error(value, absl::StrCat("unknown driver ", Quote(driver), " for ", what),
                           "use macvlan, or ipvlan where the switch allows one MAC per port");
                   }
                 } else if (key == "parent") {
                   ReadString(value, p, field, network->mutable_parent());
                 } else if (key == "subnet") {
                   ReadString(value, p, field, network->mutable_subnet());
                 } else if (key == "gateway") {
                   ReadString(value, p, field, network->mutable_gateway());
                 } else if (key == "ip_range") {
                   ReadString(value, p, field, network->mutable_ip_range());
                 } else if (key == "reserved") {
                   for (std::string& ip : ReadStringList(value, p, field))
                     network->add_reserved(ip);
                 } else if (key == "host_shim") {
                   bool shim = false;
                   if (ReadBool(value, field, &shim)) network->set_host_shim(shim);
                 } else if (key == "shim_range") {
                   ReadString(value, p, field, network->mutable_shim_range());
                 }
               });
  }

  // Validation checks the values (addresses, domain names, option syntax).
  void LoadDns(const YAML::Node& node, const std::string& path, bdcoord::v1::Dns* dns) {
    ForEachKey(node, "dns", {"nameservers", "search", "options"}, path,
               [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                 if (value.IsNull()) return;  // `search:` with nothing: as if not written
                 std::vector<std::string> values =
                     ReadStringList(value, p, absl::StrCat(Quote(key), " of dns"));
                 auto* list = key == "nameservers" ? dns->mutable_nameservers()
                              : key == "search"    ? dns->mutable_search()->mutable_values()
                                                   : dns->mutable_options()->mutable_values();
                 for (std::string& v : values) list->Add(std::move(v));
               });
  }

  void LoadServices(const YAML::Node& node, const std::string& path) {
    if (TooMany(node, "services", kMaxServices)) return;
    ForEachKey(node, "services", {}, path,
               [&](const std::string& name, const YAML::Node& value, const std::string& p) {
                 Service* service = out_->spec.add_services();
                 service->set_name(name);
                 LoadService(value, p, service);
               });
  }

  // `files: {PATH: CONTENT}`, or the long form `{PATH: {content: C, on_change: M, mode: 0640}}`.
  void LoadFiles(const YAML::Node& node, const std::string& path, const std::string& what,
                 Service* service) {
    const std::string files_what = absl::StrCat("files of ", what);
    ForEachKey(node, files_what, {}, path,
               [&](const std::string& key, const YAML::Node& value, const std::string& child) {
                 bdcoord::v1::File file;
                 file.set_path(key);
                 file.set_mode(0644);
                 if (value.IsMap()) {
                   const std::string file_what = absl::StrCat("file ", Quote(key), " of ", what);
                   bool ok = true;
                   ForEachKey(value, file_what, {"content", "on_change", "mode"}, child,
                              [&](const std::string& k, const YAML::Node& v, const std::string& p) {
                                const std::string field = absl::StrCat(Quote(k), " of ", file_what);
                                if (k == "content") {
                                  if (!v.IsNull())
                                    ok = ReadString(v, p, field, file.mutable_content()) && ok;
                                  // Template errors point into the content, as in the short form.
                                  Record(child, v.IsNull() ? value : v);
                                } else if (k == "on_change") {
                                  ok = ReadOnChange(v, p, field, file_what, &file) && ok;
                                } else {
                                  ok = ReadFileMode(v, file_what, &file) && ok;
                                }
                              });
                   if (ok) *service->add_files() = std::move(file);
                 } else if (value.IsNull() ||
                            ReadString(value, child, absl::StrCat(Quote(key), " in ", files_what),
                                       file.mutable_content())) {
                   *service->add_files() = std::move(file);
                 }
               });
  }

  // restart (the default, kept as ""), none, or signal:SIGNAME.
  bool ReadOnChange(const YAML::Node& node, const std::string& path, absl::string_view field,
                    absl::string_view what, bdcoord::v1::File* file) {
    std::string text;
    if (!ReadString(node, path, field, &text)) return false;
    if (policy::ParseFileOnChange(text).has_value()) {
      file->set_on_change(text == "restart" ? "" : text);
      return true;
    }
    std::vector<std::string> candidates = {"restart", "none"};
    if (absl::StartsWith(text, "signal:")) {
      candidates.clear();
      for (const std::string& name : policy::FileChangeSignals()) {
        candidates.push_back(absl::StrCat("signal:", name));
      }
    }
    const std::string closest = ClosestMatch(text, candidates);
    std::string hint = closest.empty()
                           ? absl::StrCat("use restart (the default), none or signal:SIGNAME (",
                                          absl::StrJoin(policy::FileChangeSignals(), ", "), ")")
                           : absl::StrCat("did you mean ", Quote(closest), "?");
    Error(node, absl::StrCat("unknown on_change ", Quote(text), " of ", what), std::move(hint));
    return false;
  }

  // An octal mode such as 0640 or 640, from 1 to 0777.
  bool ReadFileMode(const YAML::Node& node, absl::string_view what, bdcoord::v1::File* file) {
    const std::string text = node.IsScalar() ? node.Scalar() : "";
    uint32_t mode = 0;
    bool valid = !text.empty() && text.size() <= 4;
    for (char c : text) {
      valid = valid && c >= '0' && c <= '7';
      mode = mode * 8 + static_cast<uint32_t>(c - '0');
    }
    if (!valid || mode == 0 || mode > 0777) {  // 0 would be the agent's default, 0644
      Error(node, absl::StrCat(Describe(node), " is not a file mode (mode of ", what, ")"),
            "write it in octal: 0644, 0600, 0755 (from 1 to 0777)");
      return false;
    }
    file->set_mode(mode);
    return true;
  }

  void LoadService(const YAML::Node& node, const std::string& path, Service* service) {
    const std::string what = absl::StrCat("service ", Quote(service->name()));
    bool has_count = false;
    bool count_too_large = false;
    ForEachKey(
        node, what,
        {"image", "count", "network", "hostname", "ips", "command", "env", "files", "volumes",
         "user", "resources", "placement", "depends_on", "ready", "run_once", "restart",
         "stop_timeout", "update", "reschedule"},
        path, [&](const std::string& key, const YAML::Node& value, const std::string& p) {
          const std::string field = absl::StrCat(Quote(key), " of ", what);
          if (key == "image") {
            ReadNonEmpty(value, p, field, "name an image: `image: NAME:TAG`",
                         service->mutable_image());
          } else if (key == "count") {
            uint32_t count = 0;
            has_count = true;
            if (!ReadUint(value, field, &count)) return;
            // Checked here, before validation and placement make anything per instance.
            if (count > kMaxCount) {
              Error(value, absl::StrCat("count ", count, " of ", what, " is more than ", kMaxCount),
                    absl::StrCat("a service has at most ", kMaxCount, " instances"));
              count_too_large = true;
              return;
            }
            service->set_count(count);
          } else if (key == "network") {
            ReadString(value, p, field, service->mutable_network());
          } else if (key == "hostname") {
            ReadString(value, p, field, service->mutable_hostname());
          } else if (key == "ips") {
            for (std::string& ip : ReadStringList(value, p, field)) service->add_ips(ip);
          } else if (key == "command") {
            for (std::string& arg : ReadStringList(value, p, field)) service->add_command(arg);
          } else if (key == "env") {
            ReadStringMap(value, p, absl::StrCat("env of ", what),
                          [&](const std::string& k, const std::string& v) {
                            auto* env = service->add_env();
                            env->set_name(k);
                            env->set_value(v);
                          });
          } else if (key == "files") {
            LoadFiles(value, p, what, service);
          } else if (key == "volumes") {
            LoadVolumes(value, p, field, what, service);
          } else if (key == "user") {
            ReadString(value, p, field, service->mutable_user());
          } else if (key == "stop_timeout") {
            // A JVM flushing its logs or handing over leadership needs more than Docker's 10 s;
            // more than 10 minutes would hold a host's reconcile pass for too long.
            absl::Duration duration;
            if (!value.IsScalar() || !absl::ParseDuration(value.Scalar(), &duration) ||
                duration < absl::Seconds(1) || duration > absl::Minutes(10) ||
                duration != absl::Trunc(duration, absl::Seconds(1))) {
              Error(value, absl::StrCat(Describe(value), " is not a stop timeout for ", what),
                    "use whole seconds from 1s to 10m: 30s, 2m");
              return;
            }
            SetDuration(duration, service->mutable_stop_timeout());
          } else if (key == "resources") {
            ReadResources(value, p, absl::StrCat("resources of ", what),
                          service->mutable_resources());
          } else if (key == "placement") {
            LoadPlacement(value, p, what, service);
          } else if (key == "depends_on") {
            LoadDependencies(value, p, what, service);
          } else if (key == "ready") {
            LoadProbe(value, p, what, service->mutable_ready());
          } else if (key == "run_once") {
            bool run_once = false;
            if (ReadBool(value, field, &run_once)) service->set_run_once(run_once);
          } else if (key == "restart") {
            LoadRestart(value, p, field, service->mutable_restart());
          } else if (key == "update") {
            LoadUpdate(value, p, what, service->mutable_update());
          } else if (key == "reschedule") {
            LoadReschedule(value, p, what, service->mutable_reschedule());
          }
        });
    // Pinned IPs imply the count when it is not given.
    if (!has_count || count_too_large) {
      service->set_count(service->ips_size() > 0 ? service->ips_size() : 1);
    }
    if (!has_count && service->count() > kMaxCount) {
      Error(node["ips"],
            absl::StrCat(what, " pins ", service->count(), " ips, more than ", kMaxCount,
                         " instances"),
            absl::StrCat("a service has at most ", kMaxCount, " instances"));
      service->set_count(1);
    }
    if (node.IsMap() && !node["image"]) {
      Error(node, absl::StrCat("missing required key 'image' in ", what),
            "images are built locally and loaded on every host; name one: `image: NAME:TAG`");
    }
  }

  void LoadVolumes(const YAML::Node& node, const std::string& path, const std::string& what,
                   const std::string& owner, Service* service) {
    for (size_t i = 0; const std::string& text : ReadStringList(node, path, what)) {
      const std::vector<std::string> parts = absl::StrSplit(text, ':');
      auto* volume = service->add_volumes();
      const bool valid =
          (parts.size() == 2 || (parts.size() == 3 && (parts[2] == "ro" || parts[2] == "rw"))) &&
          !parts[0].empty() && absl::StartsWith(parts[1], "/");
      if (valid && !IsVolumeSource(parts[0])) {
        Error(node[i],
              absl::StrCat("volume source ", Quote(parts[0]), " of ", owner,
                           " is neither a volume name nor an absolute path"),
              "a relative path is not allowed: write an absolute host path (/srv/logs) or a volume "
              "name (letters, digits, _ . -; templates allowed: "
              "data{{index}})");
      } else if (!valid) {
        Error(node[i],
              absl::StrCat("volume ", Quote(text), " of ", owner, " is not SOURCE:TARGET[:ro]"),
              "name a volume or an absolute host path, then an absolute path in the container: "
              "`data{{index}}:/data`");
      } else {
        volume->set_source(parts[0]);
        volume->set_target(parts[1]);
        volume->set_read_only(parts.size() == 3 && parts[2] == "ro");
      }
      ++i;
    }
  }

  void LoadPlacement(const YAML::Node& node, const std::string& path, const std::string& owner,
                     Service* service) {
    const std::string what = absl::StrCat("placement of ", owner);
    auto* rules = service->mutable_placement();
    ForEachKey(
        node, what,
        {"constraints", "spread", "distinct_hosts", "colocate_with", "hosts", "max_per"}, path,
        [&](const std::string& key, const YAML::Node& value, const std::string& p) {
          const std::string field = absl::StrCat(Quote(key), " in ", what);
          if (key == "constraints") {
            const std::vector<std::string> texts = ReadStringList(value, p, field);
            for (size_t i = 0; i < texts.size(); ++i) {
              Constraint constraint;
              if (!ParseConstraint(texts[i], &constraint)) {
                Error(value[i],
                      absl::StrCat("invalid label expression ", Quote(texts[i]), " in ", what),
                      "use `LABEL == VALUE`, `LABEL != VALUE`, `LABEL in (V1,V2)`, "
                      "`LABEL not in (V1,V2)`, `LABEL exists` or `LABEL not exists`");
                continue;
              }
              *rules->add_constraints() = std::move(constraint);
            }
          } else if (key == "spread") {
            ReadString(value, p, field, rules->mutable_spread());
          } else if (key == "distinct_hosts") {
            bool distinct = false;
            if (ReadBool(value, field, &distinct)) rules->set_distinct_hosts(distinct);
          } else if (key == "colocate_with") {
            ReadString(value, p, field, rules->mutable_colocate_with());
          } else if (key == "hosts") {
            for (std::string& host : ReadStringList(value, p, field)) rules->add_hosts(host);
          } else if (key == "max_per") {
            LoadMaxPer(value, p, absl::StrCat("max_per in ", what), rules->mutable_max_per());
          }
        });
  }

  // Validation checks the values (a label key, count >= 1), also for specs that come as protos.
  void LoadMaxPer(const YAML::Node& node, const std::string& path, const std::string& what,
                  MaxPer* max_per) {
    ForEachKey(node, what, {"label", "count"}, path,
               [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                 const std::string field = absl::StrCat(Quote(key), " in ", what);
                 uint32_t count = 0;
                 if (key == "label") {
                   ReadString(value, p, field, max_per->mutable_label());
                 } else if (key == "count" && ReadUint(value, field, &count)) {
                   max_per->set_count(count);
                 }
               });
  }

  void LoadDependencies(const YAML::Node& node, const std::string& path, const std::string& owner,
                        Service* service) {
    const std::string what = absl::StrCat("depends_on of ", owner);
    if (node.IsSequence()) {  // a plain list waits for `started`
      for (std::string& name : ReadStringList(node, path, what)) {
        auto* dependency = service->add_depends_on();
        dependency->set_service(name);
        dependency->set_condition(Dependency::CONDITION_STARTED);
      }
      return;
    }
    ForEachKey(node, what, {}, path,
               [&](const std::string& name, const YAML::Node& value, const std::string& p) {
                 auto* dependency = service->add_depends_on();
                 dependency->set_service(name);
                 std::string condition;
                 if (!ReadString(value, p, absl::StrCat(Quote(name), " in ", what), &condition)) {
                   return;
                 }
                 if (condition == "started") {
                   dependency->set_condition(Dependency::CONDITION_STARTED);
                 } else if (condition == "ready") {
                   dependency->set_condition(Dependency::CONDITION_READY);
                 } else if (condition == "completed") {
                   dependency->set_condition(Dependency::CONDITION_COMPLETED);
                 } else {
                   Error(value,
                         absl::StrCat("unknown condition ", Quote(condition), " for ", Quote(name),
                                      " in ", what),
                         SuggestionHint(condition, {"started", "ready", "completed"}));
                 }
               });
  }

  // `kind`: what the probe says, for messages ("ready", "leader").
  void LoadProbe(const YAML::Node& node, const std::string& path, const std::string& owner,
                 Probe* probe, absl::string_view kind = "ready") {
    const std::string what = absl::StrCat(kind, " probe of ", owner);
    int checks = 0;
    ForEachKey(
        node, what, {"tcp", "http", "exec", "log", "interval", "timeout", "retries"}, path,
        [&](const std::string& key, const YAML::Node& value, const std::string& p) {
          const std::string field = absl::StrCat(Quote(key), " in ", what);
          if (key == "tcp") {
            ++checks;
            uint32_t port = 0;
            if (ReadPort(value, field, &port)) probe->mutable_tcp()->set_port(port);
          } else if (key == "http") {
            ++checks;
            auto* http = probe->mutable_http();
            http->set_path("/");
            ForEachKey(value, field, {"port", "path"}, p,
                       [&](const std::string& k, const YAML::Node& v, const std::string& pp) {
                         uint32_t port = 0;
                         if (k == "port" && ReadPort(v, field, &port)) http->set_port(port);
                         if (k == "path") ReadString(v, pp, field, http->mutable_path());
                       });
            if (http->port() == 0 && (value.IsMap() || value.IsNull())) {
              Error(value.IsNull() ? node : value,
                    absl::StrCat("http probe of ", owner, " has no port"),
                    "e.g. `ready: {http: {port: 8081, path: /}}`");
            }
          } else if (key == "exec") {
            ++checks;
            for (std::string& arg : ReadStringList(value, p, field)) {
              probe->mutable_exec()->add_command(arg);
            }
            if (probe->exec().command().empty() && (value.IsSequence() || value.IsNull())) {
              Error(value.IsNull() ? node : value,
                    absl::StrCat("exec probe of ", owner, " has no command"),
                    "e.g. `ready: {exec: [test, -f, /tmp/ready]}`");
            }
          } else if (key == "log") {
            ++checks;
            std::string pattern;
            if (!ReadString(value, p, field, &pattern)) return;
            // Compiling recurses with the pattern's length.
            if (pattern.size() > kMaxPatternLength) {
              Error(value,
                    absl::StrCat("the log pattern of ", what, " is ", pattern.size(),
                                 " characters long"),
                    absl::StrCat("at most ", kMaxPatternLength));
              return;
            }
            try {
              std::regex compiled(pattern);
            } catch (const std::regex_error& e) {
              Error(value,
                    absl::StrCat("invalid regular expression ", Quote(pattern), " in ", what),
                    e.what());
            }
            probe->mutable_log()->set_pattern(pattern);
          } else if (key == "interval" || key == "timeout") {
            absl::Duration duration;
            if (!value.IsScalar() || !absl::ParseDuration(value.Scalar(), &duration) ||
                duration <= absl::ZeroDuration()) {
              Error(value, absl::StrCat(Describe(value), " is not a duration for ", field),
                    "use a positive duration: 500ms, 5s, 1m");
              return;
            }
            SetDuration(duration,
                        key == "interval" ? probe->mutable_interval() : probe->mutable_timeout());
          } else if (key == "retries") {
            uint32_t retries = 0;
            if (ReadUint(value, field, &retries)) probe->set_retries(retries);
          }
        });
    if (node.IsMap() && checks != 1) {
      Error(node,
            absl::StrCat(what, " needs exactly one of tcp, http, exec or log, found ", checks),
            "e.g. `ready: {tcp: 2181}`");
    }
  }

  bool ReadPort(const YAML::Node& node, absl::string_view what, uint32_t* port) {
    if (!ReadUint(node, what, port)) return false;
    if (*port == 0 || *port > 65535) {
      Error(node, absl::StrCat("port ", *port, " out of range for ", what), "use 1..65535");
      return false;
    }
    return true;
  }

  // `reschedule: {after: 60s, allow_volumes: true}`: moved off a host lost for `after`.
  void LoadReschedule(const YAML::Node& node, const std::string& path, const std::string& owner,
                      bdcoord::v1::ReschedulePolicy* reschedule) {
    const std::string what = absl::StrCat("reschedule of ", owner);
    bool has_after = false;
    ForEachKey(node, what, {"after", "allow_volumes"}, path,
               [&](const std::string& key, const YAML::Node& value, const std::string&) {
                 const std::string field = absl::StrCat(Quote(key), " of ", what);
                 if (key == "after") {
                   has_after = true;
                   // Below a few heartbeats a slow network would move healthy instances; whole
                   // seconds, so that half of it (the agent's fence) is exact.
                   ReadDurationIn(value, field, {kMinRescheduleAfter, absl::Hours(24), true},
                                  "how long a host may be lost before its instances move: whole "
                                  "seconds from 20s to 24h, e.g. 60s",
                                  reschedule->mutable_after());
                 } else if (key == "allow_volumes") {
                   bool allow = false;
                   if (ReadBool(value, field, &allow)) reschedule->set_allow_volumes(allow);
                 }
               });
    if (!has_after && (node.IsMap() || node.IsNull())) {
      Error(node, absl::StrCat(what, " has no `after`"),
            "say how long a host may be lost before its instances move, e.g. `after: 60s`");
    }
  }

  // `update: {max_parallel: 1, min_healthy: 10s, on_failure: halt}`: a rolling update.
  void LoadUpdate(const YAML::Node& node, const std::string& path, const std::string& owner,
                  bdcoord::v1::UpdatePolicy* update) {
    const std::string what = absl::StrCat("update of ", owner);
    if (node.IsNull()) return;  // `update:` alone: the defaults
    ForEachKey(
        node, what,
        {"max_parallel", "min_healthy", "progress_deadline", "on_failure", "order", "leader"}, path,
        [&](const std::string& key, const YAML::Node& value, const std::string& p) {
          const std::string field = absl::StrCat(Quote(key), " of ", what);
          if (key == "max_parallel") {
            uint32_t max_parallel = 0;
            if (!ReadUint(value, field, &max_parallel)) return;
            if (max_parallel == 0 || max_parallel > kMaxCount) {
              Error(value,
                    absl::StrCat("max_parallel ", max_parallel, " of ", what, " is out of range"),
                    absl::StrCat("replace 1 to ", kMaxCount, " instances at a time"));
              return;
            }
            update->set_max_parallel(max_parallel);
          } else if (key == "min_healthy") {
            ReadDurationIn(value, field, {absl::ZeroDuration(), absl::Hours(1), false},
                           "how long a replaced instance stays ready before the next one goes: "
                           "0s to 1h, e.g. 10s",
                           update->mutable_min_healthy());
          } else if (key == "progress_deadline") {
            ReadDurationIn(value, field, {absl::Seconds(1), absl::Hours(24), false},
                           "how long a replaced instance may take to be ready before its step "
                           "fails: 1s to 24h, e.g. 5m (default 10m)",
                           update->mutable_progress_deadline());
          } else if (key == "on_failure") {
            std::string mode;
            if (!ReadString(value, p, field, &mode)) return;
            if (mode == "halt") {
              update->set_on_failure(bdcoord::v1::UpdatePolicy::ON_FAILURE_HALT);
            } else if (mode == "revert") {
              update->set_on_failure(bdcoord::v1::UpdatePolicy::ON_FAILURE_REVERT);
            } else {
              Error(value, absl::StrCat("unknown on_failure ", Quote(mode), " for ", what),
                    SuggestionHint(mode, {"halt", "revert"}));
            }
          } else if (key == "order") {
            std::string order;
            if (!ReadString(value, p, field, &order)) return;
            if (order == "index") {
              update->set_order(bdcoord::v1::UpdatePolicy::ORDER_INDEX);
            } else if (order == "leader_last") {
              update->set_order(bdcoord::v1::UpdatePolicy::ORDER_LEADER_LAST);
            } else {
              Error(value, absl::StrCat("unknown order ", Quote(order), " for ", what),
                    SuggestionHint(order, {"index", "leader_last"}));
            }
          } else if (key == "leader") {
            LoadProbe(value, p, owner, update->mutable_leader(), "leader");
          }
        });
    const bool leader_last = update->order() == bdcoord::v1::UpdatePolicy::ORDER_LEADER_LAST;
    if (leader_last && !update->has_leader()) {
      Error(node["order"], absl::StrCat("order leader_last of ", what, " needs a `leader` probe"),
            "one that passes on the leader only, e.g. `leader: {exec: [sh, -c, \"echo srvr | nc "
            "127.0.0.1 2181 | grep -q 'Mode: leader'\"]}`");
    } else if (!leader_last && update->has_leader() && node.IsMap()) {
      Error(node["leader"], absl::StrCat("the leader probe of ", what, " is used by nothing"),
            "add `order: leader_last`, or drop `leader`");
    }
  }

  void LoadRestart(const YAML::Node& node, const std::string& path, const std::string& what,
                   RestartPolicy* restart) {
    std::string text;
    if (!ReadString(node, path, what, &text)) return;
    absl::string_view mode = text;
    uint32_t retries = 0;
    bool valid = true;
    if (absl::ConsumePrefix(&mode, "on-failure:")) {
      valid = absl::SimpleAtoi(mode, &retries);
      mode = "on-failure";
    }
    if (valid && mode == "no") {
      restart->set_mode(RestartPolicy::MODE_NO);
    } else if (valid && mode == "on-failure") {
      restart->set_mode(RestartPolicy::MODE_ON_FAILURE);
      restart->set_max_retries(retries);
    } else if (valid && mode == "always") {
      restart->set_mode(RestartPolicy::MODE_ALWAYS);
    } else if (valid && mode == "unless-stopped") {
      restart->set_mode(RestartPolicy::MODE_UNLESS_STOPPED);
    } else {
      Error(node, absl::StrCat("unknown restart policy ", Quote(text), " for ", what),
            "use no, on-failure, on-failure:N, always or unless-stopped");
    }
  }

  absl::string_view text_;
  LoadedSpec* out_;
};

// Splits "12.5Gi" into the number and the unit.
bool SplitQuantity(absl::string_view text, double* number, absl::string_view* unit) {
  size_t end = 0;
  while (end < text.size() && (absl::ascii_isdigit(text[end]) || text[end] == '.')) ++end;
  if (end == 0 || !absl::SimpleAtod(text.substr(0, end), number) || !std::isfinite(*number) ||
      *number < 0) {
    return false;
  }
  *unit = text.substr(end);
  return true;
}

}  // namespace

void SourceMap::Record(std::string path, SourcePos pos, bool block_scalar) {
  entries_.insert_or_assign(std::move(path), Entry{pos, block_scalar});
}

SourcePos SourceMap::Find(absl::string_view path) const {
  while (true) {
    if (auto it = entries_.find(path); it != entries_.end()) return it->second.pos;
    const size_t dot = path.rfind('.');
    if (dot == absl::string_view::npos) break;
    path = path.substr(0, dot);
  }
  if (auto it = entries_.find(""); it != entries_.end()) return it->second.pos;
  return {1, 1};
}

SourcePos SourceMap::FindInScalar(absl::string_view path, int line, int column) const {
  auto it = entries_.find(path);
  if (it == entries_.end()) return Find(path);
  const Entry& entry = it->second;
  // Block scalars keep a uniform indent; other multi-line scalars restart at column 1.
  const int column_base = (line == 0 || entry.block_scalar) ? entry.pos.column : 1;
  return {entry.pos.line + line, column_base + column};
}

std::optional<Diagnostic> EncodingError(absl::string_view text) {
  if (const size_t nul = text.find('\0'); nul != absl::string_view::npos) {
    return Diagnostic{PosAt(text, nul), absl::StrCat("NUL byte at byte ", nul),
                      "a spec is UTF-8 text; is this a binary or UTF-16 file?"};
  }
  if (const size_t bad = FirstInvalidUtf8(text); bad != absl::string_view::npos) {
    return Diagnostic{PosAt(text, bad), absl::StrCat("not UTF-8 at byte ", bad),
                      "save the spec as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)"};
  }
  return std::nullopt;
}

LoadedSpec LoadSpec(absl::string_view yaml_text) {
  LoadedSpec out;
  Loader(yaml_text, &out).Load();
  return out;
}

// An absolute path without empty, `.` or `..` parts: what the container and host see is what the
// user wrote.
bool IsCleanAbsolutePath(absl::string_view path) {
  if (!absl::StartsWith(path, "/")) return false;
  if (path == "/") return true;
  for (absl::string_view part : absl::StrSplit(path.substr(1), '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

bool ParseMilliCpus(absl::string_view text, int64_t* millicpus) {
  double number = 0;
  absl::string_view unit;
  if (!SplitQuantity(text, &number, &unit)) return false;
  if (unit.empty()) {
    *millicpus = std::llround(number * 1000);
  } else if (unit == "m" && number == std::floor(number)) {
    *millicpus = static_cast<int64_t>(number);
  } else {
    return false;
  }
  return *millicpus > 0;
}

bool ParseMemoryBytes(absl::string_view text, int64_t* bytes) {
  double number = 0;
  absl::string_view unit;
  if (!SplitQuantity(text, &number, &unit)) return false;
  absl::ConsumeSuffix(&unit, "B");
  static const std::pair<absl::string_view, double> kUnits[] = {{"", 1},
                                                                {"K", 1e3},
                                                                {"k", 1e3},
                                                                {"M", 1e6},
                                                                {"G", 1e9},
                                                                {"T", 1e12},
                                                                {"Ki", 1024.0},
                                                                {"Mi", 1048576.0},
                                                                {"Gi", 1073741824.0},
                                                                {"Ti", 1099511627776.0}};
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) {
      const double value = number * factor;
      if (value < 1 || value > 9e18) return false;
      *bytes = static_cast<int64_t>(value);
      return true;
    }
  }
  return false;
}

bool ParseConstraint(absl::string_view text, Constraint* constraint) {
  // LABEL OP VALUE | LABEL (not )?in (V1, V2) | LABEL (not )?exists, by hand: std::regex
  // recurses per character and overflows the stack on a long label.
  absl::string_view rest = text;
  auto skip_space = [&rest] {
    const size_t before = rest.size();
    rest = absl::StripLeadingAsciiWhitespace(rest);
    return rest.size() < before;
  };
  auto take_word = [&rest] {
    size_t n = 0;
    while (n < rest.size() && (absl::ascii_isalnum(rest[n]) || rest[n] == '_' || rest[n] == '.' ||
                               rest[n] == '/' || rest[n] == '-')) {
      ++n;
    }
    absl::string_view word = rest.substr(0, n);
    rest.remove_prefix(n);
    return word;
  };
  // A keyword ends where the next character cannot continue a label.
  auto take_keyword = [&rest](absl::string_view keyword) {
    if (!absl::StartsWith(rest, keyword)) return false;
    if (rest.size() > keyword.size()) {
      const char next = rest[keyword.size()];
      if (absl::ascii_isalnum(next) || next == '_' || next == '.' || next == '/' || next == '-') {
        return false;
      }
    }
    rest.remove_prefix(keyword.size());
    return true;
  };
  skip_space();
  const absl::string_view label = take_word();
  if (label.empty()) return false;
  const bool spaced = skip_space();
  Constraint parsed;
  parsed.set_label(std::string(label));
  parsed.set_text(std::string(absl::StripAsciiWhitespace(text)));
  if (absl::StartsWith(rest, "==") || absl::StartsWith(rest, "!=")) {
    parsed.set_op(rest[0] == '=' ? Constraint::OP_EQUAL : Constraint::OP_NOT_EQUAL);
    rest.remove_prefix(2);
    skip_space();
    const absl::string_view value = take_word();
    if (value.empty()) return false;
    parsed.add_values(std::string(value));
  } else {
    if (!spaced) return false;
    bool negated = false;
    if (take_keyword("not")) {
      if (!skip_space()) return false;
      negated = true;
    }
    if (take_keyword("exists")) {
      parsed.set_op(negated ? Constraint::OP_NOT_EXISTS : Constraint::OP_EXISTS);
    } else if (take_keyword("in")) {
      parsed.set_op(negated ? Constraint::OP_NOT_IN : Constraint::OP_IN);
      skip_space();
      if (!absl::ConsumePrefix(&rest, "(")) return false;
      do {
        skip_space();
        const absl::string_view value = take_word();
        if (value.empty()) return false;
        parsed.add_values(std::string(value));
        skip_space();
      } while (absl::ConsumePrefix(&rest, ","));
      if (!absl::ConsumePrefix(&rest, ")")) return false;
    } else {
      return false;
    }
  }
  skip_space();
  if (!rest.empty()) return false;
  *constraint = std::move(parsed);
  return true;
}

}  // namespace bdcoord::coordinator
