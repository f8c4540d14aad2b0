// A map from string keys to immutable values, ordered by key, whose snapshots cost O(1): what a
// writer under its own lock keeps in step with its state so that readers get a consistent copy
// without that lock and without copying it (the group service's published members, instance-file's
// index for Describe).
//
// Entries live in leaves of up to kMaxLeaf entries under one root vector; a snapshot shares the
// root. A write copies only what a snapshot still shares: the root vector (one pointer per leaf)
// and the one leaf it changes, so O(n / leaf + leaf) at worst and in place when nothing is
// shared. Values are shared_ptrs to const: never copied.
//
// Threading: the map itself is thread-compatible (one writer at a time, e.g. under the owner's
// lock). A Snapshot never changes and may be read by any number of threads, without any lock,
// while the map goes on being written.
#ifndef INFRAKIT_COMMON_COW_SORTED_MAP_H_
#define INFRAKIT_COMMON_COW_SORTED_MAP_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace infrakit::common {

template <typename V>
class CowSortedMap {
 public:
  using Value = std::shared_ptr<const V>;
  struct Entry {
    std::string key;
    Value value;
  };

  // Entries per leaf: a leaf that grows past kMaxLeaf splits in two; one that shrinks below
  // kMinLeaf merges with a neighbour when both fit in one.
  static constexpr size_t kMaxLeaf = 128;
  static constexpr size_t kMinLeaf = 16;

  // The map as it was when snapshot() was called.
  class Snapshot {
   public:
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    // The value of `key`; null when absent. O(log n).
    Value Find(absl::string_view key) const {
      const size_t i = LeafFor(key);
      if (i == leaves_.size()) return nullptr;
      const auto& entries = leaves_[i]->entries;
      auto it = LowerBound(entries, key);
      return it != entries.end() && it->key == key ? it->value : nullptr;
    }

    // Calls fn(entry) for each entry whose key is above `after` (every entry when `after` is
    // empty), in key order, until fn returns false. O(log n) to start, then O(1) per entry.
    template <typename Fn>
    void ForEachAfter(absl::string_view after, Fn fn) const {
      size_t i = after.empty() ? 0 : LeafAbove(after);
      for (; i < leaves_.size(); ++i) {
        const auto& entries = leaves_[i]->entries;
        auto it = after.empty() ? entries.begin()
                                : std::upper_bound(entries.begin(), entries.end(), after,
                                                   [](absl::string_view k, const Entry& e) {
                                                     return k < absl::string_view(e.key);
                                                   });
        for (; it != entries.end(); ++it) {
          if (!fn(*it)) return;
        }
      }
    }
    template <typename Fn>
    void ForEach(Fn fn) const {
      ForEachAfter("", std::move(fn));
    }

   private:
    friend class CowSortedMap;
    struct Leaf {
      std::vector<Entry> entries;  // sorted by key, never empty
    };

    static typename std::vector<Entry>::const_iterator LowerBound(const std::vector<Entry>& entries,
                                                                  absl::string_view key) {
      return std::lower_bound(
          entries.begin(), entries.end(), key,
          [](const Entry& e, absl::string_view k) { return absl::string_view(e.key) < k; });
    }
    // The first leaf whose last key is >= key (leaves_.size() when none).
    size_t LeafFor(absl::string_view key) const {
      return std::lower_bound(leaves_.begin(), leaves_.end(), key,
                              [](const std::shared_ptr<Leaf>& leaf, absl::string_view k) {
                                return absl::string_view(leaf->entries.back().key) < k;
                              }) -
             leaves_.begin();
    }
    // The first leaf whose last key is > key.
    size_t LeafAbove(absl::string_view key) const {
      return std::upper_bound(leaves_.begin(), leaves_.end(), key,
                              [](absl::string_view k, const std::shared_ptr<Leaf>& leaf) {
                                return k < absl::string_view(leaf->entries.back().key);
                              }) -
             leaves_.begin();
    }

    std::vector<std::shared_ptr<Leaf>> leaves_;
    size_t size_ = 0;
  };

  CowSortedMap() : root_(std::make_shared<Snapshot>()) {}

