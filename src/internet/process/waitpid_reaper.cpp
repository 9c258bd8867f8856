// WaitpidReaper and ChildWatcher: reaping on SIGCHLD.
#include "waitpid_reaper.hpp"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "../signals.hpp"
#include "process.hpp"
#include "twisted/internet/reactor.hpp"

namespace twisted::process {

bool WaitpidReaper::signal(int signal) {
  if (reaped_) return false;
  if (::kill(pid_, signal) == 0) return true;
  if (errno == ESRCH) return false;  // reaped by someone else (see PidfdReaper)
  throw std::system_error(errno, std::generic_category(),
                          "signalProcess(" + std::to_string(signal) + ")");
}

void WaitpidReaper::reap(std::optional<int> status) {
  reaped_ = true;
  // Let go of the watcher (and its eventfd, once nobody needs it); the
  // process may let go of this reaper below.
  auto keep = std::move(watcher_);
  if (auto p = process_.lock())
    p->reaped(status ? ExitStatus::fromWaitStatus(*status) : ExitStatus{});
}

ChildWatcher::ChildWatcher(Reactor& reactor) : reactor_(reactor) {
  eventFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (eventFd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  if (!detail::ChildSignals::watch(eventFd_)) {
    ::close(eventFd_);
    throw std::system_error(EMFILE, std::generic_category(),
                            "too many reactors reaping on SIGCHLD at once");
  }
}

ChildWatcher::~ChildWatcher() {
  detail::ChildSignals::unwatch(eventFd_);
  ::close(eventFd_);
}

void ChildWatcher::add(const std::shared_ptr<WaitpidReaper>& child) {
  children_[child->pid()] = child;
  if (!registered_) {
    registered_ = true;
    reactor_.addReader(shared_from_this());
  }
  // The handler was in place before the spawn: a child that has already
  // exited has written to the eventfd, and the next turn reaps it.
}

IOResult ChildWatcher::doRead() {
  std::uint64_t count;
  while (::read(eventFd_, &count, sizeof count) > 0) {
  }
  auto self = shared_from_this();
  std::vector<std::pair<std::shared_ptr<WaitpidReaper>, std::optional<int>>> done;
  for (auto it = children_.begin(); it != children_.end();) {
    auto child = it->second.lock();
    int status = 0;
    pid_t got = child ? ::waitpid(it->first, &status, WNOHANG) : -1;
    if (got == 0) {
      ++it;
      continue;
    }
    // ECHILD: someone else reaped it, or SIGCHLD is ignored; its status is lost.
    if (child) done.emplace_back(child, got > 0 ? std::optional<int>(status) : std::nullopt);
    it = children_.erase(it);
  }
  if (children_.empty()) {
    registered_ = false;
    reactor_.removeReader(*this);
  }
  for (auto& [child, status] : done) child->reap(status);
  return {};
}

void ChildWatcher::connectionLost(const Failure&) {
  registered_ = false;  // shutdown: the children's processes end too
}

std::shared_ptr<ChildWatcher> ReapingAccess::watcher(Reactor& reactor) {
  auto& mine = static_cast<ReactorProcess&>(reactor).childWatcher_;
  std::shared_ptr<ChildWatcher> watcher = mine.lock();
  if (!watcher) {
    watcher = std::make_shared<ChildWatcher>(reactor);
    mine = watcher;
  }
  return watcher;
}

}  // namespace twisted::process
