// io_uring readiness: a one-shot POLL_ADD per watched descriptor, re-armed
// after it fires so that the reactor stays level-triggered; arms go in with
// the next wait. And completions (Completions): a listening socket's
// multishot accept, its sockets kept here and reported as readiness. Why
// one-shot, and how a late completion is told from a current one:
// docs/architecture.md, "The io_uring backend: its design".
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "../hot_path.hpp"
#include "../uring/op_tag.hpp"
#include "../uring/ring.hpp"
#include "../uring/streams.hpp"
#include "poller.hpp"

namespace twisted::detail {
namespace {

using uring::kAcceptOp;
using uring::kCancelTag;
using uring::kPollOp;
using uring::kSeqMask;
using uring::tag;

// Aligned and pooled as the epoll poller is: the loop reads it every turn.
class alignas(64) UringPoller final : public Poller, public Completions {
 public:
  explicit UringPoller(std::unique_ptr<uring::Ring> ring)
      : streams_(*ring), ring_(std::move(ring)) {}
  ~UringPoller() override {
    // Sockets accepted and never taken are ours, queued or still in the
    // completion queue (a cancel run for another port may have completed
    // this one's accepts); the ring's exit cancels what is in flight.
    for (int fd : acceptors_) closeWaiting(*fds_[static_cast<std::size_t>(fd)].accept);
    drainCompleted();
    // Bytes a zero-copy send pinned are the kernel's until its notification,
    // which comes once the peer has them: waited for a while (on loopback
    // it is at once), then given up on (Streams' destructor keeps them).
    for (int turn = 0; turn < 50 && streams_.pinsPending() && ring_->onIssuerThread(); ++turn) {
      __kernel_timespec ts{0, 10 * 1000 * 1000};
      io_uring_cqe* first = nullptr;
      int rc = io_uring_submit_and_wait_timeout(ring_->get(), &first, 1, &ts, nullptr);
      if (rc < 0 && rc != -ETIME && rc != -EINTR) break;
      drainCompleted();
    }
    // ring_ is the last member, so the ring exits (and the kernel stops
    // every operation in flight) before streams_ frees their buffers.
  }
  UringPoller(const UringPoller&) = delete;
  UringPoller& operator=(const UringPoller&) = delete;
  TWISTED_POOLED_NEW(UringPoller)

  const char* name() const override { return "iouring"; }
  Completions* completions() override { return this; }

  void update(int fd, unsigned /*oldMask*/, unsigned newMask) override {
    if (streams_.has(fd)) {
      streams_.update(fd, newMask);  // received and sent in the kernel: nothing to poll for
      return;
    }
    Watch& w = watch(fd);
    if (fd == counterFd_) [[unlikely]] {
      w.mask = newMask;  // read in the ring while watched (armCounter)
      return;
    }
    if (w.accept) [[unlikely]] {
      w.mask = newMask;  // accepted in the kernel: nothing to poll for
      acceptWork_ = true;
      return;
    }
    if (w.state == kArmed) {
      cancelPoll(fd, w);
      if (newMask == 0) releaseNow();
    }
    w.mask = newMask;
    if (newMask != 0 && w.state == kIdle) queue(fd, w);
    if (newMask == 0 && w.state == kQueued) w.state = kIdle;
  }

  // ---- Completions: a listening socket's multishot accept
  bool startAccepting(int fd) override {
    if (!ring_->canAcceptMultishot()) return false;
    Watch& w = watch(fd);
    if (w.accept) return true;
    if (w.state == kArmed) cancelPoll(fd, w);
    w.state = kIdle;  // a queued poll is dropped by armQueued
    w.accept = std::make_unique<Acceptor>();
    acceptors_.push_back(fd);
    acceptWork_ = true;
    return true;
  }

  std::optional<int> takeAccepted(int fd) override {
    if (static_cast<std::size_t>(fd) >= fds_.size()) return std::nullopt;
    Acceptor* a = fds_[static_cast<std::size_t>(fd)].accept.get();
    if (!a || a->results.empty()) return std::nullopt;
    int r = a->results.front();
    a->results.pop_front();
    return r;
  }

