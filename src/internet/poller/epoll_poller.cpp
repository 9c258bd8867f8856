// epoll(7): O(ready fds) per wait; the default on Linux. What epoll
// refuses (EPERM: a regular file, /dev/null; always ready, so never waited
// for) is reported ready every turn instead, as select and poll report it
// (Twisted's _ContinuousPolling).
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include "../direct_syscall.hpp"
#include "../hot_path.hpp"
#include "poller.hpp"

namespace twisted::detail {
namespace {

// Aligned: the loop reads it every turn, and it fits one cache line.
class alignas(64) EpollPoller final : public Poller {
 public:
  EpollPoller() : epfd_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  }
  ~EpollPoller() override { ::close(epfd_); }
  EpollPoller(const EpollPoller&) = delete;
  EpollPoller& operator=(const EpollPoller&) = delete;
  // With the reactor's state, in the connection pool.
  TWISTED_POOLED_NEW(EpollPoller)

  const char* name() const override { return "epoll"; }

  void update(int fd, unsigned oldMask, unsigned newMask) override {
    epoll_event ev{};
    ev.events = ((newMask & kRead) ? EPOLLIN : 0u) | ((newMask & kWrite) ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    if (newMask == 0) {
      if (alwaysCount_ > 0 && setAlways(fd, 0)) return;
      // A closed fd has already left the set: nothing to undo.
      if (::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev) < 0 && errno != ENOENT && errno != EBADF) {
        throw std::system_error(errno, std::generic_category(), "epoll_ctl(DEL)");
      }
      return;
    }
    if (alwaysCount_ > 0 && setAlways(fd, newMask)) return;
    if (newMask & kExclusive) [[unlikely]] {
      addExclusive(fd, oldMask, ev);
      return;
    }
    int op = oldMask == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (::epoll_ctl(epfd_, op, fd, &ev) == 0) return;
    if (errno == EPERM && oldMask == 0) {
      addAlways(fd, newMask);
      return;
    }
    // The fd number may have been closed and reused behind our back, which
    // removes it from the set (ENOENT on MOD), or be registered already.
    int retry = errno == ENOENT ? EPOLL_CTL_ADD : errno == EEXIST ? EPOLL_CTL_MOD : -1;
    if (retry < 0 || ::epoll_ctl(epfd_, retry, fd, &ev) < 0) {
      throw std::system_error(errno, std::generic_category(), "epoll_ctl");
    }
  }

  // A file several reactors wait on (a group's shared listening socket):
  // one of them is woken per event. epoll takes EPOLLEXCLUSIVE only with
  // EPOLL_CTL_ADD and refuses any MOD of such an entry, so a change is a
  // DEL and an ADD (undone if the ADD fails). A kernel before 4.5 refuses
  // the flag (EINVAL): the fd is watched without it.
  void addExclusive(int fd, unsigned oldMask, epoll_event ev) {
    epoll_event before{};
    before.events =
        ((oldMask & kRead) ? EPOLLIN : 0u) | ((oldMask & kWrite) ? EPOLLOUT : 0u) | EPOLLEXCLUSIVE;
    before.data.fd = fd;
    if (oldMask != 0 && ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev) < 0 && errno != ENOENT) {
      throw std::system_error(errno, std::generic_category(), "epoll_ctl(DEL)");
    }
    ev.events |= EPOLLEXCLUSIVE;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0) return;
    if (errno == EINVAL) {
      ev.events &= ~static_cast<std::uint32_t>(EPOLLEXCLUSIVE);
      if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0) return;
    }
    int err = errno;
    if (oldMask != 0 && ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &before) < 0 && errno == EINVAL) {
      before.events &= ~static_cast<std::uint32_t>(EPOLLEXCLUSIVE);  // as it was added
      (void)::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &before);
    }
    throw std::system_error(err, std::generic_category(), "epoll_ctl(ADD, EPOLLEXCLUSIVE)");
  }

  TWISTED_HOT void poll(int timeoutMs, FiredList& fired) override {
    if (alwaysCount_ > 0) [[unlikely]] {
      timeoutMs = 0;  // some are ready now
      for (auto [fd, mask] : *always_) fired.push_back({fd, mask});
    }
    int n = sys::epollWait(epfd_, events_, capacity_, timeoutMs);
    if (n <= 0) [[unlikely]] {
      if (n == 0 || errno == EINTR) return;
      throw std::system_error(errno, std::generic_category(), "epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      std::uint32_t e = events_[i].events;
      unsigned ev = ((e & (EPOLLIN | EPOLLPRI)) ? kRead : 0u) | ((e & EPOLLOUT) ? kWrite : 0u) |
                    ((e & EPOLLHUP) ? kHangup : 0u) | ((e & EPOLLERR) ? kError : 0u);
      fired.push_back({events_[i].data.fd, ev});
    }
    // A full batch suggests more are ready: take more next time.
    if (n == capacity_ && capacity_ < 4096) [[unlikely]] {
      grow();
    }
  }

 private:
  // The always-ready descriptors: `fd` now wants `mask` (0: no longer
  // watched). False if it is not one of them.
  [[gnu::cold, gnu::noinline]] bool setAlways(int fd, unsigned mask) {
    for (auto it = always_->begin(); it != always_->end(); ++it) {
      if (it->first != fd) continue;
      if (mask == 0) {
        always_->erase(it);
        --alwaysCount_;
      } else {
        it->second = mask;
      }
      return true;
    }
    return false;
  }
  [[gnu::cold, gnu::noinline]] void addAlways(int fd, unsigned mask) {
    if (!always_) always_ = std::make_unique<std::vector<std::pair<int, unsigned>>>();
    always_->emplace_back(fd, mask);
    ++alwaysCount_;
  }

  [[gnu::cold, gnu::noinline]] void grow() {
    capacity_ *= 2;
    grown_ = std::make_unique<epoll_event[]>(static_cast<std::size_t>(capacity_));
    events_ = grown_.get();
  }

  // The first events share the object's cache line: a turn with one or two
  // ready fds touches one line here. Bigger batches move to the heap.
  int epfd_;
  int capacity_ = kInline;
  int alwaysCount_ = 0;  // how many always-ready descriptors (always_)
  epoll_event* events_ = inline_;
  static constexpr int kInline = 64;
  epoll_event inline_[kInline];
  std::unique_ptr<epoll_event[]> grown_;
  std::unique_ptr<std::vector<std::pair<int, unsigned>>> always_;
};

}  // namespace

std::unique_ptr<Poller> makeEpollPoller() {
  return std::make_unique<EpollPoller>();
}

}  // namespace twisted::detail
