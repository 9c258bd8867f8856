// io_uring readiness: a one-shot POLL_ADD per watched descriptor, re-armed
// after it fires so that the reactor stays level-triggered; arms go in with
// the next wait. Why one-shot, and how a late completion is told from a
// current one: docs/architecture.md, "The io_uring backend: its design".
#include <poll.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "../hot_path.hpp"
#include "../uring/ring.hpp"
#include "poller.hpp"

namespace twisted::detail {
namespace {

// user_data of a POLL_REMOVE: no descriptor has this number.
constexpr std::uint64_t kCancelTag = ~std::uint64_t{0};

// Aligned and pooled as the epoll poller is: the loop reads it every turn.
class alignas(64) UringPoller final : public Poller {
 public:
  explicit UringPoller(std::unique_ptr<uring::Ring> ring) : ring_(std::move(ring)) {}
  TWISTED_POOLED_NEW(UringPoller)

  const char* name() const override { return "iouring"; }

  void update(int fd, unsigned /*oldMask*/, unsigned newMask) override {
    if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(static_cast<std::size_t>(fd) + 64);
    Watch& w = fds_[static_cast<std::size_t>(fd)];
    if (w.state == kArmed) {
      // The armed poll asks for the old interest: cancel it. Its own
      // completion, whenever it comes, carries the old sequence number.
      io_uring_sqe* s = ring_->sqe();
      io_uring_prep_poll_remove(s, tag(fd, w.seq));
      io_uring_sqe_set_data64(s, kCancelTag);
      if (ring_->canSkipSuccess()) io_uring_sqe_set_flags(s, IOSQE_CQE_SKIP_SUCCESS);
      ++w.seq;
      w.state = kIdle;
      if (newMask == 0) releaseNow();
    }
    w.mask = newMask;
    if (newMask != 0 && w.state == kIdle) queue(fd, w);
    if (newMask == 0 && w.state == kQueued) w.state = kIdle;
  }

  TWISTED_HOT void poll(int timeoutMs, FiredList& fired) override {
    ring_->enable();
    armQueued();
    io_uring* r = ring_->get();
    int rc;
    if (timeoutMs < 0) {
      rc = io_uring_submit_and_wait(r, 1);
    } else {
      __kernel_timespec ts{timeoutMs / 1000, (timeoutMs % 1000) * 1000000LL};
      io_uring_cqe* first = nullptr;
      rc = io_uring_submit_and_wait_timeout(r, &first, 1, &ts, nullptr);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) [[unlikely]] {
      throw std::system_error(-rc, std::generic_category(), "io_uring_enter");
    }
    unsigned head, seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(r, head, cqe) {
      ++seen;
      completed(cqe->user_data, cqe->res, fired);
    }
    io_uring_cq_advance(r, seen);
  }

 private:
  enum State : std::uint8_t { kIdle, kQueued, kArmed };
  struct Watch {
    unsigned mask = 0;
    std::uint32_t seq = 0;  // of the poll armed now, or of the next one
    State state = kIdle;
  };

  static std::uint64_t tag(int fd, std::uint32_t seq) {
    return (std::uint64_t{seq} << 32) | static_cast<std::uint32_t>(fd);
  }

  void queue(int fd, Watch& w) {
    w.state = kQueued;
    queued_.push_back(fd);
  }

  void armQueued() {
    for (int fd : queued_) {
      Watch& w = fds_[static_cast<std::size_t>(fd)];
      if (w.state != kQueued) continue;  // no longer watched, or listed twice
      io_uring_sqe* s = ring_->sqe();
      unsigned events = ((w.mask & kRead) ? POLLIN : 0u) | ((w.mask & kWrite) ? POLLOUT : 0u);
      io_uring_prep_poll_add(s, fd, events);
      io_uring_sqe_set_data64(s, tag(fd, w.seq));
      w.state = kArmed;
    }
    queued_.clear();
  }

  void completed(std::uint64_t data, int res, FiredList& fired) {
    if (data == kCancelTag) return;  // a cancel that found nothing to cancel
    auto fd = static_cast<int>(data & 0xffffffffu);
    auto seq = static_cast<std::uint32_t>(data >> 32);
    if (static_cast<std::size_t>(fd) >= fds_.size()) return;
    Watch& w = fds_[static_cast<std::size_t>(fd)];
    if (w.state != kArmed || w.seq != seq) return;  // cancelled: stale
    w.state = kIdle;
    if (w.mask != 0) queue(fd, w);  // level-triggered: asked again next wait
    unsigned ev;
    if (res < 0) {
      ev = res == -EBADF ? kInvalid : kError;
    } else {
      auto e = static_cast<unsigned>(res);
      ev = ((e & (POLLIN | POLLPRI)) ? kRead : 0u) | ((e & POLLOUT) ? kWrite : 0u) |
           ((e & POLLHUP) ? kHangup : 0u) | ((e & POLLERR) ? kError : 0u) |
           ((e & POLLNVAL) ? kInvalid : 0u);
    }
    fired.push_back({fd, ev});
  }

  // A descriptor no longer watched may be closed next: the cancelled poll
  // holds its open file until the kernel has run the cancel to its end, so
  // submit it and run the completions now (with deferred task running they
  // would wait for the next wait). From a thread that is not the ring's
  // issuer (a reactor destroyed away from the thread that ran it) the
  // kernel refuses (EEXIST): the file is then let go with the ring.
  [[gnu::cold]] void releaseNow() {
    if (!ring_->enabled()) return;
    int rc = io_uring_submit_and_get_events(ring_->get());
    if (rc < 0 && rc != -EEXIST && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      throw std::system_error(-rc, std::generic_category(), "io_uring_enter");
    }
  }

  std::unique_ptr<uring::Ring> ring_;
  std::vector<Watch> fds_;   // by descriptor number
  std::vector<int> queued_;  // to arm with the next wait
};

}  // namespace

std::unique_ptr<Poller> makeUringPoller(std::string& whyNot) {
  auto ring = uring::Ring::open(256, whyNot);
  if (!ring) return nullptr;
  return std::make_unique<UringPoller>(std::move(ring));
}

}  // namespace twisted::detail
