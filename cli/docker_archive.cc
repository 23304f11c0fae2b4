#include "cli/docker_archive.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace bdcoord::cli {

absl::StatusOr<std::optional<TarEntry>> ParseTarHeader(absl::string_view block) {
  constexpr size_t kBlock = 512;
  if (block.size() != kBlock) return absl::InvalidArgumentError("a tar block is 512 bytes");
  if (std::all_of(block.begin(), block.end(), [](char c) { return c == '\0'; })) {
    return std::nullopt;
  }
  // The checksum (148..155, octal): the header's bytes summed with that field as spaces.
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(block[i]);
  }
  auto octal = [&](size_t offset, size_t width) -> std::optional<int64_t> {
    absl::string_view field = absl::StripAsciiWhitespace(
        block.substr(offset, width).substr(0, block.substr(offset, width).find('\0')));
    int64_t value = 0;
    if (field.empty()) return std::nullopt;
    for (char c : field) {
      if (c < '0' || c > '7' || value > (int64_t{1} << 58)) return std::nullopt;
      value = value * 8 + (c - '0');
    }
    return value;
  };
  const std::optional<int64_t> checksum = octal(148, 8);
  const std::optional<int64_t> size = octal(124, 12);
  if (!checksum.has_value() || static_cast<unsigned>(*checksum) != sum || !size.has_value()) {
    return absl::InvalidArgumentError("not a tar archive (a header's checksum is wrong)");
  }
  TarEntry entry;
  absl::string_view name = block.substr(0, 100);
  entry.name = std::string(name.substr(0, name.find('\0')));
  // ustar: a prefix (345..499) goes before the name.
  if (block.substr(257, 5) == "ustar") {
    absl::string_view prefix = block.substr(345, 155);
    prefix = prefix.substr(0, prefix.find('\0'));
    if (!prefix.empty()) entry.name = absl::StrCat(prefix, "/", entry.name);
  }
  entry.size = *size;
  return entry;
}

absl::StatusOr<ArchiveImages> ParseDockerManifest(absl::string_view manifest) {
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(manifest.begin(), manifest.end());
  } catch (const nlohmann::json::exception&) {
    return absl::InvalidArgumentError("its manifest.json is not JSON");
  }
  if (!parsed.is_array() || parsed.empty()) {
    return absl::InvalidArgumentError("its manifest.json lists no image");
  }
  ArchiveImages images;
  for (const nlohmann::json& entry : parsed) {
    const auto config = entry.is_object() ? entry.find("Config") : entry.end();
    if (!entry.is_object() || config == entry.end() || !config->is_string()) {
      return absl::InvalidArgumentError("an image of its manifest.json has no Config");
    }
    // "<hex>.json" (Docker before 25), "blobs/sha256/<hex>" (an OCI layout).
    std::string hex = config->get<std::string>();
    hex = hex.substr(hex.rfind('/') + 1);
    if (absl::EndsWith(hex, ".json")) hex.resize(hex.size() - 5);
    if (hex.size() != 64 || !std::all_of(hex.begin(), hex.end(), [](char c) {
          return absl::ascii_isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
        })) {
      return absl::InvalidArgumentError(
          absl::StrCat("an image's Config in its manifest.json is not a digest: '",
                       config->get<std::string>(), "'"));
    }
    images.ids.push_back(absl::StrCat("sha256:", hex));
    const auto tags = entry.find("RepoTags");
    if (tags != entry.end() && tags->is_array()) {
      for (const nlohmann::json& tag : *tags) {
        if (tag.is_string()) images.repo_tags.push_back(tag.get<std::string>());
      }
    }
  }
  return images;
}

std::string NormalizeImageReference(absl::string_view reference) {
  if (absl::StrContains(reference, '@')) return std::string(reference);
  const size_t slash = reference.rfind('/');
  const size_t colon = reference.rfind(':');
  // A colon after the last slash is a tag; before it, a registry's port.
  if (colon != absl::string_view::npos && (slash == absl::string_view::npos || colon > slash)) {
    return std::string(reference);
  }
  return absl::StrCat(reference, ":latest");
}

}  // namespace bdcoord::cli
