#include "signals.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>

namespace twisted::detail {
namespace {

std::atomic<int> g_wakeFd{-1};
std::atomic<unsigned> g_pending{0};
std::mutex g_mutex;  // serializes install/uninstall, never taken in a handler
struct sigaction g_old[3];
constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGCHLD};
constexpr unsigned kBits[3] = {kSigInt, kSigTerm, kSigChld};

// ChildSignals: the eventfds to write on SIGCHLD (-1: a free slot), and
// the SIGCHLD disposition from before the first of ours, called after ours.
constexpr int kChildSlots = 64;
std::atomic<int> g_childFds[kChildSlots];
std::atomic<bool> g_childHandler{false};
std::atomic<int> g_inChildHandler{0};  // handlers between reading a slot and writing it
struct sigaction g_chldBefore;
[[gnu::constructor]] void initChildSlots() {
  for (auto& slot : g_childFds) slot.store(-1);
}

void chainChild(int signum, siginfo_t* info, void* context) {
  const struct sigaction& before = g_chldBefore;
  if (before.sa_flags & SA_SIGINFO) {
    if (before.sa_sigaction) before.sa_sigaction(signum, info, context);
  } else if (before.sa_handler != SIG_DFL && before.sa_handler != SIG_IGN &&
             before.sa_handler != nullptr) {
    before.sa_handler(signum);
  }
}

extern "C" void onSignal(int signum, siginfo_t* info, void* context) {
  int saved = errno;  // a handler must not disturb the interrupted code
  if (signum == SIGCHLD && g_childHandler.load(std::memory_order_acquire)) {
    std::uint64_t one = 1;
    g_inChildHandler.fetch_add(1);
    for (auto& slot : g_childFds) {
      int fd = slot.load();
      // The system call itself, not write(): ThreadSanitizer orders nothing
      // a handler does, and would take this write to another thread's
      // eventfd (ordered by the slot's atomic) for a race.
      if (fd >= 0) [[maybe_unused]]
        long n = ::syscall(SYS_write, fd, &one, sizeof one);
    }
    g_inChildHandler.fetch_sub(1);
    chainChild(signum, info, context);
  }
  for (int i = 0; i < 3; ++i) {
    if (kSignals[i] == signum) g_pending.fetch_or(kBits[i], std::memory_order_relaxed);
  }
  int fd = g_wakeFd.load(std::memory_order_relaxed);
  if (fd >= 0) {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof one);
  }
  errno = saved;
}

// Across fork(): g_mutex is held by the forking thread, so neither side
// inherits it held by a thread it does not have. The child starts with the
// dispositions from before any reactor took them, and no owner: the
// owner's waker is the parent's (an eventfd both processes share), and a
// reactor the child runs installs the handlers afresh.
void lockForFork() {
  g_mutex.lock();
}
void unlockInParent() {
  g_mutex.unlock();
}
void resetInChild() {
  if (g_wakeFd.load() >= 0) {
    for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &g_old[i], nullptr);
    g_wakeFd.store(-1);
    g_pending.store(0);
  }
  // The parent's watchers are not the child's.
  if (g_childHandler.load()) {
    for (auto& slot : g_childFds) slot.store(-1);
    g_childHandler.store(false);
    ::sigaction(SIGCHLD, &g_chldBefore, nullptr);
  }
  g_mutex.unlock();
}
[[gnu::constructor]] void registerForkHandlers() {
  ::pthread_atfork(lockForFork, unlockInParent, resetInChild);
}

}  // namespace

bool SignalHandlers::install(int wakeFd) {
  std::lock_guard lock(g_mutex);
  if (g_wakeFd.load() >= 0) return false;
  g_pending.store(0);
  g_wakeFd.store(wakeFd);
  struct sigaction sa {};
  sa.sa_sigaction = onSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART | SA_SIGINFO;
  for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &sa, &g_old[i]);
  return true;
}

void SignalHandlers::uninstall(int wakeFd) {
  std::lock_guard lock(g_mutex);
  if (g_wakeFd.load() != wakeFd) return;
  for (int i = 0; i < 3; ++i) {
    if (kSignals[i] == SIGCHLD && g_childHandler.load()) continue;  // children's, kept
    ::sigaction(kSignals[i], &g_old[i], nullptr);
  }
  g_wakeFd.store(-1);
}

bool ChildSignals::watch(int eventFd) {
  std::lock_guard lock(g_mutex);
  for (auto& slot : g_childFds) {
    if (slot.load() >= 0) continue;
    slot.store(eventFd);
    if (!g_childHandler.load()) {
      // What was there before any of ours: a running reactor's saved one.
      struct sigaction current {};
      ::sigaction(SIGCHLD, nullptr, &current);
      g_chldBefore = g_wakeFd.load() >= 0 ? g_old[2] : current;
      struct sigaction sa {};
      sa.sa_sigaction = onSignal;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = SA_RESTART | SA_SIGINFO | SA_NOCLDSTOP;
      g_childHandler.store(true, std::memory_order_release);
      ::sigaction(SIGCHLD, &sa, nullptr);
    }
    return true;
  }
  return false;
}

void ChildSignals::unwatch(int eventFd) {
  std::lock_guard lock(g_mutex);
  for (auto& slot : g_childFds) {
    if (slot.load() == eventFd) slot.store(-1);
  }
  // A handler that read the slot before it was cleared may still write to
  // it: wait for those (a few instructions each; one interrupting this very
  // thread ends before the loop resumes).
  while (g_inChildHandler.load() != 0) {
  }
}

unsigned SignalHandlers::takePending() {
  // A plain load first: the loop asks every turn, and the answer is almost
  // always "none", which needs no locked exchange. A signal that lands
  // after the load has written to the waker, so the next turn sees it.
  if (g_pending.load(std::memory_order_relaxed) == 0) return 0;
  return g_pending.exchange(0);
}

}  // namespace twisted::detail
