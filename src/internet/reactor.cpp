// The reactor's core: construction, run/stop/crash, and the main loop.
#include "twisted/internet/reactor.hpp"

#include <pthread.h>

#include <cmath>
#include <cstdlib>
#include <exception>
#include <new>
#include <stdexcept>

#include "hot_path.hpp"
#include "reactor_impl.hpp"
#include "signals.hpp"
#include "twisted/internet/error.hpp"

namespace twisted {

namespace {
double steadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

Reactor::Impl::Impl(Reactor& owner, Backend chosen)
    : self(owner),
      backend(resolveBackend(chosen)),
      events(owner),
      waker(std::make_shared<detail::Waker>(&wakerFired)) {
  poller = detail::makePoller(backend);  // declared first (hot), built once the backend is known
  backend = backendFromName(poller->name());  // io_uring may have fallen back to epoll
  timers.setTimeSource([](const void*) { return steadySeconds(); }, nullptr);
  timers.setOwner(&this->owner, &started);
}

Reactor::Reactor(Backend backend) : impl_(std::make_unique<Impl>(*this, backend)) {
  Impl& im = *impl_;
  if (detail::Completions* c = im.poller->completions(); c && c->startCounter(im.waker->fileno())) {
    im.waker->readByBackend();
  }
  im.self.addReader(im.waker);
  im.slots[im.waker->fileno()].internal = true;
  // The built-in triggers, first in their phases as in Twisted's ReactorBase.
  addSystemEventTrigger(Phase::During, "startup", [&im] {
    im.isRunning = true;
    if (im.wantSignals) {
      im.ownsSignals = detail::SignalHandlers::install(im.waker->fileno());
    }
  });
  addSystemEventTrigger(Phase::During, "shutdown", [this] { crash(); });
  addSystemEventTrigger(Phase::During, "shutdown", [&im] { im.disconnectAll(); });
}

std::unique_ptr<Reactor> Reactor::create(Backend backend) {
  return std::make_unique<Reactor>(backend);
}

Reactor::~Reactor() {
  Impl& im = *impl_;
  // Open connections first, while everything still works: their protocols
  // get connectionLost and the transport/protocol cycles are broken.
  {
    Impl::Frame frame(im);
    im.loseTracked();
  }
  im.events.detachHolds();
  if (im.ownsSignals) detail::SignalHandlers::uninstall(im.waker->fileno());
  if (im.threadPool) im.threadPool->stop();
  // Queued thread calls are dropped, not run: nothing may touch a dying reactor.
  im.threadCalls.clear();
  for (auto& slot : im.slots) {
    if (slot.mask) {
      slot.reader.reset();
      slot.writer.reset();
    }
  }
  im.graveyard.clear();
}

// ---- run / stop ---------------------------------------------------------

void Reactor::run(bool installSignalHandlers) {
  Impl& im = *impl_;
  if (im.started) throw error::ReactorAlreadyRunning();
  im.owner = ::pthread_self();  // before `started`: the checks compare with it
  im.started = true;
  im.stopped = false;
  im.exitSignal.reset();
  im.wantSignals = installSignalHandlers;
  im.ioThread = std::this_thread::get_id();
  // Deferreds made by this loop belong to this thread (thread_check.hpp).
  struct LoopMark {
    bool outer = detail::t_inReactorLoop;
    LoopMark() { detail::t_inReactorLoop = true; }
    ~LoopMark() { detail::t_inReactorLoop = outer; }
    LoopMark(const LoopMark&) = delete;
    LoopMark& operator=(const LoopMark&) = delete;
  } mark;
  fireSystemEvent("startup");
  im.mainLoop();
}

TWISTED_HOT void Reactor::Impl::mainLoop() {
  while (started) {
    try {
      while (started) {
        // Most turns of a busy server have nothing but I/O to do.
        if (quiet()) {
          doIteration(-1);
          continue;
        }
        runUntilCurrent();
        if (!started) break;
        doIteration(detail::timeoutMillis(timeout()));
      }
    } catch (...) {
      // Only the backend itself can throw here (user code is caught at its
      // call site); log and keep the loop alive, as Twisted's mainLoop does.
      log.failure("Unexpected error in main loop", Failure::current());
    }
  }
  isRunning = false;
  if (ownsSignals) {
    detail::SignalHandlers::uninstall(waker->fileno());
    ownsSignals = false;
  }
  releaseGraveyard();
}

void Reactor::stop() {
  impl_->checkThread("Reactor::stop");
  Impl& im = *impl_;
  if (im.stopped) {
    // Say which: a second stop() during shutdown is a different mistake
    // from a stop() with no run() at all.
    throw error::ReactorNotRunning(im.started ? "it is already stopping" : "it is not running");
  }
  im.stopped = true;
  im.justStopped = true;
}

void Reactor::crash() {
  impl_->checkThread("Reactor::crash");
  impl_->started = false;
  impl_->isRunning = false;
}

void Reactor::iterate(double delay) {
  impl_->checkThread("Reactor::iterate");
  impl_->runUntilCurrent();
  impl_->doIteration(detail::timeoutMillis(delay));
}

bool Reactor::running() const {
  return impl_->isRunning;
}

void Reactor::callWhenRunning(UniqueFunction<void()> f) {
  impl_->checkThread("Reactor::callWhenRunning");
  if (impl_->isRunning) {
    f();
    return;
  }
  // A one-shot "after startup" trigger, so that it keeps its place among
  // the other triggers but does not fire again if the reactor is restarted.
  auto id = std::make_shared<TriggerId>(0);
  *id = addSystemEventTrigger(Phase::After, "startup", [this, id, f = std::move(f)]() mutable {
    removeSystemEventTrigger(*id);
    f();
  });
}

TriggerId Reactor::addSystemEventTrigger(Phase phase, std::string event, UniqueFunction<void()> f) {
  impl_->checkThread("Reactor::addSystemEventTrigger");
  return impl_->events.add(phase, std::move(event), [f = std::move(f)](EventHold) mutable { f(); });
}

TriggerId Reactor::addSystemEventTrigger(Phase phase, std::string event,
                                         UniqueFunction<void(EventHold)> f) {
  return impl_->events.add(phase, std::move(event), std::move(f));
}

void Reactor::removeSystemEventTrigger(TriggerId id) {
  impl_->checkThread("Reactor::removeSystemEventTrigger");
  impl_->events.remove(id);
}

void Reactor::fireSystemEvent(const std::string& event) {
  impl_->checkThread("Reactor::fireSystemEvent");
  impl_->events.fire(event);
}

void Reactor::logTriggerFailure(const Failure& failure) {
  static const logger::Logger log("twisted.internet.base");
  log.failure("A system event trigger's Deferred failed", failure, {}, logger::LogLevel::error);
}

// ---- time ---------------------------------------------------------------

double Reactor::seconds() const {
  return steadySeconds();
}

DelayedCall Reactor::callLater(double delay, UniqueFunction<void()> f) {
  impl_->checkThread("Reactor::callLater");
  if (!(delay >= 0)) throw std::invalid_argument("callLater needs a delay >= 0 seconds");
  return impl_->timers.schedule(steadySeconds() + delay, std::move(f));
}

std::vector<DelayedCall> Reactor::getDelayedCalls() const {
  impl_->checkThread("Reactor::getDelayedCalls");
  return impl_->timers.pending();
}

// ---- one turn of the loop -------------------------------------------------

namespace {
void logTimerError(const Failure& failure) {
  static const logger::Logger log("twisted.internet.reactor");
  log.failure("Unhandled error in a delayed call", failure, {}, logger::LogLevel::error);
}
}  // namespace

void Reactor::Impl::releaseGraveyard() {
  if (depth == 0 && !graveyard.empty()) graveyard.clear();
}

TWISTED_HOT void Reactor::Impl::runUntilCurrent() {
  Impl::Frame frame(*this);
  if (justStopped) {
    justStopped = false;
    self.fireSystemEvent("shutdown");
  }
  runThreadCalls();
  // A signal handler always writes to the waker, so signals need a look
  // only after it fired.
  if (wakerFired) {
    wakerFired = false;
    if (ownsSignals) handleSignals();
  }
  // Read the clock only when a timer is pending, and run only when one is
  // due: an I/O-only turn costs no clock read.
  if (std::optional<double> next = timers.nextTime()) {
    double now = steadySeconds();
    if (*next <= now) timers.runDue(now, /*batch=*/true, logTimerError);
  }
}

TWISTED_HOT double Reactor::Impl::timeout() {
  if (justStopped || callsPending.load(std::memory_order_acquire)) return 0;
  std::optional<double> next = timers.nextTime();
  if (!next) return -1;
  double wait = *next - steadySeconds();
  return wait > 0 ? wait : 0;
}

// ---- about ----------------------------------------------------------------

Backend Reactor::backend() const {
  return impl_->backend;
}

std::optional<int> Reactor::exitSignal() const {
  return impl_->exitSignal;
}

bool Reactor::isInIOThread() const {
  return std::this_thread::get_id() == impl_->ioThread;
}

namespace {
// Built under pthread_once rather than as a function-local static: a child
// forked while another thread is building it would wait forever on the
// static's guard, while glibc's pthread_once starts the build again in the
// child. Destroyed at exit, as a static would be.
pthread_once_t g_defaultOnce = PTHREAD_ONCE_INIT;
alignas(Reactor) unsigned char g_defaultStorage[sizeof(Reactor)];
Reactor* g_default = nullptr;
std::exception_ptr g_defaultFailed;  // a refused backend: every call throws it
void buildDefaultReactor() {
  try {
    g_default = new (g_defaultStorage) Reactor();
    std::atexit([] { g_default->~Reactor(); });
  } catch (...) {
    g_defaultFailed = std::current_exception();
  }
}
}  // namespace

// ---- IReactorPluggableNameResolver --------------------------------------------

IHostnameResolver& Reactor::nameResolver() {
  impl_->checkThread("Reactor::nameResolver");
  if (!impl_->resolver) impl_->resolver = std::make_shared<ThreadedResolver>(*this);
  return *impl_->resolver;
}

void Reactor::installNameResolver(std::shared_ptr<IHostnameResolver> resolver) {
  impl_->checkThread("Reactor::installNameResolver");
  impl_->resolver = std::move(resolver);
}

// ---- for transports ------------------------------------------------------------

detail::TransportHost& detail::transportHost(Reactor& reactor) {
  return reactor.impl_->transportHost;
}

Reactor& defaultReactor() {
  ::pthread_once(&g_defaultOnce, buildDefaultReactor);
  if (!g_default) std::rethrow_exception(g_defaultFailed);
  return *g_default;
}

}  // namespace twisted
