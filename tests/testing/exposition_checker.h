// Reading a Prometheus text exposition in tests: checks it against the text format's rules and
// returns its samples, so that a test can both prove a page well formed and read values off it.
#ifndef INFRAKIT_TESTS_TESTING_EXPOSITION_CHECKER_H_
#define INFRAKIT_TESTS_TESTING_EXPOSITION_CHECKER_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace infrakit::testing {

// One sample line: its metric name, labels (unescaped) and value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// A parsed exposition.
struct Exposition {
  std::vector<Sample> samples;
  // Family name -> its TYPE ("counter", "gauge", "histogram", ...).
  std::map<std::string, std::string> types;

  // The sum of the values of the samples named `name` whose labels include all of `labels`
  // (0 when there are none).
  double Sum(absl::string_view name, const std::map<std::string, std::string>& labels = {}) const;
  // How many samples are named `name` and have all of `labels`.
  int Count(absl::string_view name, const std::map<std::string, std::string>& labels = {}) const;
};

// Parses `text`, checking the text format's rules: every line ends with "\n"; comments are
// "# HELP name text" (text escapes only \\ and \n) and "# TYPE name type", at most one of each per
// family, TYPE before the family's samples; a sample line is name[{labels}] value [timestamp]
// with valid metric and label names, label values escaping only \\ \" \n, no label twice;
// every sample belongs to the family of the last TYPE line (histograms: name_bucket, name_sum,
// name_count), and a family's samples are together; no series (name + labels) appears twice;
// counters are >= 0; each histogram series has le buckets in increasing order with
// non-decreasing counts, a le="+Inf" bucket equal to its _count, and a _sum. Errors:
// INVALID_ARGUMENT naming the line and the rule broken.
absl::StatusOr<Exposition> ParseExposition(absl::string_view text);

}  // namespace infrakit::testing

#endif  // INFRAKIT_TESTS_TESTING_EXPOSITION_CHECKER_H_