  void stopAccepting(int fd) override {
    if (static_cast<std::size_t>(fd) >= fds_.size()) return;
    Watch& w = fds_[static_cast<std::size_t>(fd)];
    if (!w.accept) return;
    if (w.accept->armed) cancelAccept(fd, w);
    if (w.state == kArmed) cancelPoll(fd, w);  // parked after an error
    closeWaiting(*w.accept);
    w.accept.reset();
    ++w.acceptSeq;  // what the cancelled accept still completes is stale
    acceptors_.erase(std::find(acceptors_.begin(), acceptors_.end(), fd));
    // The accept holds the listening socket's file: run the cancel now, so
    // that the close() that follows really closes it.
    releaseNow();
    if (w.mask != 0) queue(fd, w);  // still watched: by readiness again
  }

  // ---- Completions: a connected stream's receives and sends
  bool startStream(int fd) override {
    Watch& w = watch(fd);
    if (w.accept || !streams_.start(fd, w.mask)) return false;
    if (w.state == kArmed) cancelPoll(fd, w);
    w.state = kIdle;  // a queued poll is dropped by armQueued
    w.mask = 0;       // the stream keeps the interest now
    return true;
  }
  std::optional<Received> takeReceived(int fd) override { return streams_.take(fd); }
  void releaseReceived(std::uint16_t buffer) override { streams_.release(buffer); }
  void send(int fd, WriteBuffer& bytes) override { streams_.send(fd, bytes); }
  void sendReceived(int fd, std::string_view data, std::uint16_t buffer) override {
    streams_.sendReceived(fd, data, buffer);
  }
  std::optional<long> takeSent(int fd) override { return streams_.takeSent(fd); }
  Counters counters() const override { return streams_.counters(); }
  void stopStream(int fd) override {
    if (!streams_.has(fd)) return;
    streams_.stop(fd);
    // As for a poll: what is in flight holds the socket's file, so the
    // cancel is run now, before the caller's close().
    releaseNow();
  }

  // ---- Completions: the waker's eventfd, read in the ring
  bool startCounter(int fd) override {
    Watch& w = watch(fd);
    if (w.accept || streams_.has(fd) || counterFd_ >= 0) return false;
    if (w.state == kArmed) cancelPoll(fd, w);
    w.state = kIdle;
    counterFd_ = fd;
    return true;
  }

  TWISTED_HOT void poll(int timeoutMs, FiredList& fired) override {
    ring_->enable();
    armQueued();
    if (counterFd_ >= 0 && !counterArmed_) armCounter();
    if (streams_.prepare()) timeoutMs = 0;  // results already in: report them, do not wait
    // Only when an acceptor changed (a completion, a port that paused or
    // resumed, sockets left untaken): a busy loop's turns pay nothing.
    bool reportAccepts = false;
    if (acceptWork_) [[unlikely]] {
      acceptWork_ = false;
      reportAccepts = armAccepts();
      if (reportAccepts) timeoutMs = 0;  // sockets already accepted: report them, do not wait
    }
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
      completed(cqe->user_data, cqe->res, cqe->flags, fired);
    }
    io_uring_cq_advance(r, seen);
    streams_.report(fired);
    if (reportAccepts || acceptWork_) [[unlikely]]
      reportAccepted(fired);
  }

 private:
  enum State : std::uint8_t { kIdle, kQueued, kArmed };
  // A listening socket accepted on by the kernel (startAccepting).
  struct Acceptor {
    std::deque<int> results;  // accepted sockets (>= 0) and errors (-errno), in order
    bool armed = false;       // a multishot accept is in flight
    bool cancelling = false;  // its cancel is asked for (the port stopped reading)
    // Ended by an error (EMFILE fails at once, connection or not): not armed
    // again until a poll says a connection waits, so the loop does not spin.
    bool parked = false;
  };
  struct Watch {
    unsigned mask = 0;
    std::uint32_t seq = 0;  // of the poll armed now, or of the next one
    State state = kIdle;
    std::uint32_t acceptSeq = 0;  // of the accept in flight, or of the next one
    std::unique_ptr<Acceptor> accept;
  };

