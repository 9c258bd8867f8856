// What every port's stopListening returns: a Deferred fired on the next
// turn of the loop with the outcome of closing (Twisted closes a port in a
// callLater(0), so that stopListening never calls back into its caller).
// A second stopListening while that close is pending gets a Deferred fired
// with the same outcome, at the same time. Internal.
#pragma once

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "twisted/internet/defer_helpers.hpp"
#include "twisted/internet/deferred.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/python/failure.hpp"
#include "twisted/python/unique_function.hpp"

namespace twisted::detail {

/// A port's pending close: begin() on stopListening, join() for a second
/// stopListening while it is pending.
class CloseOnNextTurn {
 public:
  /// Runs `close` on the next turn; the Deferred (and any join()ed since)
  /// fails with the failure it returns, or succeeds.
  Deferred<void> begin(Reactor& reactor, UniqueFunction<std::optional<Failure>()> close) {
    state_ = std::make_shared<State>();
    Deferred<void> done;
    state_->waiters.push_back(done);
    reactor.callLater(0, [close = std::move(close), state = state_]() mutable {
      std::optional<Failure> failed = close();
      state->done = true;
      std::vector<Deferred<void>> waiters = std::move(state->waiters);
      for (Deferred<void>& d : waiters) {
        if (failed) {
          d.errback(*failed);
        } else {
          d.callback();
        }
      }
    });
    return done;
  }
  /// A Deferred for the close begun last, fired with its outcome when it
  /// completes (at once if none is pending).
  Deferred<void> join() {
    if (!state_ || state_->done) return succeed();
    Deferred<void> d;
    state_->waiters.push_back(d);
    return d;
  }

 private:
  struct State {
    bool done = false;
    std::vector<Deferred<void>> waiters;
  };
  std::shared_ptr<State> state_;  // shared with the pending call
};

}  // namespace twisted::detail
