// Reactor internals shared by reactor*.cpp. Not installed.
#pragma once

#include <pthread.h>

#include <atomic>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "poller/poller.hpp"
#include "stream/transport_host.hpp"
#include "system_events.hpp"
#include "timer_queue.hpp"
#include "tracked_set.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/logger/logger.hpp"
#include "twisted/python/thread_check.hpp"
#include "twisted/python/threadpool.hpp"

namespace twisted {

namespace detail {
/// The eventfd that callFromThread, wakeUp and signal handlers write to.
class Waker final : public IReadDescriptor {
 public:
  /// `fired` is set on every read, so the loop looks at signals only after
  /// the waker fired rather than on every turn.
  explicit Waker(bool* fired);
  ~Waker() override;
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;
  int fileno() const override { return fd_; }
  IOResult doRead() override;
  void connectionLost(const Failure&) override {}
  std::string logPrefix() const override { return "waker"; }
  void wake() const noexcept;  // async-signal-safe
  /// The backend reads the counter itself (an eventfd read in io_uring):
  /// doRead only notes that it fired, one system call fewer per wake-up.
  void readByBackend() { readByBackend_ = true; }

 private:
  int fd_;
  bool* fired_;
  bool readByBackend_ = false;
};

/// What the reactor offers its transports (stream/transport_host.hpp).
class ReactorTransportHost final : public TransportHost {
 public:
  ReactorTransportHost(Reactor& reactor, Reactor::Impl& impl, ReadArena& arena)
      : reactor_(reactor), impl_(impl), arena_(arena) {}
  IReactorFDSet& fdset() override { return reactor_; }
  IReactorTime& clock() override { return reactor_; }
  void track(std::shared_ptr<IFileDescriptor> d) override { reactor_.track(std::move(d)); }
  void untrack(const IFileDescriptor& d) override { reactor_.untrack(d); }
  ReadArena& readArena() override { return arena_; }
  void addExclusiveReader(std::shared_ptr<IReadDescriptor> reader) override;  // reactor_fdset.cpp
  Completions* completions() override;                                        // reactor_fdset.cpp

 private:
  Reactor& reactor_;
  Reactor::Impl& impl_;
  ReadArena& arena_;
};
}  // namespace detail

// Aligned so that the fields every turn of the loop reads share a cache
// line: after the loop has slept, and others have run on its core, each
// line it touches is a miss (docs/performance.md).
struct alignas(64) Reactor::Impl final {
  explicit Impl(Reactor& self, Backend backend);
  // In the connection pool: the loop's state shares the huge page of the
  // transports it dispatches to (docs/performance.md).
  TWISTED_POOLED_NEW(Impl)

  // One watched fd. `generation` changes whenever a descriptor leaves the
  // slot, so events read before the change are recognised as stale.
  struct Slot {
    // What each event reads first (generation, then the reader's pointer)
    // lies in the slot's first 16 bytes, which never straddle a cache line.
    std::uint32_t generation = 0;
    unsigned mask = 0;
    std::shared_ptr<IReadDescriptor> reader;
    std::shared_ptr<IWriteDescriptor> writer;
    bool internal = false;  // the waker: hidden from getReaders/removeAll
    // Wake one of the reactors waiting on this file (kExclusive): set by
    // addExclusiveReader, cleared when the fd is no longer watched.
    bool exclusive = false;
  };

  // ---- hot: what a turn of the loop reads, first and together
  std::unique_ptr<detail::Poller> poller;
  std::vector<Slot, PoolAllocator<Slot>> slots;
  detail::FiredList firedBuffer;
  int depth = 0;
  // run state, as Twisted's ReactorBase: started (loop active), stopped
  // (stop() called or never started), running (after "during startup").
  bool started = false;
  bool justStopped = false;
  bool wakerFired = false;  // set by the waker's read; see handleSignals
  bool ownsSignals = false;
  // Descriptors removed while something may still be running on them; freed
  // when no reactor frame is on the stack (docs/architecture.md).
  std::vector<std::shared_ptr<void>> graveyard;
  std::atomic<bool> callsPending{false};
  detail::ReadArena readArena;
  detail::TimerQueue timers;

  /// Nothing to do before the next wait: no timer, thread call, signal or
  /// shutdown pending. Such a turn skips runUntilCurrent and waits with no
  /// time limit, reading no clock.
  bool quiet() const {
    return !justStopped && !wakerFired && timers.empty() &&
           !callsPending.load(std::memory_order_acquire);
  }

  struct Frame;

  // --- loop (reactor.cpp; doIteration is with dispatch in reactor_fdset.cpp)
  void mainLoop();
  void runUntilCurrent();
  double timeout();
  void doIteration(int timeoutMs);  // -1: no limit
  void releaseGraveyard();

  // --- fd set (reactor_fdset.cpp)
  Slot& slotFor(int fd);
  int findFd(const IFileDescriptor& d) const;
  void setMask(int fd, Slot& slot, unsigned mask);
  void dropReader(int fd, Slot& slot);
  void dropWriter(int fd, Slot& slot);
  void dispatch(const detail::FiredEvent& event);
  // The rare events (hang-up, error, a closed fd), out of the hot path.
  void dispatchEnd(const detail::FiredEvent& event, Slot& slot);
  void dispatchFailed(IFileDescriptor* target, std::exception_ptr error, bool inRead);
  void disconnectSelectable(IFileDescriptor& d, const Failure& why, bool isRead);
  void disconnectAll();
  static IFileDescriptor* asFileMutable(const std::shared_ptr<IReadDescriptor>& r);
  static IFileDescriptor* asFileMutable(const std::shared_ptr<IWriteDescriptor>& w);

  // --- threads and signals (reactor_threads.cpp)
  void runThreadCalls();
  void handleSignals();
  void stopThreadPool();

  // ---- cold
  Reactor& self;
  detail::ReactorTransportHost transportHost{self, *this, readArena};
  Backend backend;
  detail::SystemEvents events;
  bool stopped = true;
  bool isRunning = false;
  bool wantSignals = false;
  std::optional<int> exitSignal;
  std::thread::id ioThread = std::this_thread::get_id();
  pthread_t owner = ::pthread_self();  // the thread that runs it (or built it)
  /// In debug builds, while the loop runs, aborts on a call from another
  /// thread (twisted/python/thread_check.hpp). A reactor that is not
  /// running may be handed from thread to thread.
  void checkThread(const char* what) const {
    if (started) detail::checkThread(owner, what);
  }

  // thread calls
  std::shared_ptr<detail::Waker> waker;
  std::mutex callsMutex;
  std::vector<UniqueFunction<void()>> threadCalls;
  std::vector<UniqueFunction<void()>> runningCalls;

  // Open transports and ports (Reactor::track), and the name resolver.
  detail::TrackedSet tracked;
  std::shared_ptr<IHostnameResolver> resolver;
  void loseTracked();

  std::unique_ptr<ThreadPool> threadPool;
  TriggerId poolShutdownTrigger = 0;

  logger::Logger log{"twisted.internet.reactor"};
};

// Counts reactor frames on the stack, so the graveyard is emptied only when
// no callback can still be running on a removed descriptor.
struct Reactor::Impl::Frame {
  explicit Frame(Impl& im) : im(im) { ++im.depth; }
  ~Frame() {
    if (--im.depth == 0 && !im.graveyard.empty()) im.releaseGraveyard();
  }
  Frame(const Frame&) = delete;
  Frame& operator=(const Frame&) = delete;
  Impl& im;
};

}  // namespace twisted
