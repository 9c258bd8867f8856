// LoopingCall and Cooperator (twisted.internet.task).
#include "twisted/internet/task.hpp"

#include <chrono>
#include <cmath>
#include <stdexcept>

#include "twisted/internet/error.hpp"

namespace twisted::task {

// ---- LoopingCall ------------------------------------------------------------

struct LoopingCall::Impl : std::enable_shared_from_this<LoopingCall::Impl> {
  Impl(IReactorTime& c, UniqueFunction<Deferred<void>()> fn) : clock(c), f(std::move(fn)) {}

  IReactorTime& clock;
  UniqueFunction<Deferred<void>()> f;
  bool running = false;
  double interval = 0;
  double starttime = 0;
  bool runAtStart = false;
  std::optional<double> realLastTime;  // withCount's last real call
  DelayedCall call;
  std::optional<Deferred<void>> deferred;

  int intervalOf(double t) const { return static_cast<int>((t - starttime) / interval); }

  void callNow() {
    call = DelayedCall();
    std::weak_ptr<Impl> weak = shared_from_this();
    maybeDeferred([this] { return f(); })
        .addCallbacks(
            [weak] {
              if (auto self = weak.lock()) self->succeeded();
            },
            [weak](const Failure& failure) {
              if (auto self = weak.lock()) self->failed(failure);
            });
  }

  void succeeded() {
    if (running) {
      scheduleFrom(clock.seconds());
    } else if (deferred) {  // stop() was called while a call was in progress
      Deferred<void> d = std::move(*deferred);
      deferred.reset();
      d.callback();
    }
  }

  void failed(const Failure& failure) {
    running = false;
    if (deferred) {
      Deferred<void> d = std::move(*deferred);
      deferred.reset();
      d.errback(failure);
    }
  }

