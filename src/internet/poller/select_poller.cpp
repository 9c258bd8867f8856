// select(2): portable, limited to fds below FD_SETSIZE.
#include <fcntl.h>
#include <sys/select.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "poller.hpp"
#include "twisted/internet/error.hpp"

namespace twisted::detail {
namespace {

class SelectPoller final : public Poller {
 public:
  SelectPoller() {
    FD_ZERO(&reads_);
    FD_ZERO(&writes_);
  }
  const char* name() const override { return "select"; }

  void update(int fd, unsigned, unsigned newMask) override {
    if (fd < 0 || fd >= FD_SETSIZE) {
      // FD_SET beyond FD_SETSIZE writes past the fd_set: refuse instead.
      throw error::BackendLimitError("select cannot watch fd " + std::to_string(fd) +
                                     " (FD_SETSIZE is " + std::to_string(FD_SETSIZE) +
                                     "); use the poll or epoll backend");
    }
    setBit(reads_, fd, newMask & kRead);
    setBit(writes_, fd, newMask & kWrite);
    if (newMask && fd > maxFd_) maxFd_ = fd;
    while (maxFd_ >= 0 && !FD_ISSET(maxFd_, &reads_) && !FD_ISSET(maxFd_, &writes_)) --maxFd_;
  }

  void poll(int timeoutMs, FiredList& fired) override {
    fd_set r = reads_;
    fd_set w = writes_;
    timeval tv{};
    timeval* tvp = nullptr;
    if (timeoutMs >= 0) {
      tv.tv_sec = timeoutMs / 1000;
      tv.tv_usec = static_cast<suseconds_t>(timeoutMs % 1000) * 1000;
      tvp = &tv;
    }
    int n = ::select(maxFd_ + 1, &r, &w, nullptr, tvp);
    if (n < 0) {
      if (errno == EINTR) return;
      if (errno == EBADF) return reportClosed(fired);
      throw std::system_error(errno, std::generic_category(), "select");
    }
    for (int fd = 0; fd <= maxFd_ && n > 0; ++fd) {
      unsigned ev = (FD_ISSET(fd, &r) ? kRead : 0u) | (FD_ISSET(fd, &w) ? kWrite : 0u);
      if (ev) {
        fired.push_back({fd, ev});
        --n;
      }
    }
  }

 private:
  static void setBit(fd_set& set, int fd, bool on) {
    if (on) {
      FD_SET(fd, &set);
    } else {
      FD_CLR(fd, &set);
    }
  }

  // select fails as a whole when one watched fd was closed: find which.
  void reportClosed(FiredList& fired) const {
    for (int fd = 0; fd <= maxFd_; ++fd) {
      if ((FD_ISSET(fd, &reads_) || FD_ISSET(fd, &writes_)) && ::fcntl(fd, F_GETFD) < 0) {
        fired.push_back({fd, kInvalid});
      }
    }
  }

  fd_set reads_;
  fd_set writes_;
  int maxFd_ = -1;
};

}  // namespace

std::unique_ptr<Poller> makeSelectPoller() {
  return std::make_unique<SelectPoller>();
}

}  // namespace twisted::detail
