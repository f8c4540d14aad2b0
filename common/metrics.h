// InfraKit's metrics: a small registry of counters, gauges and histograms with labels, and a
// renderer of the Prometheus text exposition format (version 0.0.4). Debian 12 packages no
// Prometheus client library; this is the one place InfraKit's exposition is produced.
//
//   Registry registry;
//   CounterFamily* calls = registry.AddCounter("infrakit_calls_total", "Calls made.", {"method"});
//   Counter* watch = calls->WithLabels({"Watch"});  // keep the pointer: no lookup afterwards
//   watch->Increment();
//   std::string text = registry.Render();
//
// A series (one label-value combination) is created on first use and lives as long as the
// registry, at a stable address; updating it is a few atomic operations and takes no lock.
// Values that are cheaper to read when scraped than to keep up to date (a group's size) come
// from collectors, called by Render().
//
// Thread-safe: every method may be called from any thread.
#ifndef INFRAKIT_COMMON_METRICS_H_
#define INFRAKIT_COMMON_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace infrakit::metrics {

// A value that only goes up (resets only when the process restarts).
class Counter {
 public:
  // Adds `v` (>= 0; a negative `v` is ignored, as counters never go down).
  void Increment(double v = 1);
  // The current value.
  double Value() const;

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  // Replaces the value.
  void Set(double v);
  // Adds `v` (may be negative).
  void Add(double v);
  // The current value.
  double Value() const;

 private:
  std::atomic<double> value_{0};
};

// Observations counted in buckets by upper bound, with their sum and count.
class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, strictly increasing, finite (the +Inf bucket is
  // implicit).
  explicit Histogram(const std::vector<double>* bounds);
  // Counts `v` in the first bucket whose bound is >= v (the +Inf bucket when none is).
  void Observe(double v);

  // A consistent-enough copy for rendering: per-bucket (not cumulative) counts, the +Inf
  // bucket's last; the sum; the count (the sum of the buckets).
  struct Snapshot {
    std::vector<uint64_t> buckets;
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double>* const bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_->size() + 1
  std::atomic<double> sum_{0};
};

// The default buckets of latency histograms, in seconds: 0.5 ms to 60 s.
const std::vector<double>& DefaultLatencyBuckets();

// A metric's series, one per combination of label values.
template <typename T>
class Family {
 public:
  // The series for `values` (one per label name, in the order the family was declared with),
  // created on first use. The pointer stays valid as long as the registry. A wrong number of
  // values is a programming error (CHECK).
  T* WithLabels(const std::vector<std::string>& values);

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}
  T* Create();
  // Calls fn(label_values, series) for each series in label-value order. Series are created,
  // never removed, and live at stable addresses: the pointers are copied under the lock and
  // read without it.
  template <typename Fn>
  void ForEachSeries(Fn fn) const {
    std::vector<std::pair<const std::vector<std::string>*, const T*>> series;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [values, s] : series_) series.emplace_back(&values, s.get());
    }
    for (const auto& [values, s] : series) fn(*values, *s);
  }

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // histograms only
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> series_ ABSL_GUARDED_BY(mu_);
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// What a collector reports: gauge samples, each with its label values (in the order of the
// collector's label names).
class GaugeSink {
 public:
  virtual ~GaugeSink() = default;
  // Adds a sample. Later samples with the same label values as an earlier one are dropped.
  virtual void Add(const std::vector<std::string>& label_values, double value) = 0;
};

// Called by Render() (on the rendering thread, holding no lock of the registry) to report a
// gauge's samples as they are now.
using GaugeCollector = std::function<void(GaugeSink* sink)>;

// The metrics of one process.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Declares a metric. Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
  // [a-zA-Z_][a-zA-Z0-9_]* (not starting with "__", and not "le" for a histogram), and a name
  // must not be declared twice: these are programming errors (CHECK). The family lives as long
  // as the registry.
  CounterFamily* AddCounter(const std::string& name, const std::string& help,
                            std::vector<std::string> label_names);
  GaugeFamily* AddGauge(const std::string& name, const std::string& help,
                        std::vector<std::string> label_names);
  // `bounds`: see Histogram (CHECKed: strictly increasing and finite).
  HistogramFamily* AddHistogram(const std::string& name, const std::string& help,
                                std::vector<std::string> label_names, std::vector<double> bounds);
  // A gauge whose samples `collect` reports at each Render(). Same rules for names.
  void AddCollectedGauge(const std::string& name, const std::string& help,
                         std::vector<std::string> label_names, GaugeCollector collect);

  // Calls `hook` at the start of each Render(), before any collector, holding no lock of the
  // registry: where collectors that report from one source take their common snapshot of it.
  void AddRenderHook(std::function<void()> hook);

  // The text exposition of every metric: families in name order, each with its # HELP and
  // # TYPE lines, then its series ordered by label values; a histogram's _bucket series
  // (cumulative, le="+Inf" last), _sum and _count. A family without series renders only its
  // HELP and TYPE lines.
  std::string Render() const;

 private:
  struct Entry;
  void CheckNewName(const std::string& name, const std::vector<std::string>& label_names,
                    bool histogram) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> hooks_ ABSL_GUARDED_BY(mu_);
};

// Text-format helpers, exposed for tests.
// A sample value: integers without a decimal point, "+Inf", "-Inf", "NaN", else the shortest
// decimal that reads back the same double.
std::string FormatValue(double v);
// A label value with \ " and newline escaped.
std::string EscapeLabelValue(absl::string_view v);
// HELP text with \ and newline escaped.
std::string EscapeHelp(absl::string_view v);

}  // namespace infrakit::metrics

#endif  // INFRAKIT_COMMON_METRICS_H_
