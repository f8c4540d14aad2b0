#include "common/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace infrakit::metrics {
namespace {

// Adds `v` to an atomic double (C++17 has no fetch_add for floating point).
void AtomicAdd(std::atomic<double>* a, double v) {
  double old = a->load(std::memory_order_relaxed);
  while (!a->compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
  }
}

bool ValidName(absl::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = absl::ascii_isalpha(c) || c == '_' || (allow_colon && c == ':') ||
                    (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

// `{a="x",b="y"}` for the names and values (and `extra` appended, e.g. `le="0.5"`); empty when
// there are none.
std::string LabelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     absl::string_view extra = "") {
  if (names.empty() && extra.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ",";
    absl::StrAppend(&out, names[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (!extra.empty()) absl::StrAppend(&out, names.empty() ? "" : ",", extra);
  out += "}";
  return out;
}

// Collects a collector's samples, keeping the first of each label-value combination.
class MapGaugeSink : public GaugeSink {
 public:
  explicit MapGaugeSink(size_t label_count) : label_count_(label_count) {}
  void Add(const std::vector<std::string>& label_values, double value) override {
    if (label_values.size() != label_count_) {
      LOG(DFATAL) << "metrics: a collector reported " << label_values.size() << " label values for "
                  << label_count_ << " labels";
      return;
    }
    samples_.emplace(label_values, value);
  }
  const std::map<std::vector<std::string>, double>& samples() const { return samples_; }

 private:
  const size_t label_count_;
  std::map<std::vector<std::string>, double> samples_;
};

}  // namespace

void Counter::Increment(double v) {
  if (!(v >= 0)) return;  // also drops NaN
  AtomicAdd(&value_, v);
}

double Counter::Value() const { return value_.load(std::memory_order_relaxed); }

void Gauge::Set(double v) { value_.store(v, std::memory_order_relaxed); }

void Gauge::Add(double v) { AtomicAdd(&value_, v); }

double Gauge::Value() const { return value_.load(std::memory_order_relaxed); }

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_->size() && v > (*bounds_)[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(&sum_, v);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.buckets.resize(bounds_->size() + 1);
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    s.buckets[i] = counts_[i].load(std::memory_order_relaxed);
    s.count += s.buckets[i];
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

const std::vector<double>& DefaultLatencyBuckets() {
  static const std::vector<double>* const kBuckets = new std::vector<double>{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return *kBuckets;
}

template <typename T>
T* Family<T>::WithLabels(const std::vector<std::string>& values) {
  CHECK_EQ(values.size(), label_names_.size()) << "metric " << name_ << ": wrong label count";
  absl::MutexLock lock(&mu_);
  std::unique_ptr<T>& series = series_[values];
  if (series == nullptr) series = std::unique_ptr<T>(Create());
  return series.get();
}

template <>
Counter* Family<Counter>::Create() {
  return new Counter();
}
template <>
Gauge* Family<Gauge>::Create() {
  return new Gauge();
}
template <>
Histogram* Family<Histogram>::Create() {
  return new Histogram(&bounds_);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// One declared metric: exactly one of the families or the collector is set.
struct Registry::Entry {
  std::string type;  // "counter", "gauge" or "histogram"
  std::unique_ptr<CounterFamily> counters;
  std::unique_ptr<GaugeFamily> gauges;
  std::unique_ptr<HistogramFamily> histograms;
  std::string help;                      // collected gauges only
  std::vector<std::string> label_names;  // collected gauges only
  GaugeCollector collect;
};

Registry::Registry() = default;

Registry::~Registry() = default;

void Registry::CheckNewName(const std::string& name, const std::vector<std::string>& label_names,
                            bool histogram) {
  CHECK(ValidName(name, /*allow_colon=*/true)) << "bad metric name \"" << name << "\"";
  CHECK(entries_.find(name) == entries_.end()) << "metric " << name << " declared twice";
  for (const std::string& label : label_names) {
    CHECK(ValidName(label, /*allow_colon=*/false) && label.rfind("__", 0) != 0 &&
          !(histogram && label == "le"))
        << "metric " << name << ": bad label name \"" << label << "\"";
  }
}

CounterFamily* Registry::AddCounter(const std::string& name, const std::string& help,
                                    std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  CheckNewName(name, label_names, false);
  auto entry = std::make_unique<Entry>();
  entry->type = "counter";
  entry->counters.reset(new CounterFamily(name, help, std::move(label_names)));
  CounterFamily* family = entry->counters.get();
  entries_[name] = std::move(entry);
  return family;
}

GaugeFamily* Registry::AddGauge(const std::string& name, const std::string& help,
                                std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  CheckNewName(name, label_names, false);
  auto entry = std::make_unique<Entry>();
  entry->type = "gauge";
  entry->gauges.reset(new GaugeFamily(name, help, std::move(label_names)));
  GaugeFamily* family = entry->gauges.get();
  entries_[name] = std::move(entry);
  return family;
}

HistogramFamily* Registry::AddHistogram(const std::string& name, const std::string& help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    CHECK(std::isfinite(bounds[i]) && (i == 0 || bounds[i] > bounds[i - 1]))
        << "metric " << name << ": bucket bounds must be finite and strictly increasing";
  }
  absl::MutexLock lock(&mu_);
  CheckNewName(name, label_names, true);
  auto entry = std::make_unique<Entry>();
  entry->type = "histogram";
  entry->histograms.reset(
      new HistogramFamily(name, help, std::move(label_names), std::move(bounds)));
  HistogramFamily* family = entry->histograms.get();
  entries_[name] = std::move(entry);
  return family;
}

void Registry::AddCollectedGauge(const std::string& name, const std::string& help,
                                 std::vector<std::string> label_names, GaugeCollector collect) {
  absl::MutexLock lock(&mu_);
  CheckNewName(name, label_names, false);
  auto entry = std::make_unique<Entry>();
  entry->type = "gauge";
  entry->help = help;
  entry->label_names = std::move(label_names);
  entry->collect = std::move(collect);
  entries_[name] = std::move(entry);
}

namespace {

void RenderHeader(std::string* out, const std::string& name, absl::string_view help,
                  absl::string_view type) {
  absl::StrAppend(out, "# HELP ", name, " ", EscapeHelp(help), "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace

void Registry::AddRenderHook(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  hooks_.push_back(std::move(hook));
}

std::string Registry::Render() const {
  // Entries are never removed: their pointers stay valid once the registry's lock is dropped,
  // which it is before any hook or collector runs.
  std::vector<std::pair<std::string, const Entry*>> entries;
  std::vector<std::function<void()>> hooks;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, entry] : entries_) entries.emplace_back(name, entry.get());
    hooks = hooks_;
  }
  for (const auto& hook : hooks) hook();
  std::string out;
  for (const auto& [name, entry] : entries) {
    if (entry->counters != nullptr) {
      RenderHeader(&out, name, entry->counters->help_, entry->type);
      const auto& labels = entry->counters->label_names_;
      entry->counters->ForEachSeries([&](const std::vector<std::string>& v, const Counter& c) {
        absl::StrAppend(&out, name, LabelSet(labels, v), " ", FormatValue(c.Value()), "\n");
      });
    } else if (entry->gauges != nullptr) {
      RenderHeader(&out, name, entry->gauges->help_, entry->type);
      const auto& labels = entry->gauges->label_names_;
      entry->gauges->ForEachSeries([&](const std::vector<std::string>& v, const Gauge& g) {
        absl::StrAppend(&out, name, LabelSet(labels, v), " ", FormatValue(g.Value()), "\n");
      });
    } else if (entry->histograms != nullptr) {
      const HistogramFamily& family = *entry->histograms;
      RenderHeader(&out, name, family.help_, entry->type);
      family.ForEachSeries([&](const std::vector<std::string>& v, const Histogram& h) {
        const Histogram::Snapshot s = h.Read();
        uint64_t cumulative = 0;
        for (size_t i = 0; i < s.buckets.size(); ++i) {
          cumulative += s.buckets[i];
          const std::string le = i < family.bounds_.size()
                                     ? absl::StrCat("le=\"", FormatValue(family.bounds_[i]), "\"")
                                     : std::string("le=\"+Inf\"");
          absl::StrAppend(&out, name, "_bucket", LabelSet(family.label_names_, v, le), " ",
                          cumulative, "\n");
        }
        absl::StrAppend(&out, name, "_sum", LabelSet(family.label_names_, v), " ",
                        FormatValue(s.sum), "\n", name, "_count", LabelSet(family.label_names_, v),
                        " ", s.count, "\n");
      });
    } else {
      RenderHeader(&out, name, entry->help, entry->type);
      MapGaugeSink sink(entry->label_names.size());
      entry->collect(&sink);
      for (const auto& [values, value] : sink.samples()) {
        absl::StrAppend(&out, name, LabelSet(entry->label_names, values), " ", FormatValue(value),
                        "\n");
      }
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string EscapeLabelValue(absl::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EscapeHelp(absl::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace infrakit::metrics