  // The next call at the next interval boundary after `when`.
  void scheduleFrom(double when) {
    double delay = 0;
    if (interval > 0) {
      double runningFor = when - starttime;
      double untilNext = interval - std::fmod(runningFor, interval);
      // Floating point may make `when + untilNext` equal `when`: a full
      // interval then, never a zero-delay loop.
      delay = (when == when + untilNext) ? interval : untilNext;
    }
    std::weak_ptr<Impl> weak = shared_from_this();
    call = clock.callLater(delay, [weak] {
      if (auto self = weak.lock()) self->callNow();
    });
  }
};

LoopingCall::LoopingCall(IReactorTime& clock, UniqueFunction<Deferred<void>()> f)
    : impl_(std::make_shared<Impl>(clock, std::move(f))) {}

LoopingCall::LoopingCall(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

LoopingCall LoopingCall::withCount(IReactorTime& clock, UniqueFunction<void(int)> countFn) {
  auto impl = std::make_shared<Impl>(clock, nullptr);
  Impl* self = impl.get();  // the function lives in, and dies with, the Impl
  impl->f = [self, fn = std::move(countFn)]() mutable -> Deferred<void> {
    double now = self->clock.seconds();
    if (self->interval == 0) {
      self->realLastTime = now;
      fn(1);
      return succeed();
    }
    double lastTime = self->realLastTime
                          ? *self->realLastTime
                          : self->starttime - (self->runAtStart ? self->interval : 0);
    int count = self->intervalOf(now) - self->intervalOf(lastTime);
    if (count > 0) {
      self->realLastTime = now;
      fn(count);
    }
    return succeed();
  };
  return LoopingCall(std::move(impl));
}

LoopingCall::~LoopingCall() {
  if (impl_ && impl_->running) {
    impl_->running = false;
    if (impl_->call.active()) impl_->call.cancel();
    impl_->deferred.reset();
  }
}

LoopingCall::LoopingCall(LoopingCall&&) noexcept = default;
LoopingCall& LoopingCall::operator=(LoopingCall&& other) noexcept {
  if (this != &other) {
    LoopingCall old(std::move(*this));
    impl_ = std::move(other.impl_);
  }
  return *this;
}

Deferred<void> LoopingCall::start(double interval, bool now) {
  Impl& im = *impl_;
  if (im.running) throw std::logic_error("LoopingCall::start: already running");
  if (!(interval >= 0)) throw std::invalid_argument("LoopingCall interval must be >= 0");
  im.running = true;
  im.interval = interval;
  im.deferred.emplace();
  Deferred<void> d = *im.deferred;
  im.starttime = im.clock.seconds();
  im.runAtStart = now;
  im.realLastTime.reset();
  if (now) {
    im.callNow();
  } else {
    im.scheduleFrom(im.starttime);
  }
  return d;
}

void LoopingCall::stop() {
  Impl& im = *impl_;
  if (!im.running) throw std::logic_error("LoopingCall::stop: not running");
  im.running = false;
  if (im.call.active()) {
    im.call.cancel();
    im.call = DelayedCall();
    Deferred<void> d = std::move(*im.deferred);
    im.deferred.reset();
    d.callback();
  }
}

void LoopingCall::reset() {
  Impl& im = *impl_;
  if (!im.running) throw std::logic_error("LoopingCall::reset: not running");
  if (im.call.active()) {
    im.call.cancel();
    im.starttime = im.clock.seconds();
    im.scheduleFrom(im.starttime);
  }
}

bool LoopingCall::running() const {
  return impl_->running;
}
double LoopingCall::interval() const {
  return impl_->interval;
}

// ---- Cooperator ---------------------------------------------------------------

struct CooperativeTask::Impl : std::enable_shared_from_this<CooperativeTask::Impl> {
  enum class State { Running, Done, Failed, Stopped, SchedulerStopped };

  Impl(std::weak_ptr<Cooperator::Impl> c, Job j) : coop(std::move(c)), job(std::move(j)) {}

  std::weak_ptr<Cooperator::Impl> coop;
  Job job;
  int pauseCount = 0;
  State state = State::Running;
  std::optional<Failure> result;  // for whenDone once finished
  std::vector<Deferred<void>> waiting;

  void oneWorkUnit();
  void completeWith(State s, std::optional<Failure> failure);
  void pauseInternal();
  void resumeInternal();
};

struct Cooperator::Impl : std::enable_shared_from_this<Cooperator::Impl> {
  Impl(IReactorTime& c, std::function<std::function<bool()>()> t)
      : clock(c), termination(std::move(t)) {}

  IReactorTime& clock;
  std::function<std::function<bool()>()> termination;
  std::vector<std::shared_ptr<CooperativeTask::Impl>> tasks;  // unpaused, unfinished
  DelayedCall scheduled;
  bool stopped = false;

  void addTask(const std::shared_ptr<CooperativeTask::Impl>& task) {
    if (stopped) {
      task->completeWith(CooperativeTask::Impl::State::SchedulerStopped,
                         Failure::of(error::SchedulerStopped()));
      return;
    }
    tasks.push_back(task);
    reschedule();
  }
  void removeTask(const CooperativeTask::Impl* task) {
    std::erase_if(tasks, [task](const auto& t) { return t.get() == task; });
    if (tasks.empty() && scheduled.active()) scheduled.cancel();
  }
  void reschedule() {
    if (tasks.empty() || stopped || scheduled.active()) return;
    // Not 0: a turn scheduled for "now" would run again in the same
    // Clock::advance. A tiny delay is still the next turn on a reactor.
    constexpr double kEpsilon = 1e-8;  // Twisted's _EPSILON
    std::weak_ptr<Impl> weak = shared_from_this();
    scheduled = clock.callLater(kEpsilon, [weak] {
      if (auto self = weak.lock()) self->tick();
    });
  }
  // One turn: steps round-robin until the termination predicate says stop.
  // The cursor carries over, so the next turn starts with the next task.
  void tick() {
    scheduled = DelayedCall();
    std::function<bool()> done = termination();
    while (!tasks.empty()) {
      if (cursor >= tasks.size()) cursor = 0;
      std::shared_ptr<CooperativeTask::Impl> t = tasks[cursor++];
      t->oneWorkUnit();  // may add, remove, pause or finish tasks
      if (cursor > 0 && (cursor > tasks.size() || tasks[cursor - 1] != t)) --cursor;  // t left
      if (done()) break;
    }
    reschedule();
  }
  std::size_t cursor = 0;
};

void CooperativeTask::Impl::oneWorkUnit() {
  JobStep step;
  try {
    step = job();
  } catch (...) {
    completeWith(State::Failed, Failure::current());
    return;
  }
  if (const bool* more = std::get_if<bool>(&step)) {
    if (!*more) completeWith(State::Done, std::nullopt);
    return;
  }
  // A Deferred: the task waits for it before its next step. The callbacks
  // keep the task alive meanwhile (a paused task is off the run list, and
  // coiterate() keeps no handle).
  pauseInternal();
  std::shared_ptr<Impl> keep = shared_from_this();
  std::get<Deferred<bool>>(step).addCallbacks(
      [keep](bool more) {
        Impl* self = keep.get();
        if (self->state != State::Running) return;
        if (!more) {
          self->completeWith(State::Done, std::nullopt);
        } else {
          self->resumeInternal();
        }
      },
      [keep](const Failure& failure) { keep->completeWith(State::Failed, failure); });
}

void CooperativeTask::Impl::completeWith(State s, std::optional<Failure> failure) {
  if (state != State::Running) return;
  state = s;
  result = std::move(failure);
  if (auto c = coop.lock()) c->removeTask(this);
  job.reset();  // free the job's captures now
  std::vector<Deferred<void>> ds = std::move(waiting);
  waiting.clear();
  for (auto& d : ds) {
    if (result) {
      d.errback(*result);
    } else {
      d.callback();
    }
  }
}

void CooperativeTask::Impl::pauseInternal() {
  if (++pauseCount == 1 && state == State::Running) {
    if (auto c = coop.lock()) c->removeTask(this);
  }
}

void CooperativeTask::Impl::resumeInternal() {
  if (pauseCount == 0) throw error::NotPaused();
  if (--pauseCount == 0 && state == State::Running) {
    if (auto c = coop.lock()) {
      c->addTask(shared_from_this());
    } else {
      completeWith(State::SchedulerStopped, Failure::of(error::SchedulerStopped()));
    }
  }
}

Deferred<void> CooperativeTask::whenDone() {
  Impl& t = *impl_;
  if (t.state == Impl::State::Running) {
    t.waiting.emplace_back();
    return t.waiting.back();
  }
  return t.result ? fail<void>(*t.result) : succeed();
}

void CooperativeTask::pause() {
  impl_->pauseInternal();
}
void CooperativeTask::resume() {
  impl_->resumeInternal();
}

void CooperativeTask::stop() {
  Impl& t = *impl_;
  switch (t.state) {
    case Impl::State::Running:
      t.completeWith(Impl::State::Stopped, Failure::of(error::TaskStopped()));
      return;
    case Impl::State::Done:
      throw error::TaskDone();
    case Impl::State::Failed:
      throw error::TaskFailed();
    case Impl::State::Stopped:
      throw error::TaskStopped();
    case Impl::State::SchedulerStopped:
      throw error::SchedulerStopped();
  }
}

Cooperator::Cooperator(IReactorTime& clock, double timeSlice)
    : Cooperator(clock, [timeSlice] {
        auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeSlice);
        return std::function<bool()>([end] { return std::chrono::steady_clock::now() >= end; });
      }) {}

Cooperator::Cooperator(IReactorTime& clock,
                       std::function<std::function<bool()>()> terminationFactory)
    : impl_(std::make_shared<Impl>(clock, std::move(terminationFactory))) {}

Cooperator::~Cooperator() {
  if (!impl_->stopped) stop();
}

CooperativeTask Cooperator::cooperate(Job job) {
  auto task = std::make_shared<CooperativeTask::Impl>(impl_, std::move(job));
  impl_->addTask(task);
  return CooperativeTask(task);
}

Deferred<void> Cooperator::coiterate(Job job) {
  return cooperate(std::move(job)).whenDone();
}

void Cooperator::stop() {
  Impl& c = *impl_;
  c.stopped = true;
  if (c.scheduled.active()) c.scheduled.cancel();
  auto tasks = std::move(c.tasks);
  c.tasks.clear();
  for (auto& t : tasks) {
    t->completeWith(CooperativeTask::Impl::State::SchedulerStopped,
                    Failure::of(error::SchedulerStopped()));
  }
}

bool Cooperator::running() const {
  return !impl_->stopped;
}

}  // namespace twisted::task
