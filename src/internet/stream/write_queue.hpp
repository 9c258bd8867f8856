// The outgoing bytes of a stream transport, in order (docs/architecture.md,
// "The stream transport layer").
//
// WriteBuffer: one contiguous buffer with a read offset: bytes are copied in
// once and sent from where they lie. Its capacity is kept between bursts, so
// a connection in steady state allocates nothing; a large capacity left by a
// burst is given back once the buffer drains, so an idle connection costs
// little memory. The largest buffer given back (up to 4 MiB) is kept, one
// per thread, for the next burst to grow into: its pages are already
// faulted in (a child fed 1 MiB at a time, or a connection's bursts, would
// otherwise take a fresh mmap and ~250 page faults each time).
//
// WriteQueue: a WriteBuffer, or a borrowed view of bytes the transport has
// just read (an echo, sent without a copy); never both, so order is kept by
// the queue itself.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace twisted::detail {

class WriteBuffer {
 public:
  /// Capacity kept after draining; more is released.
  static constexpr std::size_t kKeep = 64 * 1024;
  /// The largest buffer a thread keeps back for the next burst.
  static constexpr std::size_t kSpareMax = 4 << 20;

  WriteBuffer() = default;
  ~WriteBuffer() { clear(); }
  WriteBuffer(const WriteBuffer&) = delete;
  WriteBuffer& operator=(const WriteBuffer&) = delete;

  bool empty() const { return head_ == tail_; }
  std::size_t size() const { return tail_ - head_; }
  std::string_view pending() const { return {data_.get() + head_, tail_ - head_}; }

  void append(std::string_view bytes) {
    if (bytes.empty()) return;  // an empty view may have no data at all
    if (bytes.size() > capacity_ - tail_) makeRoom(bytes.size());
    std::memcpy(data_.get() + tail_, bytes.data(), bytes.size());
    tail_ += bytes.size();
  }

  /// Drops `n` sent bytes from the front.
  void consume(std::size_t n) {
    head_ += n;
    if (head_ == tail_) {
      head_ = tail_ = 0;
      if (capacity_ > kKeep) clear();
    }
  }

  /// Exchanges contents with `other` (a poller holding bytes in flight
  /// gives back its emptied buffer, capacity kept: nothing is allocated).
  void swap(WriteBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(capacity_, other.capacity_);
    std::swap(head_, other.head_);
    std::swap(tail_, other.tail_);
  }

  /// Lets go of the storage without freeing it: for bytes the kernel may
  /// still read when their owner dies (a zero-copy send whose notification
  /// never came before the ring went away). Deliberately leaked.
  char* abandon() noexcept {
    capacity_ = head_ = tail_ = 0;
    return data_.release();
  }

  void clear() {
    if (capacity_ > kKeep && capacity_ <= kSpareMax && capacity_ > spare().capacity) {
      spare().data = std::move(data_);
      spare().capacity = capacity_;
    }
    data_.reset();
    capacity_ = head_ = tail_ = 0;
  }

 private:
  // Room for `n` more bytes at the tail: moves the unsent bytes down when
  // that suffices (they are at most half the buffer), else grows.
  void makeRoom(std::size_t n) {
    std::size_t used = tail_ - head_;
    if (used + n <= capacity_ && used <= capacity_ / 2) {
      std::memmove(data_.get(), data_.get() + head_, used);
    } else {
      std::size_t cap = std::max<std::size_t>({capacity_ * 2, used + n, 512});
      std::unique_ptr<char[]> bigger;
      if (cap > kKeep && spare().capacity >= cap) {
        cap = spare().capacity;
        bigger = std::move(spare().data);
        spare().capacity = 0;
      } else {
        bigger = std::make_unique_for_overwrite<char[]>(cap);
      }
      if (used > 0) std::memcpy(bigger.get(), data_.get() + head_, used);
      data_ = std::move(bigger);
      capacity_ = cap;
    }
    head_ = 0;
    tail_ = used;
  }

  struct Spare {
    std::unique_ptr<char[]> data;
    std::size_t capacity = 0;
  };
  static Spare& spare() {
    static thread_local Spare one;
    return one;
  }

  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
  std::size_t head_ = 0;  // first unsent byte
  std::size_t tail_ = 0;  // end of the bytes
};

/// What a stream transport has yet to send: a borrowed view (bytes of the
/// current read, valid until dataReceived returns) or owned bytes.
class WriteQueue {
 public:
  bool empty() const { return borrowed_.empty() && owned_.empty(); }
  std::size_t size() const { return borrowed_.size() + owned_.size(); }
  bool hasBorrowed() const { return !borrowed_.empty(); }

  /// Takes `view` without copying it, if nothing is queued.
  bool borrow(std::string_view view) {
    if (!empty()) return false;
    borrowed_ = view;
    return true;
  }
  /// The borrowed view, now the caller's to send; the queue no longer has it.
  std::string_view takeBorrowed() { return std::exchange(borrowed_, {}); }

  /// Queues a copy of `bytes` behind everything queued (a borrowed view is
  /// copied first).
  void append(std::string_view bytes) {
    if (!borrowed_.empty()) [[unlikely]]
      ownBorrowed();
    owned_.append(bytes);
  }
  /// Copies a borrowed view into the queue's own bytes (before its bytes die).
  void ownBorrowed() { owned_.append(takeBorrowed()); }

  /// The owned bytes at the front, to send; a borrowed view is owned first.
  std::string_view pending() {
    if (!borrowed_.empty()) [[unlikely]]
      ownBorrowed();
    return owned_.pending();
  }
  void consume(std::size_t n) { owned_.consume(n); }
  /// The owned bytes themselves (a borrowed view is owned first): what a
  /// completion backend takes to send.
  WriteBuffer& owned() {
    if (!borrowed_.empty()) [[unlikely]]
      ownBorrowed();
    return owned_;
  }
  void clear() {
    borrowed_ = {};
    owned_.clear();
  }

 private:
  WriteBuffer owned_;
  std::string_view borrowed_;
};

}  // namespace twisted::detail
