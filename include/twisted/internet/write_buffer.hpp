// The outgoing byte queue of a stream transport (internal).
//
// One contiguous buffer with a read offset: bytes are copied in once and
// sent from where they lie. Its capacity is kept between bursts, so a
// connection in steady state allocates nothing; a large capacity left by a
// burst is given back once the buffer drains, so an idle connection costs
// little memory.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>
#include <vector>

namespace twisted::detail {

class WriteBuffer {
 public:
  /// Capacity kept after draining; more is released.
  static constexpr std::size_t kKeep = 64 * 1024;

  bool empty() const { return head_ == data_.size(); }
  std::size_t size() const { return data_.size() - head_; }
  std::string_view pending() const { return {data_.data() + head_, data_.size() - head_}; }

  void append(std::string_view bytes) {
    if (bytes.empty()) return;
    if (head_ == data_.size()) {
      data_.clear();
      head_ = 0;
    } else if (head_ > 0 && head_ >= data_.size() / 2) {
      // Mostly consumed: move the tail down instead of growing.
      std::size_t n = data_.size() - head_;
      std::memmove(data_.data(), data_.data() + head_, n);
      data_.resize(n);
      head_ = 0;
    }
    data_.insert(data_.end(), bytes.begin(), bytes.end());
  }

  /// Drops `n` sent bytes from the front.
  void consume(std::size_t n) {
    head_ += n;
    if (head_ == data_.size()) {
      data_.clear();
      head_ = 0;
      if (data_.capacity() > kKeep) data_.shrink_to_fit();
    }
  }

  void clear() {
    data_.clear();
    data_.shrink_to_fit();
    head_ = 0;
  }

 private:
  std::vector<char> data_;
  std::size_t head_ = 0;
};

}  // namespace twisted::detail