  Watch& watch(int fd) {
    if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(static_cast<std::size_t>(fd) + 64);
    return fds_[static_cast<std::size_t>(fd)];
  }

  // The armed poll asks for the old interest: cancel it. Its own
  // completion, whenever it comes, carries the old sequence number.
  // Away from the ring's thread (a reactor destroyed elsewhere) nothing is
  // submitted: the kernel would refuse it, and the ring's exit cancels all.
  void cancelPoll(int fd, Watch& w) {
    if (ring_->onIssuerThread()) {
      io_uring_sqe* s = ring_->sqe();
      io_uring_prep_poll_remove(s, tag(kPollOp, fd, w.seq));
      io_uring_sqe_set_data64(s, kCancelTag);
      if (ring_->canSkipSuccess()) io_uring_sqe_set_flags(s, IOSQE_CQE_SKIP_SUCCESS);
    }
    ++w.seq;
    w.state = kIdle;
  }

  // Cancels the accept in flight; what it accepted before the cancel took
  // effect still comes, with its own (current) sequence number.
  void cancelAccept(int fd, Watch& w) {
    w.accept->cancelling = true;
    if (!ring_->onIssuerThread()) return;
    io_uring_sqe* s = ring_->sqe();
    io_uring_prep_cancel64(s, tag(kAcceptOp, fd, w.acceptSeq), 0);
    io_uring_sqe_set_data64(s, kCancelTag);
    if (ring_->canSkipSuccess()) io_uring_sqe_set_flags(s, IOSQE_CQE_SKIP_SUCCESS);
  }

  // For each acceptor: while its port reads, a multishot accept in flight
  // (armed again when the kernel ends it), or after an error a poll that
  // waits for a connection; while it does not read, no accept (the kernel
  // would go on accepting, one descriptor each, with nobody taking them).
  // True if some have sockets waiting.
  bool armAccepts() {
    bool waiting = false;
    for (int fd : acceptors_) {
      Watch& w = fds_[static_cast<std::size_t>(fd)];
      Acceptor& a = *w.accept;
      bool reading = (w.mask & kRead) != 0;
      if (reading && a.parked) {
        if (w.state == kIdle) {
          io_uring_sqe* s = ring_->sqe();
          io_uring_prep_poll_add(s, fd, POLLIN);
          io_uring_sqe_set_data64(s, tag(kPollOp, fd, w.seq));
          w.state = kArmed;
        }
      } else if (reading && !a.armed) {
        io_uring_sqe* s = ring_->sqe();
        io_uring_prep_multishot_accept(s, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        io_uring_sqe_set_data64(s, tag(kAcceptOp, fd, w.acceptSeq));
        a.armed = true;
      } else if (!reading && a.armed && !a.cancelling) {
        cancelAccept(fd, w);
      }
      if (reading && !a.results.empty()) waiting = true;
    }
    return waiting;
  }

  // Level-triggered, as readiness: a watched acceptor is reported while
  // sockets wait, whether they came this turn or were left last turn.
  void reportAccepted(FiredList& fired) {
    for (int fd : acceptors_) {
      Watch& w = fds_[static_cast<std::size_t>(fd)];
      if ((w.mask & kRead) && !w.accept->results.empty()) {
        fired.push_back({fd, kRead});
        acceptWork_ = true;  // looked at again next wait: what the port leaves is reported again
      }
    }
  }

  static void closeWaiting(const Acceptor& a) {
    for (int r : a.results) {
      if (r >= 0) ::close(r);
    }
  }

  void acceptCompleted(int fd, std::uint32_t seq, int res, unsigned flags) {
    Watch* w =
        static_cast<std::size_t>(fd) < fds_.size() ? &fds_[static_cast<std::size_t>(fd)] : nullptr;
    if (!w || !w->accept || (w->acceptSeq & kSeqMask) != seq) {
      if (res >= 0) ::close(res);  // accepted by a cancelled accept: nobody's but ours
      return;
    }
    Acceptor& a = *w->accept;
    acceptWork_ = true;
    if (!(flags & IORING_CQE_F_MORE)) {  // ended: armed again with a next wait
      a.armed = false;
      a.cancelling = false;
      if (res < 0 && res != -ECANCELED) a.parked = true;
    }
    if (res == -ECANCELED) return;
    a.results.push_back(res);
  }

  // At destruction: what has completed, without reporting it. Accepted
  // sockets nobody will take are closed; a stream's completions only
  // settle its buffers and pins.
  void drainCompleted() {
    io_uring* r = ring_->get();
    unsigned head, seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(r, head, cqe) {
      ++seen;
      std::uint64_t data = cqe->user_data;
      if (data == kCancelTag) continue;
      if ((data >> 62) == kAcceptOp) {
        if (cqe->res >= 0) ::close(cqe->res);
      } else if ((data >> 63) != 0 && data != uring::tag(uring::kRecvOp, counterFd_, 0)) {
        streams_.completed(data, cqe->res, cqe->flags);
      }
    }
    io_uring_cq_advance(r, seen);
  }

  void armCounter() {
    if (!(fds_[static_cast<std::size_t>(counterFd_)].mask & kRead)) return;
    io_uring_sqe* s = ring_->sqe();
    io_uring_prep_read(s, counterFd_, &counterValue_, sizeof counterValue_, 0);
    io_uring_sqe_set_data64(s, tag(uring::kRecvOp, counterFd_, 0));
    counterArmed_ = true;
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
      io_uring_sqe_set_data64(s, tag(kPollOp, fd, w.seq));
      w.state = kArmed;
    }
    queued_.clear();
  }

