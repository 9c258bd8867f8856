// A move-only callable wrapper (C++23's std::move_only_function, for C++20).
//
// Every queue in twisted-cpp (timers, thread calls, triggers, callbacks) holds
// callables that may capture move-only state (std::unique_ptr, a Deferred), so
// std::function's copy requirement does not fit. Small callables (up to three
// pointers) are stored inline: scheduling a lambda that captures `this` and a
// pointer does not allocate.
#pragma once

#include <cstddef>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>

namespace twisted {

template <class Signature>
class UniqueFunction;

/// A move-only holder of any callable taking `Args...` and returning `R`.
/// Like std::function but never copies: the callable may capture move-only
/// state. Callables up to three pointers in size are stored without allocating.
template <class R, class... Args>
class UniqueFunction<R(Args...)> {
  static constexpr std::size_t kInline = 3 * sizeof(void*);

  struct Ops {
    R (*invoke)(void* self, Args&&... args);
    // Moves the callable from `from` into raw storage `to`, destroying `from`.
    void (*relocate)(void* from, void* to) noexcept;
    void (*destroy)(void* self) noexcept;
  };

  template <class F>
  static constexpr bool fitsInline =
      sizeof(F) <= kInline &&
      alignof(F) <= alignof(void*) && std::is_nothrow_move_constructible_v<F>;

  template <class F>
  static F* target(void* storage) noexcept {
    if constexpr (fitsInline<F>) {
      return std::launder(reinterpret_cast<F*>(storage));
    } else {
      return *reinterpret_cast<F**>(storage);
    }
  }

  template <class F>
  static constexpr Ops opsFor{[](void* self, Args&&... args) -> R {
                                return std::invoke(*target<F>(self), std::forward<Args>(args)...);
                              },
                              [](void* from, void* to) noexcept {
                                if constexpr (fitsInline<F>) {
                                  F* f = target<F>(from);
                                  ::new (to) F(std::move(*f));
                                  f->~F();
                                } else {
                                  *reinterpret_cast<F**>(to) = *reinterpret_cast<F**>(from);
                                }
                              },
                              [](void* self) noexcept {
                                if constexpr (fitsInline<F>) {
                                  target<F>(self)->~F();
                                } else {
                                  delete target<F>(self);
                                }
                              }};

 public:
  /// An empty function; calling it throws std::bad_function_call.
  UniqueFunction() noexcept = default;
  /// An empty function, as from the default constructor.
  UniqueFunction(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor)

  /// Wraps `f`, moved or copied in; a null function pointer gives an empty function.
  template <class F, class D = std::decay_t<F>,
            class = std::enable_if_t<!std::is_same_v<D, UniqueFunction> &&
                                     std::is_invocable_r_v<R, D&, Args...>>>
  UniqueFunction(F&& f) {  // NOLINT(google-explicit-constructor): like std::function
    // Only a pointer can be null: a function passed by reference (which
    // decays to a pointer in D) cannot, and GCC warns at the comparison.
    using Given = std::remove_cvref_t<F>;
    if constexpr (std::is_pointer_v<Given> || std::is_member_pointer_v<Given>) {
      if (f == nullptr) return;
    }
    if constexpr (fitsInline<D>) {
      ::new (static_cast<void*>(storage_)) D(std::forward<F>(f));
    } else {
      *reinterpret_cast<D**>(storage_) = new D(std::forward<F>(f));
    }
    ops_ = &opsFor<D>;
  }

  /// Takes over `other`'s callable, leaving `other` empty.
  UniqueFunction(UniqueFunction&& other) noexcept : ops_(other.ops_) {
    if (ops_) {
      ops_->relocate(other.storage_, storage_);
      other.ops_ = nullptr;
    }
  }

  /// Destroys the current callable, then takes over `other`'s, leaving it empty.
  UniqueFunction& operator=(UniqueFunction&& other) noexcept {
    if (this != &other) {
      reset();
      if (other.ops_) {
        other.ops_->relocate(other.storage_, storage_);
        ops_ = other.ops_;
        other.ops_ = nullptr;
      }
    }
    return *this;
  }

  /// Destroys the callable, leaving this function empty.
  UniqueFunction& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }

  UniqueFunction(const UniqueFunction&) = delete;
  UniqueFunction& operator=(const UniqueFunction&) = delete;

  ~UniqueFunction() { reset(); }

  /// Calls the wrapped callable. Calling an empty UniqueFunction throws
  /// std::bad_function_call.
  R operator()(Args... args) {
    if (!ops_) throw std::bad_function_call();
    return ops_->invoke(storage_, std::forward<Args>(args)...);
  }

  /// True if a callable is held (calling will not throw bad_function_call).
  explicit operator bool() const noexcept { return ops_ != nullptr; }

  /// Destroys the wrapped callable (and so its captures) now.
  void reset() noexcept {
    if (ops_) {
      const Ops* ops = ops_;
      ops_ = nullptr;
      ops->destroy(storage_);
    }
  }

 private:
  alignas(void*) unsigned char storage_[kInline];
  const Ops* ops_ = nullptr;
};

}  // namespace twisted
