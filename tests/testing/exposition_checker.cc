#include "tests/testing/exposition_checker.h"

#include <cmath>
#include <cstdlib>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace infrakit::testing {
namespace {

bool ValidName(absl::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(absl::ascii_isalpha(c) || c == '_' || (allow_colon && c == ':') ||
          (i > 0 && absl::ascii_isdigit(c)))) {
      return false;
    }
  }
  return true;
}

bool ParseValue(absl::string_view s, double* v) {
  if (s == "+Inf" || s == "Inf") {
    *v = INFINITY;
  } else if (s == "-Inf") {
    *v = -INFINITY;
  } else if (s == "NaN") {
    *v = NAN;
  } else {
    return !s.empty() && absl::SimpleAtod(s, v) && std::isfinite(*v);
  }
  return true;
}

// Parses `{a="x",b="y"}` at the start of `rest` (advancing it past the closing brace).
absl::Status ParseLabels(absl::string_view* rest, std::map<std::string, std::string>* labels) {
  absl::string_view& s = *rest;
  s.remove_prefix(1);  // '{'
  while (!s.empty() && s.front() != '}') {
    const size_t eq = s.find('=');
    if (eq == absl::string_view::npos) return absl::InvalidArgumentError("label without '='");
    const std::string name(s.substr(0, eq));
    if (!ValidName(name, false)) return absl::InvalidArgumentError("bad label name " + name);
    s.remove_prefix(eq + 1);
    if (s.empty() || s.front() != '"') return absl::InvalidArgumentError("unquoted label value");
    s.remove_prefix(1);
    std::string value;
    while (!s.empty() && s.front() != '"') {
      if (s.front() == '\\') {
        if (s.size() < 2) return absl::InvalidArgumentError("dangling escape");
        const char e = s[1];
        if (e == 'n') {
          value += '\n';
        } else if (e == '\\' || e == '"') {
          value += e;
        } else {
          return absl::InvalidArgumentError(absl::StrCat("bad escape \\", std::string(1, e)));
        }
        s.remove_prefix(2);
      } else {
        if (s.front() == '\n') return absl::InvalidArgumentError("raw newline in label value");
        value += s.front();
        s.remove_prefix(1);
      }
    }
    if (s.empty()) return absl::InvalidArgumentError("unterminated label value");
    s.remove_prefix(1);  // closing quote
    if (!labels->emplace(name, std::move(value)).second) {
      return absl::InvalidArgumentError("label " + name + " twice");
    }
    if (!s.empty() && s.front() == ',') s.remove_prefix(1);
  }
  if (s.empty()) return absl::InvalidArgumentError("unterminated label set");
  s.remove_prefix(1);  // '}'
  return absl::OkStatus();
}

absl::StatusOr<Sample> ParseSample(absl::string_view line) {
  Sample sample;
  size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  sample.name = std::string(line.substr(0, i));
  if (!ValidName(sample.name, true)) {
    return absl::InvalidArgumentError("bad metric name \"" + sample.name + "\"");
  }
  absl::string_view rest = line.substr(i);
  if (!rest.empty() && rest.front() == '{') {
    if (absl::Status s = ParseLabels(&rest, &sample.labels); !s.ok()) return s;
  }
  if (rest.empty() || rest.front() != ' ') return absl::InvalidArgumentError("no value");
  const std::vector<absl::string_view> fields = absl::StrSplit(rest.substr(1), ' ');
  int64_t timestamp;
  if (fields.empty() || fields.size() > 2 || !ParseValue(fields[0], &sample.value) ||
      (fields.size() == 2 && !absl::SimpleAtoi(fields[1], &timestamp))) {
    return absl::InvalidArgumentError("bad value or timestamp");
  }
  return sample;
}

// The family a sample named `name` belongs to, given the family of the last TYPE line.
bool BelongsTo(const std::string& name, const std::string& family, const std::string& type) {
  if (name == family) return type != "histogram";
  if (type != "histogram" && type != "summary") return false;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    if (name == family + suffix && (type == "histogram" || std::string(suffix) != "_bucket")) {
      return true;
    }
  }
  return false;
}

std::string SeriesKey(const std::string& name, const std::map<std::string, std::string>& labels,
                      bool without_le = false) {
  std::string key = name + "{";
  for (const auto& [k, v] : labels) {
    if (without_le && k == "le") continue;
    absl::StrAppend(&key, k, "=", v, "\x1f");
  }
  return key + "}";
}

