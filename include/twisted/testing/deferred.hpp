// Inspecting Deferreds in tests, as trial's successResultOf/failureResultOf.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "twisted/internet/deferred.hpp"

namespace twisted::testing {

namespace detail {
/// Takes the result `d` has now; `who` names the caller in the error.
template <class T>
Outcome<T> takeFinalOutcome(Deferred<T>& d, const char* who) {
  if (!twisted::detail::stateOf(d)->hasFinalResult()) {
    throw std::runtime_error(std::string(who) + ": the Deferred has no result");
  }
  std::optional<Outcome<T>> out;
  d.addBoth([&out](Outcome<T> o) { out.emplace(std::move(o)); });
  return std::move(*out);
}
}  // namespace detail

/// The value `d` has fired with (taking it). Throws std::runtime_error if
/// it has no result yet or failed, so the test fails with a clear message.
template <class T>
T successResultOf(Deferred<T> d) {
  Outcome<T> out = detail::takeFinalOutcome(d, "successResultOf");
  if (!out.succeeded()) {
    throw std::runtime_error("successResultOf: the Deferred failed: " + out.failure().brief());
  }
  if constexpr (!std::is_void_v<T>) return std::move(out).value();
}

/// The failure `d` has failed with (handling it). Throws std::runtime_error
/// if it has no result yet or succeeded.
template <class T>
Failure failureResultOf(Deferred<T> d) {
  Outcome<T> out = detail::takeFinalOutcome(d, "failureResultOf");
  if (out.succeeded()) throw std::runtime_error("failureResultOf: the Deferred succeeded");
  return out.failure();
}

/// True if `d` has not produced a result yet (trial's assertNoResult).
template <class T>
bool hasNoResult(Deferred<T>& d) {
  return !twisted::detail::stateOf(d)->hasFinalResult();
}

}  // namespace twisted::testing
