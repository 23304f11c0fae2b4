#include "net/hosts_map.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace bdcoord::net {
namespace {

absl::StatusOr<HostsEntry> EntryFromProto(const bdcoord::v1::HostsEntry& entry) {
  absl::StatusOr<Ipv4> ip = Ipv4::Parse(entry.ip());
  if (!ip.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("hosts entry '", entry.fqdn(), "': ", ip.status().message()));
  }
  return HostsEntry{*ip, entry.fqdn(), entry.name()};
}

void EntryToProto(const HostsEntry& entry, bdcoord::v1::HostsEntry* out) {
  out->set_ip(entry.ip.ToString());
  out->set_fqdn(entry.fqdn);
  out->set_name(entry.name);
}

}  // namespace

HostsMap::HostsMap(uint64_t version, std::vector<HostsEntry> entries) : version_(version) {
  for (HostsEntry& entry : entries) {
    std::string fqdn = entry.fqdn;
    by_fqdn_.insert_or_assign(std::move(fqdn), std::move(entry));
  }
}

std::vector<HostsEntry> HostsMap::Entries() const {
  std::vector<HostsEntry> entries;
  entries.reserve(by_fqdn_.size());
  for (const auto& [fqdn, entry] : by_fqdn_) entries.push_back(entry);
  return entries;
}

bool HostsMap::SameEntries(const HostsMap& other) const { return by_fqdn_ == other.by_fqdn_; }

std::string HostsMap::Render() const { return RenderHostsFile(Entries()); }

absl::Status HostsMap::Apply(const HostsDelta& delta) {
  if (delta.from_version != version_) {
    return absl::FailedPreconditionError(absl::StrCat("hosts delta from version ",
                                                      delta.from_version, ", the map is at ",
                                                      version_, ": the whole map is needed"));
  }
  for (const std::string& fqdn : delta.removed) {
    if (!by_fqdn_.contains(fqdn)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "hosts delta removes '", fqdn, "', which the map at version ", version_, " lacks"));
    }
  }
  for (const std::string& fqdn : delta.removed) by_fqdn_.erase(fqdn);
  for (const HostsEntry& entry : delta.upserted) by_fqdn_.insert_or_assign(entry.fqdn, entry);
  version_ = delta.to_version;
  return absl::OkStatus();
}

HostsDelta Diff(const HostsMap& from, const HostsMap& to) {
  HostsDelta delta;
  delta.from_version = from.version();
  delta.to_version = to.version();
  const std::vector<HostsEntry> before = from.Entries();  // both sorted by FQDN: one merge
  const std::vector<HostsEntry> after = to.Entries();
  auto old_entry = before.begin();
  auto new_entry = after.begin();
  while (old_entry != before.end() || new_entry != after.end()) {
    if (new_entry == after.end() ||
        (old_entry != before.end() && old_entry->fqdn < new_entry->fqdn)) {
      delta.removed.push_back((old_entry++)->fqdn);
    } else if (old_entry == before.end() || new_entry->fqdn < old_entry->fqdn) {
      delta.upserted.push_back(*new_entry++);
    } else {
      if (!(*old_entry == *new_entry)) delta.upserted.push_back(*new_entry);
      ++old_entry;
      ++new_entry;
    }
  }
  return delta;
}

bdcoord::v1::HostsMap ToProto(const HostsMap& map) {
  bdcoord::v1::HostsMap out;
  out.set_version(map.version());
  std::string& lines = *out.mutable_entries();
  for (const HostsEntry& entry : map.Entries()) {
    absl::StrAppend(&lines, entry.ip.ToString(), " ", entry.fqdn, " ", entry.name, "\n");
  }
  return out;
}

absl::StatusOr<HostsMap> FromProto(const bdcoord::v1::HostsMap& map) {
  std::vector<HostsEntry> entries;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(map.entries(), '\n', absl::SkipEmpty())) {
    ++number;
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    if (fields.size() != 3 || fields[1].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("hosts map line ", number, ": '", line, "' is not 'IP FQDN NAME'"));
    }
    bdcoord::v1::HostsEntry entry;
    entry.set_ip(std::string(fields[0]));
    entry.set_fqdn(std::string(fields[1]));
    entry.set_name(std::string(fields[2]));
    absl::StatusOr<HostsEntry> parsed = EntryFromProto(entry);
    if (!parsed.ok()) return parsed.status();
    entries.push_back(*std::move(parsed));
  }
  return HostsMap(map.version(), std::move(entries));
}

bdcoord::v1::HostsDelta ToProto(const HostsDelta& delta) {
  bdcoord::v1::HostsDelta out;
  out.set_from_version(delta.from_version);
  out.set_to_version(delta.to_version);
  for (const std::string& fqdn : delta.removed) {
    bdcoord::v1::HostsChange* change = out.add_changes();
    change->mutable_entry()->set_fqdn(fqdn);
    change->set_removed(true);
  }
  for (const HostsEntry& entry : delta.upserted) {
    EntryToProto(entry, out.add_changes()->mutable_entry());
  }
  return out;
}

absl::StatusOr<HostsDelta> FromProto(const bdcoord::v1::HostsDelta& delta) {
  HostsDelta out;
  out.from_version = delta.from_version();
  out.to_version = delta.to_version();
  for (const bdcoord::v1::HostsChange& change : delta.changes()) {
    if (change.removed()) {
      out.removed.push_back(change.entry().fqdn());
      continue;
    }
    absl::StatusOr<HostsEntry> entry = EntryFromProto(change.entry());
    if (!entry.ok()) return entry.status();
    out.upserted.push_back(*std::move(entry));
  }
  return out;
}

}  // namespace bdcoord::net
