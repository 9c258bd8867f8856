// Outcome<T>: a result or the Failure that took its place.
#pragma once

#include <optional>
#include <stdexcept>
#include <utility>
#include <variant>

#include "twisted/python/failure.hpp"

namespace twisted {

/// What an addBoth callback receives, and what DeferredList collects: the
/// value a Deferred produced, or its Failure.
template <class T>
class Outcome {
 public:
  /// A success holding `value` (implicit, so a callback can return a plain T).
  Outcome(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  /// A failure holding `failure` (implicit, so a callback can return a Failure).
  Outcome(Failure failure) : v_(std::in_place_index<1>, std::move(failure)) {}  // NOLINT

  /// True if this holds a value, false if it holds a Failure.
  bool succeeded() const noexcept { return v_.index() == 0; }
  /// The value; raises the failure's exception if there is none.
  T& value() & {
    if (!succeeded()) std::get<1>(v_).raiseException();
    return std::get<0>(v_);
  }
  /// The value, read-only; raises the failure's exception if there is none.
  const T& value() const& {
    if (!succeeded()) std::get<1>(v_).raiseException();
    return std::get<0>(v_);
  }
  /// The value, moved out; raises the failure's exception if there is none.
  T&& value() && { return std::move(value()); }
  /// The failure; std::logic_error if the Outcome succeeded.
  const Failure& failure() const {
    if (succeeded()) throw std::logic_error("Outcome holds a value, not a failure");
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Failure> v_;
};

/// The Outcome of a Deferred<void>: success with no value, or a Failure.
template <>
class Outcome<void> {
 public:
  /// A success.
  Outcome() = default;
  /// A failure holding `failure`.
  Outcome(Failure failure) : failure_(std::move(failure)) {}  // NOLINT
  /// True unless this holds a Failure.
  bool succeeded() const noexcept { return !failure_; }
  /// Returns if this is a success; otherwise raises the failure's exception.
  void value() const {
    if (failure_) failure_->raiseException();
  }
  /// The failure; std::logic_error if the Outcome succeeded.
  const Failure& failure() const {
    if (!failure_) throw std::logic_error("Outcome holds a value, not a failure");
    return *failure_;
  }

 private:
  std::optional<Failure> failure_;
};

}  // namespace twisted
