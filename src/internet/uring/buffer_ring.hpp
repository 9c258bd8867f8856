// BufferRing: the provided buffers a ring's multishot receives fill, shared
// by every connection of the reactor (an idle connection holds none).
//
// A buffer is the ring's until the kernel picks it for a receive; then it
// is lent (the poller's, then a transport's) until it is given back. See
// docs/architecture.md, "The io_uring backend: its design".
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace twisted::detail::uring {

class BufferRing {
 public:
  static constexpr unsigned kCount = 256;          // a power of two
  static constexpr std::size_t kSize = 16 * 1024;  // bytes per buffer
  static constexpr std::uint16_t kGroup = 1;       // the receives' buffer group

  /// Registers kCount buffers of kSize with `ring` as group kGroup; null if
  /// the kernel cannot (provided buffer rings: Linux 5.19).
  static std::unique_ptr<BufferRing> open(io_uring* ring);
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  const char* data(std::uint16_t id) const { return space_ + std::size_t{id} * kSize; }
  /// Gives buffer `id` back for the kernel to fill again.
  void release(std::uint16_t id) {
    io_uring_buf_ring_add(ring_, space_ + std::size_t{id} * kSize, kSize, id,
                          io_uring_buf_ring_mask(kCount), 0);
    io_uring_buf_ring_advance(ring_, 1);
    ++free_;
  }
  /// The kernel filled buffer `id` (a completion said so).
  void taken() { --free_; }
  /// Buffers the kernel may fill now.
  unsigned available() const { return free_; }

 private:
  BufferRing() = default;
  io_uring_buf_ring* ring_ = nullptr;  // kCount entries, page-aligned
  char* space_ = nullptr;              // kCount * kSize bytes, faulted in as used
  unsigned free_ = 0;
};

}  // namespace twisted::detail::uring
