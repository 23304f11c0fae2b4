#ifndef BDCOORD_COORDINATOR_SPEC_SPEC_LOADER_H_
#define BDCOORD_COORDINATOR_SPEC_SPEC_LOADER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "bdcoord/v1/spec.pb.h"
#include "coordinator/spec/diagnostics.h"

namespace bdcoord::coordinator {

// Where each part of the spec came from. Paths name spec elements the way a user reads them:
// "services.zk.count", "hosts.2.labels", "networks.lan.subnet", "services.zk.env.MYID".
class SourceMap {
 public:
  void Record(std::string path, SourcePos pos, bool block_scalar = false);
  // The position of `path`, or of its closest recorded ancestor, or 1:1.
  SourcePos Find(absl::string_view path) const;
  // The position of character (line, column) of a scalar's text, both 0-based, so template errors
  // point into the file. Block scalars (`|`, `>`) start on the line after their indicator.
  SourcePos FindInScalar(absl::string_view path, int line, int column) const;

 private:
  struct Entry {
    SourcePos pos;
    bool block_scalar = false;
  };
  absl::flat_hash_map<std::string, Entry> entries_;
};

struct LoadedSpec {
  bdcoord::v1::ClusterSpec spec;
  SourceMap positions;
  std::vector<Diagnostic> diagnostics;  // YAML syntax, unknown keys, wrong types, bad units
};

// Limits on what a spec may ask for, checked before anything is allocated per instance or per
// character (README, "Limits").
inline constexpr size_t kMaxSpecBytes = 1 << 20;
inline constexpr uint32_t kMaxCount = 10000;  // instances of one service
// The shortest `reschedule: {after: ...}`: its half, the agents' fence, is 5 of their 2 s
// heartbeats.
inline constexpr absl::Duration kMinRescheduleAfter = absl::Seconds(20);
inline constexpr uint64_t kMaxInstances = 20000;  // instances of a spec
inline constexpr size_t kMaxServices = 1000;
inline constexpr size_t kMaxHosts = 1000;
inline constexpr size_t kMaxNetworks = 100;
inline constexpr size_t kMaxNameLength = 63;     // a DNS label: cluster, service, host, network
inline constexpr size_t kMaxDomainLength = 253;  // domain, search domains, label keys
inline constexpr size_t kMaxLabelValueLength = 255;
inline constexpr size_t kMaxPatternLength = 1024;  // a log probe's regular expression

// Parses cluster.yaml text into the proto spec. Never throws; every problem found is a
// diagnostic and loading goes on past it, so the user sees all of them at once.
LoadedSpec LoadSpec(absl::string_view yaml_text);

// The spec's encoding problem, as LoadSpec reports it: a NUL byte, or the first byte that is not
// UTF-8; nothing for well-formed UTF-8. Clients check before sending a spec too.
std::optional<Diagnostic> EncodingError(absl::string_view text);

// Unit parsers, exposed for tests. Return false on malformed input.
bool ParseMilliCpus(absl::string_view text, int64_t* millicpus);
bool ParseMemoryBytes(absl::string_view text, int64_t* bytes);
bool IsCleanAbsolutePath(absl::string_view path);
bool ParseConstraint(absl::string_view text, bdcoord::v1::Constraint* constraint);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_SPEC_SPEC_LOADER_H_