// The histogram rules for one family's samples.
absl::Status CheckHistogram(const std::string& family, const std::vector<Sample>& samples) {
  struct Series {
    std::vector<std::pair<double, double>> buckets;  // (le, count) in order of appearance
    bool has_sum = false;
    bool has_count = false;
    double count = 0;
  };
  std::map<std::string, Series> series;
  for (const Sample& s : samples) {
    Series& h = series[SeriesKey(family, s.labels, true)];
    if (s.name == family + "_bucket") {
      auto le = s.labels.find("le");
      double bound;
      if (le == s.labels.end() || !ParseValue(le->second, &bound)) {
        return absl::InvalidArgumentError(family + "_bucket without a valid le label");
      }
      h.buckets.emplace_back(bound, s.value);
    } else if (s.name == family + "_sum") {
      h.has_sum = true;
    } else {
      h.has_count = true;
      h.count = s.value;
    }
  }
  for (const auto& [key, h] : series) {
    if (!h.has_sum || !h.has_count || h.buckets.empty()) {
      return absl::InvalidArgumentError(key + ": a histogram needs _bucket, _sum and _count");
    }
    for (size_t i = 1; i < h.buckets.size(); ++i) {
      if (!(h.buckets[i].first > h.buckets[i - 1].first) ||
          h.buckets[i].second < h.buckets[i - 1].second) {
        return absl::InvalidArgumentError(key + ": buckets out of order or not cumulative");
      }
    }
    if (!std::isinf(h.buckets.back().first) || h.buckets.back().second != h.count) {
      return absl::InvalidArgumentError(key + ": the le=\"+Inf\" bucket must equal _count");
    }
  }
  return absl::OkStatus();
}

}  // namespace

double Exposition::Sum(absl::string_view name,
                       const std::map<std::string, std::string>& labels) const {
  double sum = 0;
  for (const Sample& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      match = match && it != s.labels.end() && it->second == v;
    }
    if (match) sum += s.value;
  }
  return sum;
}

int Exposition::Count(absl::string_view name,
                      const std::map<std::string, std::string>& labels) const {
  int n = 0;
  for (const Sample& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      match = match && it != s.labels.end() && it->second == v;
    }
    n += match ? 1 : 0;
  }
  return n;
}

absl::StatusOr<Exposition> ParseExposition(absl::string_view text) {
  Exposition out;
  if (!text.empty() && text.back() != '\n') {
    return absl::InvalidArgumentError("the last line does not end with \\n");
  }
  std::set<std::string> helped, series;
  std::string family, type;
  std::map<std::string, std::vector<Sample>> histograms;
  int n = 0;
  for (absl::string_view line :
       absl::StrSplit(text.substr(0, text.size() ? text.size() - 1 : 0), '\n')) {
    ++n;
    auto error = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("line ", n, " \"", line, "\": ", why));
    };
    if (text.empty()) break;
    if (absl::StartsWith(line, "# HELP ") || absl::StartsWith(line, "# TYPE ")) {
      const std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(' ', 3));
      if (parts.size() < 3 || !ValidName(parts[2], true)) return error("bad metric name");
      if (parts[1] == "HELP") {
        if (!helped.insert(parts[2]).second) return error("second HELP");
        const std::string help = parts.size() > 3 ? parts[3] : "";
        for (size_t i = 0; i < help.size(); ++i) {
          if (help[i] != '\\') continue;
          if (i + 1 >= help.size() || (help[i + 1] != '\\' && help[i + 1] != 'n')) {
            return error("bad escape in HELP");
          }
          ++i;
        }
        continue;
      }
      static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                   "untyped"};
      if (parts.size() != 4 || !kTypes.count(parts[3])) return error("bad TYPE");
      if (out.types.count(parts[2])) return error("second TYPE");
      family = parts[2];
      type = parts[3];
      out.types[family] = type;
      continue;
    }
    if (absl::StartsWith(line, "#")) continue;  // other comments are allowed
    absl::StatusOr<Sample> sample = ParseSample(line);
    if (!sample.ok()) return error(sample.status().message());
    if (family.empty() || !BelongsTo(sample->name, family, type)) {
      return error("sample outside its family (no TYPE, or families interleaved)");
    }
    if (!series.insert(SeriesKey(sample->name, sample->labels)).second) {
      return error("duplicate series");
    }
    if (type == "counter" && !(sample->value >= 0)) return error("negative counter");
    if (type == "histogram") histograms[family].push_back(*sample);
    out.samples.push_back(*std::move(sample));
  }
  for (const auto& [name, samples] : histograms) {
    if (absl::Status s = CheckHistogram(name, samples); !s.ok()) return s;
  }
  return out;
}

}  // namespace infrakit::testing
