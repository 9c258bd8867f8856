// The reactor: Twisted's event loop, as a value.
//
//   twisted::Reactor reactor;                      // epoll, or $TWISTED_REACTOR
//   reactor.callLater(1.5, [&] { reactor.stop(); });
//   reactor.run();                                 // returns after stop()
//
// A Reactor provides IReactorCore (run/stop/triggers), IReactorTime,
// IReactorFDSet and IReactorThreads. It is single-threaded: call it only from
// the thread that runs it, except callFromThread and wakeUp, which any thread
// may call. Several reactors may run in one process, one per thread, and a
// reactor that returned from run() may run again. Ownership rules are in
// docs/architecture.md.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "twisted/internet/backend.hpp"
#include "twisted/internet/deferred.hpp"
#include "twisted/internet/delayed_call.hpp"
#include "twisted/internet/interfaces.hpp"
#include "twisted/internet/reactor_process.hpp"
#include "twisted/internet/reactor_socket.hpp"
#include "twisted/internet/reactor_tcp.hpp"
#include "twisted/internet/reactor_udp.hpp"
#include "twisted/internet/reactor_unix.hpp"
#include "twisted/internet/reactor_unix_datagram.hpp"
#include "twisted/internet/resolver.hpp"
#include "twisted/internet/system_event.hpp"
#include "twisted/internet/transport.hpp"
#include "twisted/python/unique_function.hpp"

