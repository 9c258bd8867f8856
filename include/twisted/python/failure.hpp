// Failure: an exception captured as a value, as Twisted's twisted.python.failure.
//
// A Failure is what flows to errbacks and to connectionLost(reason). It wraps a
// std::exception_ptr, so any exception type can be carried and later
// inspected with check<E...>() or re-raised with raiseException().
#pragma once

#include <exception>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace twisted {

/// An exception held as a value: the reason given to errbacks and connectionLost.
class Failure {
 public:
  /// Wraps an exception already captured (for example by
  /// std::current_exception()). @throws std::invalid_argument for a null exception_ptr.
  explicit Failure(std::exception_ptr exception);

  /// Captures the exception currently being handled; call inside `catch`.
  static Failure current();

  /// Builds a Failure holding a copy of `exception`.
  template <class E>
  static Failure of(E&& exception) {
    return Failure(std::make_exception_ptr(std::forward<E>(exception)));
  }

  /// True if the wrapped exception is (or derives from) one of `E...`.
  template <class... E>
  bool check() const {
    return (matches<E>() || ...);
  }

  /// Like check(), but re-raises the wrapped exception when nothing matches,
  /// as Twisted's Failure.trap does in an errback.
  template <class... E>
  void trap() const {
    if (!check<E...>()) raiseException();
  }

  /// Throws the wrapped exception.
  [[noreturn]] void raiseException() const;

  /// The exception's what() text (or a description for non-std exceptions).
  std::string getErrorMessage() const;

  /// The demangled dynamic type name of the exception, e.g.
  /// "twisted::error::ConnectionDone".
  std::string typeName() const;

  /// "<type>: <message>", Twisted's getBriefTraceback.
  std::string brief() const;

  /// The wrapped exception, never null.
  const std::exception_ptr& exception() const noexcept { return exception_; }

 private:
  template <class E>
  bool matches() const {
#if defined(__GLIBCXX__)
    // Ask the C++ runtime the question a `catch (const E&)` asks, without
    // throwing: a throw costs thousands of instructions, and every
    // connectionLost and errback checks its reason.
    return matchesType(typeid(std::remove_cvref_t<E>));
#else
    try {
      std::rethrow_exception(exception_);
    } catch (const E&) {
      return true;
    } catch (...) {
      return false;
    }
#endif
  }
  // True if the exception's dynamic type is `type` or has it as a public,
  // unambiguous base (libstdc++ only).
  bool matchesType(const std::type_info& type) const;

  std::exception_ptr exception_;
};

/// Demangles a type name from typeid(...).name().
std::string demangle(const char* mangled);

}  // namespace twisted
