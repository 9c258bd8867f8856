// IReactorThreads: callFromThread, the waker, the thread pool; signals.
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

#include "reactor_impl.hpp"
#include "signals.hpp"

namespace twisted {

namespace detail {

Waker::Waker(bool* fired) : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)), fired_(fired) {
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

Waker::~Waker() {
  ::close(fd_);
}

IOResult Waker::doRead() {
  if (!readByBackend_) {
    std::uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(fd_, &count, sizeof count);  // drain
  }
  *fired_ = true;
  return std::nullopt;
}

void Waker::wake() const noexcept {
  std::uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the loop will wake anyway.
  [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof one);
}

}  // namespace detail

void Reactor::callFromThread(UniqueFunction<void()> f) {
  Impl& im = *impl_;
  {
    std::lock_guard lock(im.callsMutex);
    im.threadCalls.push_back(std::move(f));
  }
  // One wake-up per batch: later callers see the flag set and skip the write.
  if (!im.callsPending.exchange(true, std::memory_order_acq_rel)) im.waker->wake();
}

void Reactor::wakeUp() {
  impl_->waker->wake();
}

void Reactor::Impl::runThreadCalls() {
  // Clear the flag before taking the queue: a call queued after the swap
  // sets it again (and wakes us), so nothing is ever stranded.
  // A plain load first: most turns have no thread calls, and a load costs
  // less than an atomic exchange.
  if (!callsPending.load(std::memory_order_acquire) ||
      !callsPending.exchange(false, std::memory_order_acq_rel)) {
    return;
  }
  {
    std::lock_guard lock(callsMutex);
    runningCalls.swap(threadCalls);
  }
  // Only what was queued before this point runs now (Twisted's rule): calls
  // added by these callbacks wait for the next turn.
  std::vector<UniqueFunction<void()>> calls = std::move(runningCalls);
  for (auto& f : calls) {
    try {
      f();
    } catch (...) {
      log.failure("Unhandled error in a call from a thread", Failure::current(), {},
                  logger::LogLevel::error);
    }
    f.reset();
  }
  calls.clear();
  runningCalls = std::move(calls);
}

void Reactor::Impl::handleSignals() {
  unsigned bits = detail::SignalHandlers::takePending();
  if (bits & (detail::kSigInt | detail::kSigTerm)) {
    exitSignal = (bits & detail::kSigInt) ? SIGINT : SIGTERM;
    log.info("Received {signal}, shutting down.",
             {{"signal", (bits & detail::kSigInt) ? "SIGINT" : "SIGTERM"}});
    if (!stopped) self.stop();
  }
  // kSigChld: reaping needs nothing from here. Children are reaped by
  // their pidfds, or, without pidfds, by each reactor's ChildWatcher, whose
  // eventfd the same handler writes (process/waitpid_reaper.hpp).
}

ThreadPool& Reactor::getThreadPool() {
  impl_->checkThread("Reactor::getThreadPool");
  Impl& im = *impl_;
  if (!im.threadPool) {
    im.threadPool = std::make_unique<ThreadPool>(0, 10, "twisted.internet.reactor");
    callWhenRunning([&im] {
      if (im.threadPool) im.threadPool->start();
    });
    im.poolShutdownTrigger =
        addSystemEventTrigger(Phase::During, "shutdown", [&im] { im.stopThreadPool(); });
  }
  return *im.threadPool;
}

void Reactor::Impl::stopThreadPool() {
  if (poolShutdownTrigger) {
    self.removeSystemEventTrigger(poolShutdownTrigger);
    poolShutdownTrigger = 0;
  }
  if (threadPool) {
    threadPool->stop();
    threadPool.reset();
  }
}

void Reactor::callInThread(UniqueFunction<void()> f) {
  getThreadPool().callInThread(std::move(f));
}

void Reactor::suggestThreadPoolSize(int size) {
  impl_->checkThread("Reactor::suggestThreadPoolSize");
  ThreadPool& pool = getThreadPool();
  pool.adjustPoolsize(std::min(pool.minThreads(), size), size);
}

}  // namespace twisted
