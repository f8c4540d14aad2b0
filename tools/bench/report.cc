#include "tools/bench/report.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace infrakit::tools::bench {
namespace {

// Enough digits to read, few enough to scan: 3 significant figures, at least the units.
std::string FormatNumber(double value) {
  const double magnitude = std::fabs(value);
  if (magnitude >= 100 || value == std::floor(value)) return absl::StrFormat("%.0f", value);
  if (magnitude >= 10) return absl::StrFormat("%.1f", value);
  if (magnitude >= 1) return absl::StrFormat("%.2f", value);
  return absl::StrFormat("%.3f", value);
}

std::string WithUnit(double value, const std::string& unit) {
  return unit.empty() ? FormatNumber(value) : absl::StrCat(FormatNumber(value), " ", unit);
}

std::string Pad(const std::string& text, size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

google::protobuf::Value StringValue(std::string s) {
  google::protobuf::Value v;
  v.set_string_value(std::move(s));
  return v;
}

google::protobuf::Value NumberValue(double d) {
  google::protobuf::Value v;
  v.set_number_value(d);
  return v;
}

google::protobuf::Value NullValue() {
  google::protobuf::Value v;
  v.set_null_value(google::protobuf::NULL_VALUE);
  return v;
}

}  // namespace

std::string Row::Verdict() const {
  if (!limit.has_value()) return "-";
  if (!value.has_value()) return "MISS";
  return (at_least ? *value >= *limit : *value <= *limit) ? "PASS" : "MISS";
}

Report MergeRuns(const std::vector<Report>& runs) {
  Report merged;
  if (runs.empty()) return merged;
  merged.SetContext(runs.front().command_, runs.front().machine_);
  merged.context_ = runs.front().context_;
  for (size_t i = 0; i < runs.size(); ++i) {
    merged.context_.push_back(absl::StrCat(
        "run ", i + 1, " of ", runs.size(), ": load average (1 min) ",
        FormatNumber(runs[i].machine_.load1), " at start, ",
        runs[i].end_load1_ >= 0 ? FormatNumber(runs[i].end_load1_) : "unknown", " at end"));
  }
  merged.end_load1_ = runs.back().end_load1_;
  // Rows by (section, metric), in the order they first appear in any run.
  std::vector<Row> rows;
  for (const Report& run : runs) {
    for (const Row& row : run.rows_) {
      auto it = std::find_if(rows.begin(), rows.end(), [&](const Row& r) {
        return r.section == row.section && r.metric == row.metric;
      });
      if (it == rows.end()) {
        rows.push_back(row);
        rows.back().runs.clear();
        rows.back().value.reset();
        it = rows.end() - 1;
      }
      if (row.value.has_value()) {
        // The note of the first run that measured it (a failure's note gives way).
        if (it->runs.empty()) it->note = row.note;
        it->runs.push_back(*row.value);
      }
    }
  }
  for (Row& row : rows) {
    if (row.runs.empty()) {
      merged.Add(std::move(row));
      continue;
    }
    std::vector<double> sorted = row.runs;
    std::sort(sorted.begin(), sorted.end());
    row.value = sorted[sorted.size() / 2];
    const std::string spread =
        absl::StrCat(FormatNumber(sorted.front()), "-", FormatNumber(sorted.back()), " over ",
                     sorted.size(), sorted.size() == 1 ? " run" : " runs");
    row.note = row.note.empty() ? spread : absl::StrCat(spread, "; ", row.note);
    merged.Add(std::move(row));
  }
  return merged;
}

double InUnit(absl::Duration d, const std::string& unit) {
  if (unit == "ns") return absl::ToDoubleNanoseconds(d);
  if (unit == "us") return absl::ToDoubleMicroseconds(d);
  if (unit == "ms") return absl::ToDoubleMilliseconds(d);
  return absl::ToDoubleSeconds(d);
}

void Report::SetContext(std::string command, MachineInfo machine) {
  command_ = std::move(command);
  machine_ = std::move(machine);
}

void Report::Add(Row row) { rows_.push_back(std::move(row)); }

void Report::AddDuration(std::string section, std::string metric, absl::Duration value,
                         std::string unit, std::optional<absl::Duration> limit, std::string note) {
  Row row;
  row.section = std::move(section);
  row.metric = std::move(metric);
  row.value = InUnit(value, unit);
  if (limit.has_value()) row.limit = InUnit(*limit, unit);
  row.unit = std::move(unit);
  row.note = std::move(note);
  Add(std::move(row));
}

void Report::AddFailure(std::string section, std::string metric, std::string unit,
                        std::optional<double> limit, const absl::Status& error) {
  Row row;
  row.section = std::move(section);
  row.metric = std::move(metric);
  row.unit = std::move(unit);
  row.limit = limit;
  row.note = error.ToString();
  Add(std::move(row));
}

int Report::targets() const {
  return static_cast<int>(
      std::count_if(rows_.begin(), rows_.end(), [](const Row& r) { return r.limit.has_value(); }));
}

int Report::passed() const {
  return static_cast<int>(std::count_if(rows_.begin(), rows_.end(),
                                        [](const Row& r) { return r.Verdict() == "PASS"; }));
}

std::string Report::Table() const {
  std::string out = absl::StrCat(
      "machine: ", machine_.cpus, " CPUs, ", machine_.cpu_model, ", ", machine_.kernel, ", ",
      FormatNumber(static_cast<double>(machine_.memory_kib) / (1024 * 1024)), " GiB RAM\n",
      "load average (1 min): ", FormatNumber(machine_.load1), " at start",
      end_load1_ >= 0 ? absl::StrCat(", ", FormatNumber(end_load1_), " at end") : "", "\n",
      "command: ", command_, "\n");
  for (const std::string& line : context_) absl::StrAppend(&out, line, "\n");
  absl::StrAppend(&out, "\n");
  struct Cells {
    std::string section, metric, value, target, verdict, note;
  };
  std::vector<Cells> cells;
  cells.push_back({"section", "metric", "value", "target", "result", ""});
  for (const Row& row : rows_) {
    Cells c;
    c.section = row.section;
    c.metric = row.metric;
    c.value = row.value.has_value() ? WithUnit(*row.value, row.unit) : "error";
    c.target = row.limit.has_value()
                   ? absl::StrCat(row.at_least ? ">= " : "<= ", WithUnit(*row.limit, row.unit))
                   : "-";
    c.verdict = row.Verdict();
    c.note = row.note;
    cells.push_back(std::move(c));
  }
  size_t w[5] = {0, 0, 0, 0, 0};
  for (const Cells& c : cells) {
    w[0] = std::max(w[0], c.section.size());
    w[1] = std::max(w[1], c.metric.size());
    w[2] = std::max(w[2], c.value.size());
    w[3] = std::max(w[3], c.target.size());
    w[4] = std::max(w[4], c.verdict.size());
  }
  for (const Cells& c : cells) {
    std::string line = absl::StrCat(Pad(c.section, w[0] + 2), Pad(c.metric, w[1] + 2),
                                    Pad(c.value, w[2] + 2), Pad(c.target, w[3] + 2),
                                    c.note.empty() ? c.verdict : Pad(c.verdict, w[4] + 2), c.note);
    absl::StrAppend(&out, line, "\n");
  }
  absl::StrAppend(&out, "\ntargets: ", passed(), " of ", targets(), " passed\n");
  return out;
}

std::string Report::Json() const {
  google::protobuf::Struct root;
  auto& fields = *root.mutable_fields();
  fields["command"] = StringValue(command_);
  google::protobuf::Value machine;
  auto& m = *machine.mutable_struct_value()->mutable_fields();
  m["cpus"] = NumberValue(machine_.cpus);
  m["cpu_model"] = StringValue(machine_.cpu_model);
  m["kernel"] = StringValue(machine_.kernel);
  m["memory_kib"] = NumberValue(static_cast<double>(machine_.memory_kib));
  m["load1_start"] = NumberValue(machine_.load1);
  m["load5_start"] = NumberValue(machine_.load5);
  m["load15_start"] = NumberValue(machine_.load15);
  m["load1_end"] = end_load1_ >= 0 ? NumberValue(end_load1_) : NullValue();
  fields["machine"] = std::move(machine);
  google::protobuf::Value context;
  context.mutable_list_value();
  for (const std::string& line : context_) {
    *context.mutable_list_value()->add_values() = StringValue(line);
  }
  fields["context"] = std::move(context);
  google::protobuf::Value rows;
  for (const Row& row : rows_) {
    google::protobuf::Value item;
    auto& r = *item.mutable_struct_value()->mutable_fields();
    r["section"] = StringValue(row.section);
    r["metric"] = StringValue(row.metric);
    r["value"] = row.value.has_value() ? NumberValue(*row.value) : NullValue();
    r["unit"] = StringValue(row.unit);
    r["limit"] = row.limit.has_value() ? NumberValue(*row.limit) : NullValue();
    r["comparison"] = StringValue(!row.limit.has_value() ? "" : row.at_least ? ">=" : "<=");
    r["verdict"] = StringValue(row.Verdict());
    r["note"] = StringValue(row.note);
    if (!row.runs.empty()) {
      google::protobuf::Value values;
      values.mutable_list_value();
      for (double v : row.runs) *values.mutable_list_value()->add_values() = NumberValue(v);
      r["runs"] = std::move(values);
    }
    *rows.mutable_list_value()->add_values() = std::move(item);
  }
  fields["rows"] = std::move(rows);
  fields["targets"] = NumberValue(targets());
  fields["passed"] = NumberValue(passed());
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  // A Struct built here always converts.
  (void)google::protobuf::util::MessageToJsonString(root, &json, options);
  return json;
}

}  // namespace infrakit::tools::bench
