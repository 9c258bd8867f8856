// poll(2): no fd limit, O(watched fds) per wait.
#include <poll.h>

#include <cerrno>
#include <system_error>
#include <vector>

#include "poller.hpp"

namespace twisted::detail {
namespace {

class PollPoller final : public Poller {
 public:
  const char* name() const override { return "poll"; }

  void update(int fd, unsigned /*oldMask*/, unsigned newMask) override {
    if (static_cast<std::size_t>(fd) >= index_.size()) index_.resize(fd + 1, -1);
    int& at = index_[fd];
    if (newMask == 0) {
      if (at < 0) return;
      // Swap-remove keeps the array dense; fix the moved entry's index.
      pollfds_[at] = pollfds_.back();
      index_[pollfds_[at].fd] = at;
      pollfds_.pop_back();
      at = -1;
      return;
    }
    short events =
        static_cast<short>(((newMask & kRead) ? POLLIN : 0) | ((newMask & kWrite) ? POLLOUT : 0));
    if (at < 0) {
      at = static_cast<int>(pollfds_.size());
      pollfds_.push_back({fd, events, 0});
      return;
    }
    pollfds_[at].events = events;
  }

  void poll(int timeoutMs, FiredList& fired) override {
    int n = ::poll(pollfds_.data(), pollfds_.size(), timeoutMs);
    if (n < 0) {
      if (errno == EINTR) return;
      throw std::system_error(errno, std::generic_category(), "poll");
    }
    for (const pollfd& p : pollfds_) {
      if (n == 0) break;
      if (!p.revents) continue;
      --n;
      unsigned ev = 0;
      if (p.revents & (POLLIN | POLLPRI)) ev |= kRead;
      if (p.revents & POLLOUT) ev |= kWrite;
      if (p.revents & POLLHUP) ev |= kHangup;
      if (p.revents & POLLERR) ev |= kError;
      if (p.revents & POLLNVAL) ev |= kInvalid;
      fired.push_back({p.fd, ev});
    }
  }

 private:
  std::vector<pollfd> pollfds_;
  std::vector<int> index_;  // fd -> position in pollfds_, or -1
};

}  // namespace

std::unique_ptr<Poller> makePollPoller() {
  return std::make_unique<PollPoller>();
}

}  // namespace twisted::detail
