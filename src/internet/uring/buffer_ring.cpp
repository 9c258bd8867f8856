// Registration of the provided buffers (liburing 2.3 registers a ring but
// does not map one: 2.4's io_uring_setup_buf_ring would, so it is done here).
#include "buffer_ring.hpp"

#include <sys/mman.h>

namespace twisted::detail::uring {

std::unique_ptr<BufferRing> BufferRing::open(io_uring* ring) {
  std::unique_ptr<BufferRing> self(new BufferRing);
  std::size_t ringBytes = kCount * sizeof(io_uring_buf);
  void* r = ::mmap(nullptr, ringBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r == MAP_FAILED) return nullptr;
  self->ring_ = static_cast<io_uring_buf_ring*>(r);
  // Anonymous memory, not the heap: pages are faulted in only as buffers
  // are first filled, so a reactor with few connections stays small.
  void* s =
      ::mmap(nullptr, kCount * kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED) return nullptr;
  self->space_ = static_cast<char*>(s);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uintptr_t>(self->ring_);
  reg.ring_entries = kCount;
  reg.bgid = kGroup;
  if (io_uring_register_buf_ring(ring, &reg, 0) != 0) return nullptr;
  io_uring_buf_ring_init(self->ring_);
  for (unsigned id = 0; id < kCount; ++id) self->release(static_cast<std::uint16_t>(id));
  return self;
}

// Destroyed after its ring has exited (the poller's order), which took the
// registration with it: nothing to unregister.
BufferRing::~BufferRing() {
  if (space_) ::munmap(space_, kCount * kSize);
  if (ring_) ::munmap(ring_, kCount * sizeof(io_uring_buf));
}

}  // namespace twisted::detail::uring
