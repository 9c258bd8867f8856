// task::react: Twisted's algorithm, with the exit status returned.
#include "twisted/internet/react.hpp"

#include <memory>
#include <optional>

#include "twisted/internet/defer_helpers.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted::task::detail {

namespace {

// The exit status a failure of main means, logging it unless it is a
// SystemExit.
int statusOf(const Failure& failure) {
  if (failure.check<SystemExit>()) {
    try {
      failure.raiseException();
    } catch (const SystemExit& e) {
      return e.code();
    } catch (...) {
    }
  }
  static const logger::Logger log("twisted.internet.task");
  log.failure("main function encountered error", failure);
  return 1;
}

// Shared with the callbacks on main's Deferred, which may fire after react()
// has returned (a Deferred that outlives the run): then they do nothing.
struct ReactState {
  Reactor* reactor = nullptr;  // null once react() has returned
  bool stopping = false;       // the reactor's shutdown has begun
  int status = 0;
};

}  // namespace

int reactOn(Reactor& reactor, UniqueFunction<Deferred<void>(Reactor&)> main) {
  auto state = std::make_shared<ReactState>();
  state->reactor = &reactor;
  TriggerId trigger =
      reactor.addSystemEventTrigger(Phase::Before, "shutdown", [state] { state->stopping = true; });
  Deferred<void> finished;
  try {
    finished = main(reactor);
  } catch (...) {
    finished = fail<void>(Failure::current());
  }
  finished.addBoth([state](Outcome<void> result) {
    if (!state->reactor) return;
    if (!result.succeeded()) state->status = statusOf(result.failure());
    if (state->stopping) return;  // already stopping: stop only once
    state->reactor->callWhenRunning([state] {
      if (!state->reactor) return;
      try {
        state->reactor->stop();
      } catch (const error::ReactorNotRunning&) {
        // stopped meanwhile (a signal, or main's own stop())
      }
    });
  });
  reactor.run();
  reactor.removeSystemEventTrigger(trigger);
  state->reactor = nullptr;
  return state->status;
}

}  // namespace twisted::task::detail
