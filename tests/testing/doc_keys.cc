#include "tests/testing/doc_keys.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace infrakit::testing {
namespace {

constexpr absl::string_view kMarkerStart = "<!-- keys:";
constexpr absl::string_view kMarkerEnd = "-->";

absl::Status Invalid(size_t line, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", problem));
}

// The sections a marker line names; `*is_marker` says whether the line is a marker at all.
std::vector<std::string> MarkerSections(absl::string_view line, bool* is_marker) {
  line = absl::StripAsciiWhitespace(line);
  *is_marker = absl::ConsumePrefix(&line, kMarkerStart) && absl::ConsumeSuffix(&line, kMarkerEnd);
  if (!*is_marker) return {};
  return absl::StrSplit(line, ' ', absl::SkipWhitespace());
}

// The backticked words of a table row's first cell.
std::vector<std::string> FirstCellKeys(absl::string_view row) {
  absl::ConsumePrefix(&row, "|");
  const absl::string_view cell = row.substr(0, row.find('|'));
  std::vector<std::string> keys;
  std::vector<absl::string_view> parts = absl::StrSplit(cell, '`');
  // Odd parts are between backticks.
  for (size_t i = 1; i < parts.size(); i += 2) {
    if (!parts[i].empty()) keys.emplace_back(parts[i]);
  }
  return keys;
}

bool IsSeparatorRow(absl::string_view row) {
  return row.find_first_not_of("|-: ") == absl::string_view::npos;
}

bool ContainsKey(const std::vector<std::string>& keys, absl::string_view key) {
  return std::any_of(keys.begin(), keys.end(),
                     [&](const std::string& k) { return absl::EqualsIgnoreCase(k, key); });
}

}  // namespace

absl::StatusOr<KeyTables> DocumentedKeys(absl::string_view markdown) {
  const std::vector<absl::string_view> lines = absl::StrSplit(markdown, '\n');
  KeyTables tables;
  for (size_t i = 0; i < lines.size(); ++i) {
    bool is_marker = false;
    const std::vector<std::string> sections = MarkerSections(lines[i], &is_marker);
    if (!is_marker) continue;
    const size_t marker_line = i + 1;
    if (sections.empty()) return Invalid(marker_line, "the keys marker names no section");
    size_t row = i + 1;
    while (row < lines.size() && absl::StripAsciiWhitespace(lines[row]).empty()) ++row;
    if (row >= lines.size() || !absl::StartsWith(lines[row], "|")) {
      return Invalid(marker_line, "the keys marker is not followed by a table");
    }
    std::vector<std::string> keys;
    // The first row is the table's header, the second its separator.
    for (++row; row < lines.size() && absl::StartsWith(lines[row], "|"); ++row) {
      if (IsSeparatorRow(lines[row])) continue;
      std::vector<std::string> row_keys = FirstCellKeys(lines[row]);
      if (row_keys.empty()) return Invalid(row + 1, "a key table's row names no `key`");
      keys.insert(keys.end(), row_keys.begin(), row_keys.end());
    }
    for (const std::string& section : sections) {
      if (!tables.emplace(section, keys).second) {
        return Invalid(marker_line, absl::StrCat("section \"", section, "\" has two tables"));
      }
    }
    i = row - 1;
  }
  return tables;
}

KeyTables SectionsOf(const KeyTables& tables, absl::string_view name) {
  KeyTables out;
  for (const auto& [section, keys] : tables) {
    absl::string_view path = section;
    if (!absl::ConsumePrefix(&path, name)) continue;
    if (path.empty() || absl::ConsumePrefix(&path, ".")) out.emplace(std::string(path), keys);
  }
  return out;
}

std::vector<std::string> CompareKeys(const KeyTables& documented, const KeyTables& accepted) {
  std::vector<std::string> problems;
  for (const auto& [section, keys] : accepted) {
    auto it = documented.find(section);
    if (it == documented.end()) {
      problems.push_back(absl::StrCat(section, ": accepted but has no key table"));
      continue;
    }
    for (const std::string& key : keys) {
      if (!ContainsKey(it->second, key)) {
        problems.push_back(absl::StrCat(section, ": ", key, " is accepted but not documented"));
      }
    }
  }
  for (const auto& [section, keys] : documented) {
    auto it = accepted.find(section);
    if (it == accepted.end()) {
      problems.push_back(
          absl::StrCat(section, ": has a key table but is no section of the parser"));
      continue;
    }
    for (const std::string& key : keys) {
      if (!ContainsKey(it->second, key)) {
        problems.push_back(absl::StrCat(section, ": ", key, " is documented but not accepted"));
      }
    }
  }
  return problems;
}

std::vector<std::string> KeyProblemsIn(const std::string& path, absl::string_view name,
                                       const KeyTables& accepted) {
  std::ifstream in(path);
  if (!in.good()) return {absl::StrCat(path, ": cannot be read")};
  std::ostringstream text;
  text << in.rdbuf();
  absl::StatusOr<KeyTables> tables = DocumentedKeys(text.str());
  if (!tables.ok()) return {absl::StrCat(path, ": ", tables.status().ToString())};
  return CompareKeys(SectionsOf(*tables, name), accepted);
}

}  // namespace infrakit::testing