namespace twisted {

class ThreadPool;
class Reactor;
namespace detail {
class TransportHost;
TransportHost& transportHost(Reactor& reactor);
}  // namespace detail

/// Twisted's reactor: the event loop, with time (callLater), the FD set
/// (addReader/addWriter), threads (callFromThread, the thread pool), name
/// resolution, TCP, UNIX sockets, UDP, adopted sockets and child processes.
/// A value: build one per thread, run several at once.
/// The interfaces beyond the core are base classes implemented in folders
/// of their own (ReactorTCP: src/internet/tcp/).
class Reactor final : public IReactorTime,
                      public IReactorFDSet,
                      public IReactorThreads,
                      public IReactorPluggableNameResolver,
                      public ReactorTCP,
                      public ReactorUNIX,
                      public ReactorUNIXDatagram,
                      public ReactorUDP,
                      public ReactorSocket,
                      public ReactorProcess {
 public:
  /// Builds a reactor on `backend` (Default: $TWISTED_REACTOR, else epoll).
  /// @throws error::UnknownBackend for a bad $TWISTED_REACTOR value,
  ///   std::system_error when the kernel refuses (fd table full).
  explicit Reactor(Backend backend = Backend::Default);
  /// A reactor on the heap, for code that keeps it by pointer.
  /// @throws as the constructor.
  static std::unique_ptr<Reactor> create(Backend backend = Backend::Default);
  /// Stops the thread pool, cancels pending calls and drops registered
  /// descriptors (without calling connectionLost: run and stop the reactor
  /// for an orderly shutdown).
  ~Reactor() override;
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // ---- IReactorCore ------------------------------------------------------

  /// Fires "startup" and runs the loop until stop() (after the "shutdown"
  /// event) or crash(). With `installSignalHandlers`, SIGINT and SIGTERM stop
  /// the reactor cleanly while it runs (see exitSignal()).
  /// @throws error::ReactorAlreadyRunning when called inside run().
  void run(bool installSignalHandlers = true);
  /// Asks the loop to fire "shutdown" and end, on its next turn.
  /// @throws error::ReactorNotRunning if not running or already stopping.
  void stop();
  /// Ends the loop at once, without the shutdown event.
  void crash();
  /// Runs one turn of the loop: due calls, then one wait of at most `delay`
  /// seconds for I/O and its dispatch. Works whether or not run() is active.
  void iterate(double delay = 0);
  /// True from the "during startup" phase until stop() or crash().
  bool running() const;
  /// Calls `f` once the reactor is running (at once if it already is).
  void callWhenRunning(UniqueFunction<void()> f);

  /// Adds a trigger to `phase` of `event` ("startup", "shutdown" or any
  /// name given to fireSystemEvent). Triggers stay until removed and fire
  /// each time the event does, in the order added.
  TriggerId addSystemEventTrigger(Phase phase, std::string event, UniqueFunction<void()> f);
  /// As above, for a trigger that may keep the EventHold it is given to
  /// make the event wait (only meaningful for Phase::Before).
  TriggerId addSystemEventTrigger(Phase phase, std::string event,
                                  UniqueFunction<void(EventHold)> f);
  /// As above, for a trigger returning a Deferred (Twisted's asynchronous
  /// trigger): a "before" phase waits until it fires. A failure is logged
  /// (as Twisted's DeferredList of trigger results would report it) and the
  /// event goes on.
  template <class F>
  requires detail::isDeferred<std::invoke_result_t<F&>> TriggerId
  addSystemEventTrigger(Phase phase, std::string event, F f) {
    using T = detail::Unwrapped<std::invoke_result_t<F&>>;
    return addSystemEventTrigger(
        phase, std::move(event),
        UniqueFunction<void(EventHold)>([f = std::move(f)](EventHold hold) mutable {
          f().addBoth([hold](Outcome<T> outcome) mutable {
            hold.release();
            if (!outcome.succeeded()) logTriggerFailure(outcome.failure());
          });
        }));
  }
  /// @throws std::invalid_argument for an unknown id.
  void removeSystemEventTrigger(TriggerId id);
  /// Runs the three phases of `event`'s triggers.
  void fireSystemEvent(const std::string& event);

  // ---- IReactorTime ------------------------------------------------------

  double seconds() const override;
  /// @throws std::invalid_argument for a negative or NaN delay.
  DelayedCall callLater(double delay, UniqueFunction<void()> f) override;
  /// callLater with a std::chrono duration (`callLater(250ms, f)`).
  template <class Rep, class Period>
  DelayedCall callLater(std::chrono::duration<Rep, Period> delay, UniqueFunction<void()> f) {
    return callLater(std::chrono::duration<double>(delay).count(), std::move(f));
  }
  std::vector<DelayedCall> getDelayedCalls() const override;

  // ---- IReactorFDSet -----------------------------------------------------

  /// @throws std::invalid_argument if reader->fileno() < 0,
  ///   error::BackendLimitError (select, fd >= FD_SETSIZE), std::system_error.
  void addReader(std::shared_ptr<IReadDescriptor> reader) override;
  void addWriter(std::shared_ptr<IWriteDescriptor> writer) override;
  /// Removing what is not registered does nothing.
  void removeReader(const IReadDescriptor& reader) override;
  void removeWriter(const IWriteDescriptor& writer) override;
  std::vector<std::shared_ptr<IFileDescriptor>> removeAll() override;
  std::vector<std::shared_ptr<IReadDescriptor>> getReaders() const override;
  std::vector<std::shared_ptr<IWriteDescriptor>> getWriters() const override;

  // ---- IReactorThreads ---------------------------------------------------

  void callFromThread(UniqueFunction<void()> f) override;
  void callInThread(UniqueFunction<void()> f) override;
  void suggestThreadPoolSize(int size) override;
  /// The reactor's pool (0 to 10 threads by default), created on first use,
  /// started when the reactor runs and stopped during shutdown.
  ThreadPool& getThreadPool();
  /// Thread-safe: makes a sleeping loop return from its wait now.
  void wakeUp();
  /// True on the thread that runs (or last ran, or built) this reactor.
  bool isInIOThread() const;

  // ---- IReactorPluggableNameResolver -----------------------------------------

  /// The resolver connectTCP and HostnameEndpoint use (a ThreadedResolver
  /// until another is installed).
  IHostnameResolver& nameResolver() override;
  void installNameResolver(std::shared_ptr<IHostnameResolver> resolver) override;

  // ---- for transport implementers ----------------------------------------------

  /// Keeps `d` alive and known to the reactor while it is open, whether or
  /// not it is reading or writing (a paused connection is registered
  /// nowhere). At shutdown and in the destructor, every descriptor still
  /// tracked gets connectionLost(ConnectionLost); it must untrack itself
  /// there. docs/architecture.md gives the rules.
  void track(std::shared_ptr<IFileDescriptor> d);
  /// Stops tracking `d`; it is released only after the current dispatch.
  void untrack(const IFileDescriptor& d);
  /// How many descriptors are tracked (open connections and ports).
  std::size_t trackedCount() const;

  // ---- about this reactor --------------------------------------------------

  /// The backend this reactor polls with (select, poll, epoll or iouring;
  /// epoll where iouring was asked for and the kernel refused it).
  Backend backend() const;
  /// The signal (SIGINT or SIGTERM) that stopped the last run, if any.
  std::optional<int> exitSignal() const;

  struct Impl;

 private:
  // The narrow interface its transports use (src/internet/stream/).
  friend detail::TransportHost& detail::transportHost(Reactor& reactor);
  static void logTriggerFailure(const Failure& failure);
  std::unique_ptr<Impl> impl_;
};

/// A process-wide reactor built on first use, for small programs (Twisted's
/// `from twisted.internet import reactor`). The library never uses it.
Reactor& defaultReactor();

}  // namespace twisted
