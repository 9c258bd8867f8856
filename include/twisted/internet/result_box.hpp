// Internal: a type-erased, move-only value slot for Deferred chains.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace twisted::detail {

/// Holds one value of any move-constructible type, inline when small. The
/// type is known to whoever put it there (the typed Deferred handle); the
/// box only knows how to move and destroy it.
class ResultBox {
  static constexpr std::size_t kInline = 4 * sizeof(void*);
  struct Ops {
    void (*relocate)(void* from, void* to) noexcept;
    void (*destroy)(void* self) noexcept;
  };
  template <class T>
  static constexpr bool fitsInline =
      sizeof(T) <= kInline &&
      alignof(T) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<T>;
  template <class T>
  static T* ptr(void* storage) noexcept {
    if constexpr (fitsInline<T>) {
      return std::launder(reinterpret_cast<T*>(storage));
    } else {
      return *reinterpret_cast<T**>(storage);
    }
  }
  template <class T>
  static constexpr Ops opsFor{[](void* from, void* to) noexcept {
                                if constexpr (fitsInline<T>) {
                                  T* f = ptr<T>(from);
                                  ::new (to) T(std::move(*f));
                                  f->~T();
                                } else {
                                  *reinterpret_cast<T**>(to) = *reinterpret_cast<T**>(from);
                                }
                              },
                              [](void* self) noexcept {
                                if constexpr (fitsInline<T>) {
                                  ptr<T>(self)->~T();
                                } else {
                                  delete ptr<T>(self);
                                }
                              }};

 public:
  ResultBox() = default;
  ResultBox(const ResultBox&) = delete;
  ResultBox& operator=(const ResultBox&) = delete;
  ~ResultBox() { reset(); }

  template <class T, class... A>
  void emplace(A&&... args) {
    reset();
    if constexpr (fitsInline<T>) {
      ::new (static_cast<void*>(buf_)) T(std::forward<A>(args)...);
    } else {
      *reinterpret_cast<T**>(buf_) = new T(std::forward<A>(args)...);
    }
    ops_ = &opsFor<T>;
  }

  /// Moves the value (which must be a T) out and empties the box.
  template <class T>
  T take() {
    T value(std::move(*ptr<T>(buf_)));
    reset();
    return value;
  }

  /// Takes over `other`'s value, whatever its type.
  void moveFrom(ResultBox& other) noexcept {
    reset();
    if (other.ops_) {
      other.ops_->relocate(other.buf_, buf_);
      ops_ = other.ops_;
      other.ops_ = nullptr;
    }
  }

  void reset() noexcept {
    if (ops_) {
      const Ops* ops = ops_;
      ops_ = nullptr;
      ops->destroy(buf_);
    }
  }
  bool empty() const noexcept { return ops_ == nullptr; }

 private:
  alignas(std::max_align_t) unsigned char buf_[kInline];
  const Ops* ops_ = nullptr;
};

}  // namespace twisted::detail
