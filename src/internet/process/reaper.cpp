// PidfdReaper, the reaping mode, and the choice between the two reapers.
#include "reaper.hpp"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string_view>
#include <system_error>

#include "process.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/logger/logger.hpp"
#include "waitpid_reaper.hpp"

namespace twisted::process {

namespace {
// System calls, not glibc 2.36's wrappers: its <sys/pidfd.h> declares them
// without extern "C", so C++ cannot link them.
int pidfdOpen(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}
int pidfdSendSignal(int pidfd, int signal) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0));
}

ReapingMode decideMode() {
  const char* asked = std::getenv("TWISTED_PROCESS_REAPER");
  if (asked && std::string_view(asked) == "sigchld") return ReapingMode::Sigchld;
  int probe = pidfdOpen(::getpid());
  if (probe >= 0) {
    ::close(probe);
    return ReapingMode::Pidfd;
  }
  int err = errno;
  static const logger::Logger log("twisted.internet.process");
  log.info("No pidfds here (pidfd_open: {error}); children are reaped on SIGCHLD",
           {{"error", std::string(std::strerror(err))}});
  return ReapingMode::Sigchld;
}
}  // namespace

ExitStatus ExitStatus::fromWaitStatus(int status) {
  ExitStatus out;
  out.status = status;
  if (WIFEXITED(status)) {
    out.exitCode = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
  }
  return out;
}

ExitStatus ExitStatus::fromSiginfo(int code, int value) {
  if (code == CLD_EXITED) return fromWaitStatus(value << 8);
  return fromWaitStatus(value | (code == CLD_DUMPED ? 0x80 : 0));
}

ReapingMode reapingMode() {
  static const ReapingMode mode = decideMode();
  return mode;
}

std::shared_ptr<void> prepareReaping(Reactor& reactor) {
  if (reapingMode() == ReapingMode::Sigchld) return ReapingAccess::watcher(reactor);
  return nullptr;
}

std::shared_ptr<Reaper> startReaping(Reactor& reactor, std::weak_ptr<Process> process, pid_t pid) {
  if (reapingMode() == ReapingMode::Sigchld) {
    auto watcher = ReapingAccess::watcher(reactor);
    auto reaper = std::make_shared<WaitpidReaper>(std::move(process), pid, watcher);
    watcher->add(reaper);
    return reaper;
  }
  auto reaper = std::make_shared<PidfdReaper>(std::move(process), pid);
  reactor.addReader(reaper);
  return reaper;
}

// ---- PidfdReaper ----------------------------------------------------------------

PidfdReaper::PidfdReaper(std::weak_ptr<Process> process, pid_t pid) : process_(std::move(process)) {
  pidfd_ = pidfdOpen(pid);  // (always close-on-exec)
  if (pidfd_ < 0) throw std::system_error(errno, std::generic_category(), "pidfd_open");
}

PidfdReaper::~PidfdReaper() {
  if (pidfd_ >= 0) ::close(pidfd_);
}

namespace {
// The reaper's own end, the same every time: one immutable Failure (an
// exception built per child was a visible share of its parent CPU).
const Failure& reaperDone() {
  static const Failure done = Failure::of(error::ConnectionDone());
  return done;
}
}  // namespace

IOResult PidfdReaper::doRead() {
  siginfo_t info{};
  if (::waitid(P_PIDFD, static_cast<id_t>(pidfd_), &info, WEXITED | WNOHANG) != 0) {
    if (errno == EINTR) return {};
    // ECHILD: someone else reaped it (waitpid(-1) elsewhere, or SIGCHLD
    // ignored); its status is lost.
    reaped_ = true;
    if (auto p = process_.lock()) p->reaped(ExitStatus{});
    return reaperDone();
  }
  if (info.si_pid == 0) return {};  // not yet
  reaped_ = true;
  if (auto p = process_.lock()) p->reaped(ExitStatus::fromSiginfo(info.si_code, info.si_status));
  return reaperDone();  // done: the reactor lets go
}

void PidfdReaper::connectionLost(const Failure&) {
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
}

bool PidfdReaper::signal(int signal) {
  if (reaped_ || pidfd_ < 0) return false;
  if (pidfdSendSignal(pidfd_, signal) == 0) return true;
  // ESRCH: gone altogether (a child that has only exited is a zombie, and
  // takes the signal): someone else has reaped it, which is, as for
  // Twisted's ESRCH, a process that has exited already.
  if (errno == ESRCH) return false;
  throw std::system_error(errno, std::generic_category(),
                          "signalProcess(" + std::to_string(signal) + ")");
}

}  // namespace twisted::process
