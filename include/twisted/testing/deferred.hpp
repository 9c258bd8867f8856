// Inspecting Deferreds in tests, as trial's successResultOf/failureResultOf.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "twisted/internet/deferred.hpp"

namespace twisted::testing {

/// The value `d` has fired with (taking it). Throws std::runtime_error if
/// it has no result yet or failed, so the test fails with a clear message.
template <class T>
T successResultOf(Deferred<T> d) {
  auto& s = detail::stateOf(d);
  if (!s->hasFinalResult()) throw std::runtime_error("successResultOf: the Deferred has no result");
  std::optional<Outcome<T>> out;
  d.addBoth([&out](Outcome<T> o) { out.emplace(std::move(o)); });
  if (!out->succeeded()) {
    throw std::runtime_error("successResultOf: the Deferred failed: " + out->failure().brief());
  }
  if constexpr (!std::is_void_v<T>) return std::move(*out).value();
}

/// The failure `d` has failed with (handling it). Throws std::runtime_error
/// if it has no result yet or succeeded.
template <class T>
Failure failureResultOf(Deferred<T> d) {
  auto& s = detail::stateOf(d);
  if (!s->hasFinalResult()) throw std::runtime_error("failureResultOf: the Deferred has no result");
  std::optional<Outcome<T>> out;
  d.addBoth([&out](Outcome<T> o) { out.emplace(std::move(o)); });
  if (out->succeeded()) throw std::runtime_error("failureResultOf: the Deferred succeeded");
  return out->failure();
}

/// True if `d` has not produced a result yet (trial's assertNoResult).
template <class T>
bool hasNoResult(Deferred<T>& d) {
  return !detail::stateOf(d)->hasFinalResult();
}

}  // namespace twisted::testing
