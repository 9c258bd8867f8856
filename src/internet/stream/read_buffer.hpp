// Where one read goes: the reactor's buffer (ReadArena), or, for a read
// nested in another (a dataReceived that iterates the reactor), a buffer of
// its own. Its bytes are dead once dataReceived returns.
#pragma once

#include <memory>

#include "transport_host.hpp"

namespace twisted::detail {

class ReadBuffer {
 public:
  [[gnu::always_inline]] explicit ReadBuffer(ReadArena& arena) {
    if (arena.busy) [[unlikely]] {
      useOwn();
      return;
    }
    if (arena.data.empty()) [[unlikely]]
      allocate(arena);
    data_ = arena.data.data();
    busy_ = &arena.busy;
    arena.busy = true;
  }
  [[gnu::always_inline]] ~ReadBuffer() {
    if (busy_) *busy_ = false;
  }
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;
  char* data() const { return data_; }

 private:
  [[gnu::cold, gnu::noinline]] static void allocate(ReadArena& arena) {
    arena.data.resize(ReadArena::kSize);
  }
  [[gnu::cold, gnu::noinline]] void useOwn() {
    own_ = std::make_unique<char[]>(ReadArena::kSize);
    data_ = own_.get();
  }
  char* data_ = nullptr;
  bool* busy_ = nullptr;
  std::unique_ptr<char[]> own_;
};

}  // namespace twisted::detail
