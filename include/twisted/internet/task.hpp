// twisted.internet.task: deferLater, LoopingCall, Cooperator and cooperate.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "twisted/internet/defer_helpers.hpp"

namespace twisted::task {

/// Calls `f` after `delay` seconds on `clock`; the Deferred fires with its
/// result (or failure). Cancelling it before then cancels the call.
template <class F>
auto deferLater(IReactorTime& clock, double delay, F f) {
  auto call = std::make_shared<DelayedCall>();
  Deferred<void> start([call](Deferred<void>&) {
    if (call->active()) call->cancel();
  });
  *call = clock.callLater(delay, [start]() mutable {
    if (!start.called()) start.callback();
  });
  return start.addCallback(std::move(f));
}

/// Calls a function every `interval` seconds (Twisted's LoopingCall).
///
/// Calls stay aligned to start + k * interval: if the process was busy and
/// intervals were missed, the next call comes at the next boundary (use
/// withCount to learn how many were skipped). If the function returns a
/// Deferred, the next call waits for it. If it throws or its Deferred fails,
/// the loop stops and the Deferred from start() fails with that.
class LoopingCall {
 public:
  /// `f` returns void or Deferred<void>.
  LoopingCall(IReactorTime& clock, UniqueFunction<Deferred<void>()> f);
  /// Loops on `f`, a callable returning void, with `clock` scheduling the calls.
  template <class F>
  requires std::is_void_v<std::invoke_result_t<F&>> LoopingCall(IReactorTime& clock, F f)
      : LoopingCall(clock, UniqueFunction<Deferred<void>()>([f = std::move(f)]() mutable {
                      f();
                      return succeed();
                    })) {}
  /// A LoopingCall whose function is told how many intervals passed since
  /// its last call (1 normally, more when calls were skipped).
  static LoopingCall withCount(IReactorTime& clock, UniqueFunction<void(int)> f);

  /// Destroying a running LoopingCall stops it without firing its Deferred.
  ~LoopingCall();
  /// Takes over another LoopingCall, running or not.
  LoopingCall(LoopingCall&&) noexcept;
  /// Stops this loop as the destructor does, then takes over the other one.
  LoopingCall& operator=(LoopingCall&&) noexcept;

  /// Starts calling; with `now`, the first call is made at once. The
  /// Deferred fires when stop() is called, or fails if a call fails.
  /// @throws std::logic_error if running; std::invalid_argument if
  ///   interval < 0.
  Deferred<void> start(double interval, bool now = true);
  /// Stops the loop; start()'s Deferred fires now, or once a call in progress
  /// returns. @throws std::logic_error if not running.
  void stop();
  /// Restarts the interval from now. @throws std::logic_error if not running.
  void reset();
  /// True from start() until stop() or a failed call.
  bool running() const;
  /// The interval last given to start(), in seconds (0 before any start()).
  double interval() const;

  struct Impl;

 private:
  explicit LoopingCall(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

/// What one step of a cooperative job returns: true for "call me again",
/// false for "done", or a Deferred<bool> to wait for first.
using JobStep = std::variant<bool, Deferred<bool>>;
/// A cooperative job: called once per step until it returns false or fails.
using Job = UniqueFunction<JobStep()>;

class Cooperator;

/// A job running under a Cooperator (Twisted's CooperativeTask).
class CooperativeTask {
 public:
  /// A new Deferred that fires when the job finishes, or fails with the
  /// job's failure, TaskStopped (stop()) or SchedulerStopped.
  Deferred<void> whenDone();
  /// Stops running steps until resume() (pauses nest).
  void pause();
  /// Undoes one pause(); steps run again once every pause is undone.
  /// @throws error::NotPaused if not paused.
  void resume();
  /// Ends the job now. @throws error::TaskDone / TaskFailed / TaskStopped if
  /// it had already finished that way.
  void stop();

  struct Impl;
  /// A handle to the task `impl`; Cooperator::cooperate() makes these.
  explicit CooperativeTask(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<Impl> impl_;
};

/// Runs many long jobs a step at a time, round-robin, for at most a time
/// slice per turn of the loop, so that none of them starves I/O.
///
/// Twisted's module-level task.cooperate(iterator) runs on a global
/// Cooperator of the global reactor; here there is none (a program may run
/// several reactors, or one of its own that a global Cooperator would never
/// be scheduled on). Make one next to the reactor and share it:
///
///   twisted::Reactor reactor;
///   twisted::task::Cooperator cooperator(reactor);
///   cooperator.cooperate(job);            // task.cooperate(job)
class Cooperator {
 public:
  /// Runs steps for `timeSlice` seconds of real time per turn, then yields
  /// with clock.callLater.
  explicit Cooperator(IReactorTime& clock, double timeSlice = 0.01);
  /// With a custom rule for ending a turn: each turn calls `factory` for a
  /// predicate that says "stop now" (Twisted's terminationPredicateFactory;
  /// tests use a step count with a fake clock).
  Cooperator(IReactorTime& clock, std::function<std::function<bool()>()> terminationFactory);
  /// Stops every job (SchedulerStopped) if still running.
  ~Cooperator();
  Cooperator(const Cooperator&) = delete;
  Cooperator& operator=(const Cooperator&) = delete;

  /// Starts running `job` a step at a time and returns its task. On a stopped
  /// Cooperator the task ends at once with SchedulerStopped.
  CooperativeTask cooperate(Job job);
  /// cooperate(job).whenDone().
  Deferred<void> coiterate(Job job);
  /// Ends every job with SchedulerStopped; later jobs end at once too.
  void stop();
  /// True until stop() is called.
  bool running() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace twisted::task
