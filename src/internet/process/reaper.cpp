// Reaper: a child's pidfd, read when it exits.
#include "reaper.hpp"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "process.hpp"
#include "twisted/internet/error.hpp"

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
}  // namespace

Reaper::Reaper(std::weak_ptr<Process> process, pid_t pid) : process_(std::move(process)) {
  pidfd_ = pidfdOpen(pid);
  // (Always close-on-exec.)
  if (pidfd_ < 0) throw std::system_error(errno, std::generic_category(), "pidfd_open");
}

Reaper::~Reaper() {
  if (pidfd_ >= 0) ::close(pidfd_);
}

IOResult Reaper::doRead() {
  siginfo_t info{};
  if (::waitid(P_PIDFD, static_cast<id_t>(pidfd_), &info, WEXITED | WNOHANG) != 0) {
    if (errno == EINTR) return {};
    // ECHILD: someone else reaped it (waitpid(-1) elsewhere); its status is lost.
    reaped_ = true;
    if (auto p = process_.lock()) p->reaped(0, std::nullopt, std::nullopt);
    return Failure::of(error::ConnectionDone());
  }
  if (info.si_pid == 0) return {};  // not yet
  reaped_ = true;
  std::optional<int> exitCode, signal;
  int status = 0;
  if (info.si_code == CLD_EXITED) {
    exitCode = info.si_status;
    status = info.si_status << 8;
  } else {
    signal = info.si_status;
    status = info.si_status | (info.si_code == CLD_DUMPED ? 0x80 : 0);
  }
  if (auto p = process_.lock()) p->reaped(status, exitCode, signal);
  return Failure::of(error::ConnectionDone());  // done: the reactor lets go
}

void Reaper::connectionLost(const Failure&) {
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
}

bool Reaper::signal(int signal) {
  if (reaped_ || pidfd_ < 0) return false;
  if (pidfdSendSignal(pidfd_, signal) == 0) return true;
  // ESRCH: it has exited but is not reaped yet: as good as delivered.
  return errno == ESRCH;
}

}  // namespace twisted::process
