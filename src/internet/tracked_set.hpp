// The reactor's set of tracked descriptors (Reactor::track): one entry per
// open connection, so it is kept flat. Open addressing with linear probing,
// up to 7/8 full, and backward-shift deletion (no tombstones): 16 bytes a
// slot, about 26 per entry at 10,000 connections, against about 56 for an
// unordered_map's node and bucket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "twisted/internet/interfaces.hpp"

namespace twisted::detail {

class TrackedSet {
 public:
  using Entry = std::shared_ptr<IFileDescriptor>;

  std::size_t size() const { return count_; }
  bool contains(const IFileDescriptor* key) const { return find(key) != kNone; }

  /// Adds `d` (keyed by its address); does nothing if it is there already.
  void insert(Entry d) {
    if ((count_ + 1) * 8 > table_.size() * 7) grow();
    std::size_t i = home(d.get());
    while (table_[i]) {
      if (table_[i].get() == d.get()) return;
      i = (i + 1) & mask();
    }
    table_[i] = std::move(d);
    ++count_;
  }

  /// Removes `key` and returns its entry (null if it was not there).
  Entry take(const IFileDescriptor* key) {
    std::size_t i = find(key);
    if (i == kNone) return nullptr;
    Entry out = std::move(table_[i]);
    --count_;
    // Backward shift: move up every following entry of the run that would
    // no longer be found past the hole.
    for (std::size_t j = (i + 1) & mask(); table_[j]; j = (j + 1) & mask()) {
      std::size_t k = home(table_[j].get());
      bool between = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (!between) {
        table_[i] = std::move(table_[j]);
        i = j;
      }
    }
    return out;
  }

  /// Every entry, copied (the caller may change the set while using them).
  std::vector<Entry> snapshot() const {
    std::vector<Entry> out;
    out.reserve(count_);
    for (const Entry& e : table_) {
      if (e) out.push_back(e);
    }
    return out;
  }

 private:
  static constexpr std::size_t kNone = ~std::size_t{0};
  std::size_t mask() const { return table_.size() - 1; }
  // Fibonacci hashing of the address: its high bits pick the slot.
  std::size_t home(const IFileDescriptor* key) const {
    auto h = reinterpret_cast<std::uintptr_t>(key) * std::uint64_t{0x9E3779B97F4A7C15};
    return static_cast<std::size_t>(h >> (64 - bits_));
  }
  std::size_t find(const IFileDescriptor* key) const {
    if (count_ == 0) return kNone;
    for (std::size_t i = home(key); table_[i]; i = (i + 1) & mask()) {
      if (table_[i].get() == key) return i;
    }
    return kNone;
  }
  void grow() {
    std::vector<Entry> old = std::move(table_);
    bits_ = old.empty() ? 4 : bits_ + 1;
    table_ = std::vector<Entry>(std::size_t{1} << bits_);
    count_ = 0;
    for (Entry& e : old) {
      if (e) insert(std::move(e));
    }
  }

  std::vector<Entry> table_;
  std::size_t count_ = 0;
  unsigned bits_ = 0;
};

}  // namespace twisted::detail