  void completed(std::uint64_t data, int res, unsigned flags, FiredList& fired) {
    if (data == kCancelTag) return;  // a cancel that found nothing to cancel
    if ((data >> 63) != 0) {         // kRecvOp, kSendOp
      if (data == uring::tag(uring::kRecvOp, counterFd_, 0)) [[unlikely]] {
        counterArmed_ = false;  // read (or failed): armed again next wait
        if (fds_[static_cast<std::size_t>(counterFd_)].mask & kRead)
          fired.push_back({counterFd_, kRead});
        return;
      }
      streams_.completed(data, res, flags);
      return;
    }
    auto fd = static_cast<int>(data & 0xffffffffu);
    auto seq = static_cast<std::uint32_t>(data >> 32) & kSeqMask;
    if ((data >> 62) == kAcceptOp) [[unlikely]] {
      acceptCompleted(fd, seq, res, flags);
      return;
    }
    if (static_cast<std::size_t>(fd) >= fds_.size()) return;
    Watch& w = fds_[static_cast<std::size_t>(fd)];
    if (w.state != kArmed || (w.seq & kSeqMask) != seq) return;  // cancelled: stale
    w.state = kIdle;
    if (w.accept) [[unlikely]] {
      w.accept->parked = false;  // a connection waits: accept again next wait
      acceptWork_ = true;
      return;
    }
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

  std::vector<Watch> fds_;      // by descriptor number
  std::vector<int> queued_;     // to arm with the next wait
  std::vector<int> acceptors_;  // descriptors accepted on in the kernel
  bool acceptWork_ = false;     // an acceptor to arm, cancel or report next wait
  uring::Streams streams_;      // connected sockets received and sent in the kernel
  int counterFd_ = -1;          // the waker's eventfd, read in the ring (startCounter)
  bool counterArmed_ = false;
  std::uint64_t counterValue_ = 0;     // where the kernel reads it to
  std::unique_ptr<uring::Ring> ring_;  // last: destroyed first (see the destructor)
};

}  // namespace

std::unique_ptr<Poller> makeUringPoller(std::string& whyNot) {
  auto ring = uring::Ring::open(256, whyNot);
  if (!ring) return nullptr;
  return std::make_unique<UringPoller>(std::move(ring));
}

}  // namespace twisted::detail