  // The map now, shared until the next write changes what it shares. O(1).
  std::shared_ptr<const Snapshot> snapshot() const { return root_; }
  size_t size() const { return root_->size_; }
  Value Find(absl::string_view key) const { return root_->Find(key); }

  // Sets `key` to `value` (inserting it or replacing its value).
  void Set(absl::string_view key, Value value) {
    Snapshot& root = MutableRoot();
    if (root.leaves_.empty()) {
      root.leaves_.push_back(std::make_shared<typename Snapshot::Leaf>());
      root.leaves_[0]->entries.push_back(Entry{std::string(key), std::move(value)});
      root.size_ = 1;
      return;
    }
    size_t i = root.LeafFor(key);
    if (i == root.leaves_.size()) i = root.leaves_.size() - 1;  // above every key: the last
    auto& entries = MutableLeaf(root, i).entries;
    auto it = std::lower_bound(
        entries.begin(), entries.end(), key,
        [](const Entry& e, absl::string_view k) { return absl::string_view(e.key) < k; });
    if (it != entries.end() && it->key == key) {
      it->value = std::move(value);
      return;
    }
    entries.insert(it, Entry{std::string(key), std::move(value)});
    ++root.size_;
    if (entries.size() > kMaxLeaf) {
      auto upper = std::make_shared<typename Snapshot::Leaf>();
      const size_t half = entries.size() / 2;
      upper->entries.assign(std::make_move_iterator(entries.begin() + half),
                            std::make_move_iterator(entries.end()));
      entries.erase(entries.begin() + half, entries.end());
      root.leaves_.insert(root.leaves_.begin() + i + 1, std::move(upper));
    }
  }

  // Removes `key`; false when it was absent (nothing changes then).
  bool Erase(absl::string_view key) {
    const size_t found = root_->LeafFor(key);
    if (found == root_->leaves_.size()) return false;
    {
      const auto& entries = root_->leaves_[found]->entries;
      auto it = Snapshot::LowerBound(entries, key);
      if (it == entries.end() || it->key != key) return false;
    }
    Snapshot& root = MutableRoot();
    auto& entries = MutableLeaf(root, found).entries;
    entries.erase(Snapshot::LowerBound(entries, key));
    --root.size_;
    if (entries.empty()) {
      root.leaves_.erase(root.leaves_.begin() + found);
    } else if (entries.size() < kMinLeaf) {
      MergeSmall(root, found);
    }
    return true;
  }

  void Clear() { root_ = std::make_shared<Snapshot>(); }

 private:
  // Whether only this map holds `p` (no snapshot shares it): then it may be written in place.
  template <typename T>
  static bool Unshared(const std::shared_ptr<T>& p) {
    if (p.use_count() != 1) return false;
    // Pairs with the release of the last reader's decrement: its reads happen before our writes.
    std::atomic_thread_fence(std::memory_order_acquire);
    return true;
  }

  Snapshot& MutableRoot() {
    if (!Unshared(root_)) root_ = std::make_shared<Snapshot>(*root_);
    return *root_;
  }
  typename Snapshot::Leaf& MutableLeaf(Snapshot& root, size_t i) {
    if (!Unshared(root.leaves_[i])) {
      root.leaves_[i] = std::make_shared<typename Snapshot::Leaf>(*root.leaves_[i]);
    }
    return *root.leaves_[i];
  }
  // Merges the small leaf `i` with a neighbour when both fit in one leaf.
  void MergeSmall(Snapshot& root, size_t i) {
    size_t left = i;
    if (i + 1 < root.leaves_.size() &&
        root.leaves_[i]->entries.size() + root.leaves_[i + 1]->entries.size() <= kMaxLeaf) {
      left = i;
    } else if (i > 0 &&
               root.leaves_[i - 1]->entries.size() + root.leaves_[i]->entries.size() <= kMaxLeaf) {
      left = i - 1;
    } else {
      return;
    }
    auto& into = MutableLeaf(root, left).entries;
    const auto& from = root.leaves_[left + 1]->entries;
    into.insert(into.end(), from.begin(), from.end());
    root.leaves_.erase(root.leaves_.begin() + left + 1);
  }

  std::shared_ptr<Snapshot> root_;
};

}  // namespace infrakit::common

#endif  // INFRAKIT_COMMON_COW_SORTED_MAP_H_
