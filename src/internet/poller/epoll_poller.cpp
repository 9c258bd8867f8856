// epoll(7): O(ready fds) per wait; the default on Linux.
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

#include "../direct_syscall.hpp"
#include "../hot_path.hpp"
#include "poller.hpp"

namespace twisted::detail {
namespace {

// Aligned: the loop reads it every turn, and it fits one cache line.
class alignas(64) EpollPoller final : public Poller {
 public:
  EpollPoller() : epfd_(::epoll_create1(EPOLL_CLOEXEC)), events_(64) {
    if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  }
  ~EpollPoller() override { ::close(epfd_); }
  EpollPoller(const EpollPoller&) = delete;
  EpollPoller& operator=(const EpollPoller&) = delete;

  const char* name() const override { return "epoll"; }

  void update(int fd, unsigned oldMask, unsigned newMask) override {
    epoll_event ev{};
    ev.events = ((newMask & kRead) ? EPOLLIN : 0u) | ((newMask & kWrite) ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    if (newMask == 0) {
      // A closed fd has already left the set: nothing to undo.
      if (::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev) < 0 && errno != ENOENT && errno != EBADF) {
        throw std::system_error(errno, std::generic_category(), "epoll_ctl(DEL)");
      }
      return;
    }
    int op = oldMask == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (::epoll_ctl(epfd_, op, fd, &ev) == 0) return;
    // The fd number may have been closed and reused behind our back, which
    // removes it from the set (ENOENT on MOD), or be registered already.
    int retry = errno == ENOENT ? EPOLL_CTL_ADD : errno == EEXIST ? EPOLL_CTL_MOD : -1;
    if (retry < 0 || ::epoll_ctl(epfd_, retry, fd, &ev) < 0) {
      throw std::system_error(errno, std::generic_category(), "epoll_ctl");
    }
  }

  TWISTED_HOT void poll(int timeoutMs, std::vector<FiredEvent>& fired) override {
    int n = sys::epollWait(epfd_, events_.data(), static_cast<int>(events_.size()), timeoutMs);
    if (n < 0) {
      if (errno == EINTR) return;
      throw std::system_error(errno, std::generic_category(), "epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      const epoll_event& e = events_[i];
      unsigned ev = 0;
      if (e.events & (EPOLLIN | EPOLLPRI)) ev |= kRead;
      if (e.events & EPOLLOUT) ev |= kWrite;
      if (e.events & EPOLLHUP) ev |= kHangup;
      if (e.events & EPOLLERR) ev |= kError;
      fired.push_back({e.data.fd, ev});
    }
    // A full batch suggests more are ready: take more next time.
    if (static_cast<std::size_t>(n) == events_.size() && events_.size() < 4096) {
      events_.resize(events_.size() * 2);
    }
  }

 private:
  int epfd_;
  std::vector<epoll_event> events_;
};

}  // namespace

std::unique_ptr<Poller> makeEpollPoller() {
  return std::make_unique<EpollPoller>();
}

}  // namespace twisted::detail
