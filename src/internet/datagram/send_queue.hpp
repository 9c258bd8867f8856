// SendQueue: a datagram port's datagrams waiting to be sent, in order, in
// a ring of slots that are reused (a deque allocated a node every two
// datagrams). Internal.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "twisted/internet/address.hpp"

namespace twisted::detail {

class SendQueue {
 public:
  struct Slot {
    std::string owned;
    std::string_view borrowed;  // into the receive buffer, during a batch
    SocketAddress to;           // only `to.length` bytes are set
    bool hasTo = false;
    bool isBorrowed = false;
    std::string_view view() const { return isBorrowed ? borrowed : std::string_view(owned); }
    /// Holds `datagram` (uncopied if `borrow`) for `to` (nullptr: the
    /// connected peer).
    void set(std::string_view datagram, const SocketAddress* to, bool borrow) {
      if (borrow) {
        borrowed = datagram;
      } else {
        own(datagram);
      }
      isBorrowed = borrow;
      hasTo = to != nullptr;
      if (to) {
        // The used bytes, not the whole storage: two moves for IPv4 or IPv6.
        if (to->length <= 32) {
          std::memcpy(&this->to.storage, &to->storage, 32);
        } else {
          std::memcpy(&this->to.storage, &to->storage, to->length);
        }
        this->to.length = to->length;
      }
    }
    /// Copies `datagram` into the slot's own memory (out of line: the
    /// borrowing echo's path stays short).
    [[gnu::noinline]] void own(std::string_view datagram) { owned.assign(datagram); }
  };

  bool empty() const { return count_ == 0; }
  std::size_t size() const { return count_; }
  /// The i-th waiting datagram, 0 the oldest.
  Slot& operator[](std::size_t i) { return slots_[(head_ + i) & mask_]; }
  Slot& front() { return slots_[head_]; }

  /// Queues `datagram` for `to` (Slot::set); nothing is queued if copying
  /// it throws (bad_alloc), so no slot is ever sent unset.
  void push_back(std::string_view datagram, const SocketAddress* to, bool borrow) {
    if (count_ == capacity_) grow();
    (*this)[count_].set(datagram, to, borrow);
    ++count_;
  }
  /// Lets go of the `n` oldest.
  void pop_front(std::size_t n = 1) {
    for (std::size_t i = 0; i < n; ++i) {
      // A slot keeps the memory of a datagram of ordinary size for the
      // next (its bytes are assigned over), not of a large one.
      Slot& s = (*this)[i];
      if (!s.isBorrowed && s.owned.capacity() > kKeptCapacity) std::string().swap(s.owned);
    }
    head_ = (head_ + n) & mask_;
    count_ -= n;
  }
  /// Drops everything waiting and gives back a ring a burst grew (it is
  /// made again if needed): an idle port keeps no more than kKeptSlots.
  void clear() {
    pop_front(count_);
    shrink();
  }
  /// Gives back a grown ring once nothing waits.
  void shrink() {
    if (count_ == 0 && slots_.size() > kKeptSlots) {
      std::vector<Slot>().swap(slots_);
      capacity_ = mask_ = head_ = 0;
    }
  }

 private:
  static constexpr std::size_t kKeptCapacity = 2048;
  static constexpr std::size_t kKeptSlots = 64;

  [[gnu::noinline]] void grow() {
    // Double, the waiting datagrams moved to the front in order.
    std::vector<Slot> bigger(slots_.empty() ? 16 : slots_.size() * 2);
    for (std::size_t i = 0; i < count_; ++i) bigger[i] = std::move((*this)[i]);
    slots_ = std::move(bigger);
    capacity_ = slots_.size();
    mask_ = capacity_ - 1;
    head_ = 0;
  }

  std::vector<Slot> slots_;  // a power of two, or empty
  std::size_t capacity_ = 0;
  std::size_t mask_ = 0;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

}  // namespace twisted::detail
