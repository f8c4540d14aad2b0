// Holding a Markdown reference to the key lists of the parsers it documents.
//
// A key table is a Markdown table right after a line `<!-- keys: SECTION [SECTION...] -->`
// (invisible once rendered). Each row's first cell holds the keys it documents, in backticks;
// several in one cell ("`UserData` or `Init`", "`ID` (`id`)") are all keys of that row. Every
// SECTION named by the marker gets the keys of the table.
#ifndef INFRAKIT_TESTS_TESTING_DOC_KEYS_H_
#define INFRAKIT_TESTS_TESTING_DOC_KEYS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace infrakit::testing {

// Section -> its keys, in the order of the document.
using KeyTables = std::map<std::string, std::vector<std::string>>;

// The key tables of `markdown`. INVALID_ARGUMENT (naming the line) for a marker with no
// section, a marker not followed by a table (blank lines between are allowed), a table row
// whose first cell holds no key, or a section given two tables. Thread-safe (pure).
absl::StatusOr<KeyTables> DocumentedKeys(absl::string_view markdown);

// The sections of `tables` that belong to `name`, renamed to the parser's own paths: `name`
// becomes "" and "name.Path" becomes "Path"; other sections are left out. Thread-safe (pure).
KeyTables SectionsOf(const KeyTables& tables, absl::string_view name);

// What is wrong with `documented` against `accepted` (what a parser accepts, section -> keys),
// one line per problem, e.g. "Properties.Update: MaxSurge is accepted but not documented" or
// "HealthCheck: Retries is documented but not accepted"; sections missing on either side are
// problems too. Keys are compared case-insensitively (the parsers match keys that way). Empty
// when the two agree. Thread-safe (pure).
std::vector<std::string> CompareKeys(const KeyTables& documented, const KeyTables& accepted);

// CompareKeys of the sections of `name` in the Markdown file at `path` against `accepted`; a
// file that cannot be read or whose tables do not parse is a problem too. Thread-safe.
std::vector<std::string> KeyProblemsIn(const std::string& path, absl::string_view name,
                                       const KeyTables& accepted);

}  // namespace infrakit::testing

#endif  // INFRAKIT_TESTS_TESTING_DOC_KEYS_H_
