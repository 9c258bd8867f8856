// The io_uring poller's stream sockets (streams.hpp): arming, cancelling
// and the bookkeeping of each receive and send completion.
#include "streams.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

namespace twisted::detail::uring {

Streams::~Streams() {
  // The ring has exited, but a zero-copy send's pages stay in its socket
  // until the peer acknowledges them or the socket dies, which may be after
  // this: what the poller could not wait for (drainPins) is let go of, not
  // freed (nor reused through WriteBuffer's spare), so that no later write
  // lands in bytes the kernel may still send.
  for (const std::unique_ptr<Pin>& pin : pins_) {
    if (!pin || pin->refs == 0) continue;
    [[maybe_unused]] char* kept = pin->bytes.abandon();
#if defined(__SANITIZE_ADDRESS__)
    __lsan_ignore_object(kept);  // deliberate: see above
#endif
  }
}

bool Streams::pinsPending() const {
  return std::any_of(pins_.begin(), pins_.end(),
                     [](const std::unique_ptr<Pin>& p) { return p && p->refs > 0; });
}

bool Streams::start(int fd, unsigned mask) {
  if (unavailable_ || !ring_.canStream()) return false;
  if (!buffers_) {
    buffers_ = BufferRing::open(ring_.get());
    if (!buffers_) {
      unavailable_ = true;  // asked once: every later stream reads by readiness
      return false;
    }
  }
  if (has(fd)) stop(fd);  // a stream never stopped: its operations are orphaned first
  auto at = static_cast<std::size_t>(fd);
  if (at >= byFd_.size()) byFd_.resize(at + 64);
  auto s = std::make_unique<Stream>();
  s->fd = fd;
  s->seq = nextSeq_++ & kStreamSeqMask;
  s->mask = mask;
  touch(*s);
  byFd_[at] = std::move(s);
  return true;
}

std::optional<Completions::Received> Streams::take(int fd) {
  Stream& s = *byFd_[static_cast<std::size_t>(fd)];
  if (s.head == s.received.size()) return std::nullopt;
  Waiting w = s.received[s.head++];
  if (s.head == s.received.size()) {
    s.received.clear();  // capacity kept: a steady stream allocates nothing
    s.head = 0;
  }
  return Completions::Received{w.result > 0 ? dataOf(w.buffer) : nullptr, w.result, w.buffer};
}

void Streams::release(std::uint16_t buffer) {
  if (buffer < BufferRing::kCount) {
    buffers_->release(buffer);
    return;
  }
  std::size_t copy = buffer - BufferRing::kCount;
  copies_[copy].reset();
  freeCopies_.push_back(static_cast<std::uint16_t>(copy));
}

void Streams::send(int fd, WriteBuffer& bytes) {
  Stream& s = *byFd_[static_cast<std::size_t>(fd)];
  s.out.swap(bytes);  // ours until sent; the caller gets our emptied buffer
  s.sending = true;
  s.sendDone = false;
  s.total = 0;
  s.held = -1;
  std::string_view bytesNow = s.out.pending();
  s.at = bytesNow.data();
  s.left = bytesNow.size();
  if (s.left == 0) {
    finishSend(s, 0);
    touch(s);
    return;
  }
  submitSend(s);
}

void Streams::sendReceived(int fd, std::string_view data, std::uint16_t buffer) {
  Stream& s = *byFd_[static_cast<std::size_t>(fd)];
  s.sending = true;
  s.sendDone = false;
  s.total = 0;
  if (buffer >= BufferRing::kCount || buffers_->available() < BufferRing::kCount / 4) {
    // A copy already, or the ring running low: a peer that does not read
    // must not keep buffers from the other connections. Copied, and the
    // buffer goes back now.
    s.out.append(data);
    if (buffer < BufferRing::kCount) ++counters_.copiedEchoes;
    release(buffer);
    s.at = s.out.pending().data();
    s.held = -1;
  } else {
    s.at = data.data();
    s.held = buffer;
  }
  s.left = data.size();
  submitSend(s);
}

std::optional<long> Streams::takeSent(int fd) {
  Stream& s = *byFd_[static_cast<std::size_t>(fd)];
  if (!s.sending || !s.sendDone) return std::nullopt;
  s.sending = false;
  s.sendDone = false;
  return s.sendResult;
}

void Streams::stop(int fd) {
  std::unique_ptr<Stream>& slot = byFd_[static_cast<std::size_t>(fd)];
  Stream& s = *slot;
  for (std::size_t i = s.head; i < s.received.size(); ++i) {
    if (s.received[i].result > 0) release(s.received[i].buffer);
  }
  s.received.clear();
  s.head = 0;
  s.touched = false;  // its entry in touched_ is skipped
  if (s.pin >= 0) {
    // Its bytes stay pinned while a send from them is the kernel's.
    int pin = s.pin;
    s.pin = -1;
    pins_[static_cast<std::size_t>(pin)]->active = false;
    if (pins_[static_cast<std::size_t>(pin)]->refs == 0) unpin(pin);
  }
  if (s.ops == 0) {
    if (s.held >= 0) buffers_->release(static_cast<std::uint16_t>(s.held));
    slot.reset();
    return;
  }
  // Everything on the descriptor, in one submission; the caller runs it
  // before closing. Away from the ring's thread the kernel would refuse
  // it: the ring's exit cancels then.
  if (ring_.onIssuerThread()) {
    io_uring_sqe* e = ring_.sqe();
    io_uring_prep_cancel_fd(e, fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(e, kCancelTag);
    if (ring_.canSkipSuccess()) io_uring_sqe_set_flags(e, IOSQE_CQE_SKIP_SUCCESS);
  }
  orphans_.push_back(std::move(slot));
}

bool Streams::prepare() {
  if (!parked_.empty() && !starved_.empty() && buffers_->available() < BufferRing::kCount / 4) {
    // Streams that do not read hold buffers that others are starved of (a
    // proxy pausing one side until the other answers could otherwise starve
    // the answer): their waiting bytes are copied and the buffers given back.
    for (int fd : parked_) {
      if (!has(fd)) continue;
      Stream& s = *byFd_[static_cast<std::size_t>(fd)];
      s.parked = false;
      if (!(s.mask & kRead)) copyWaiting(s);
    }
    parked_.clear();
  }
  if (!starved_.empty() && buffers_->available() > 0) {
    for (int fd : starved_) {
      if (!has(fd)) continue;
      Stream& s = *byFd_[static_cast<std::size_t>(fd)];
      s.starved = false;
      touch(s);
    }
    starved_.clear();
  }
  bool now = false;
  for (int fd : touched_) {
    if (!has(fd)) continue;
    Stream& s = *byFd_[static_cast<std::size_t>(fd)];
    if (!s.touched) continue;
    arm(s);
    if (events(s)) now = true;
  }
  return now;
}

void Streams::arm(Stream& s) {
  if (needsArm(s)) {
    io_uring_sqe* e = ring_.sqe();
    io_uring_prep_recv_multishot(e, s.fd, nullptr, 0, 0);
    e->flags |= IOSQE_BUFFER_SELECT;
    e->buf_group = BufferRing::kGroup;
    io_uring_sqe_set_data64(e, tag(kRecvOp, s.fd, s.seq));
    s.recvArmed = true;
    ++s.ops;
    return;
  }
  if (s.mask & kRead) {
    // A stream far ahead of its reader (results it has not taken) stops
    // receiving until it has taken them, so that one connection cannot hold
    // the ring: armed again once they are taken (needsArm).
    if (s.recvArmed && !s.recvCancelling && s.received.size() - s.head >= kMostWaiting) {
      cancel(tag(kRecvOp, s.fd, s.seq));
      s.recvCancelling = true;
    }
    return;
  }
  // Not reading (paused, or done): the kernel must stop filling buffers
  // for nobody. What it received before the cancel still comes, in order,
  // and waits in its buffers (copied out if the ring runs low: prepare).
  if (s.recvArmed && !s.recvCancelling) {
    cancel(tag(kRecvOp, s.fd, s.seq));
    s.recvCancelling = true;
  }
  if (s.head < s.received.size() && !s.parked) {
    s.parked = true;
    parked_.push_back(s.fd);
  }
}

void Streams::copyWaiting(Stream& s) {
  for (std::size_t i = s.head; i < s.received.size(); ++i) {
    Waiting& w = s.received[i];
    if (w.result <= 0 || w.buffer >= BufferRing::kCount) continue;
    std::size_t copy;
    if (!freeCopies_.empty()) {
      copy = freeCopies_.back();
      freeCopies_.pop_back();
    } else if (copies_.size() < 0xffffu - BufferRing::kCount) {
      copy = copies_.size();
      copies_.emplace_back();
    } else {
      return;  // as many copies as ids: the rest keep their buffers
    }
    auto bytes = std::make_unique_for_overwrite<char[]>(static_cast<std::size_t>(w.result));
    std::memcpy(bytes.get(), buffers_->data(w.buffer), static_cast<std::size_t>(w.result));
    copies_[copy] = std::move(bytes);
    buffers_->release(w.buffer);
    w.buffer = static_cast<std::uint16_t>(BufferRing::kCount + copy);
    ++counters_.parkedCopies;
  }
}

void Streams::submitSend(Stream& s) {
  io_uring_sqe* e = ring_.sqe();
  s.sendZc = s.left >= kZeroCopyFrom && !s.noZc && s.held < 0 && (s.pin >= 0 || !s.pinOut);
  if (s.sendZc && s.pin < 0) s.pin = pinJob(s);
  if (s.sendZc) {
    io_uring_prep_send_zc(e, s.fd, s.at, s.left, MSG_NOSIGNAL, 0);
    ++counters_.zeroCopySends;
  } else {
    io_uring_prep_send(e, s.fd, s.at, s.left, MSG_NOSIGNAL);
  }
  if (s.pin >= 0) {
    // From pinned bytes: the pin, not the stream, holds them for this send.
    ++pins_[static_cast<std::size_t>(s.pin)]->refs;
    io_uring_sqe_set_data64(e, pinnedTag(s.seq, static_cast<std::uint32_t>(s.pin)));
  } else {
    io_uring_sqe_set_data64(e, tag(kSendOp, s.fd, s.seq));
  }
  ++s.ops;
}

int Streams::pinJob(Stream& s) {
  int pin;
  if (!freePins_.empty()) {
    pin = freePins_.back();
    freePins_.pop_back();
  } else {
    pin = static_cast<int>(pins_.size());
    pins_.emplace_back();
  }
  auto p = std::make_unique<Pin>();
  p->fd = s.fd;
  p->seq = s.seq;
  p->active = true;
  p->bytes.swap(s.out);  // the storage moves, not the bytes: s.at stays valid
  pins_[static_cast<std::size_t>(pin)] = std::move(p);
  return pin;
}

void Streams::unpin(int pin) {
  const Pin& p = *pins_[static_cast<std::size_t>(pin)];
  if (has(p.fd) && byFd_[static_cast<std::size_t>(p.fd)]->seq == p.seq) {
    byFd_[static_cast<std::size_t>(p.fd)]->pinOut = false;  // its next large job may pin again
  }
  pins_[static_cast<std::size_t>(pin)].reset();
  freePins_.push_back(pin);
}

void Streams::finishSend(Stream& s, long result) {
  s.sendDone = true;
  s.sendResult = result;
  if (s.held >= 0) {
    buffers_->release(static_cast<std::uint16_t>(s.held));
    s.held = -1;
  }
  if (s.pin >= 0) {
    // The job has ended; its bytes stay pinned until the kernel's last
    // notification, unless that came already (then its storage is ours again).
    Pin& p = *pins_[static_cast<std::size_t>(s.pin)];
    p.active = false;
    int pin = s.pin;
    s.pin = -1;
    if (p.refs == 0) {
      s.out.swap(p.bytes);
      unpin(pin);
    } else {
      s.pinOut = true;
    }
  }
  s.out.consume(s.out.size());
  s.at = nullptr;
  s.left = 0;
}

void Streams::cancel(std::uint64_t target) {
  if (!ring_.onIssuerThread()) return;
  io_uring_sqe* e = ring_.sqe();
  io_uring_prep_cancel64(e, target, 0);
  io_uring_sqe_set_data64(e, kCancelTag);
  if (ring_.canSkipSuccess()) io_uring_sqe_set_flags(e, IOSQE_CQE_SKIP_SUCCESS);
}

void Streams::completed(std::uint64_t data, int res, unsigned flags) {
  int fd;
  int pin = -1;
  if (isPinned(data)) {
    pin = static_cast<int>(data & 0xffffffffu);
    fd = pins_[static_cast<std::size_t>(pin)]->fd;
    // A send from pinned bytes is done with them at its notification, or at
    // its main completion when no notification follows.
    if ((flags & IORING_CQE_F_NOTIF) || !(flags & IORING_CQE_F_MORE)) {
      Pin& p = *pins_[static_cast<std::size_t>(pin)];
      if (--p.refs == 0 && !p.active) unpin(pin);
    }
    if (flags & IORING_CQE_F_NOTIF) return;  // nothing else to it
  } else {
    fd = fdOf(data);
  }
  std::uint32_t seq = streamSeqOf(data);
  Stream* s = has(fd) ? byFd_[static_cast<std::size_t>(fd)].get() : nullptr;
  if (!s || s->seq != seq) {
    if (flags & IORING_CQE_F_BUFFER) {  // filled for a stream that is gone
      buffers_->taken();
      buffers_->release(static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT));
    }
    orphanCompleted(kindOf(data), fd, seq, flags);
    return;
  }
  touch(*s);
  if (kindOf(data) == kSendOp) {
    sendCompleted(*s, res, flags);
    return;
  }
  if (flags & IORING_CQE_F_BUFFER) {
    auto id = static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    buffers_->taken();
    if (res > 0) {
      s->received.push_back({res, id});
    } else {
      buffers_->release(id);
    }
  } else if (res == 0) {
    s->received.push_back({0, 0});
    s->recvEnded = true;
  } else if (res == -ENOBUFS) {
    // Every buffer is lent out: armed again once one comes back.
    ++counters_.starvations;
    s->starved = true;
    starved_.push_back(fd);
  } else if (res < 0 && res != -ECANCELED) {
    s->received.push_back({res, 0});
    s->recvEnded = true;
  }
  if (!(flags & IORING_CQE_F_MORE)) {
    s->recvArmed = false;  // ended (cancelled, an overflow, the end): arm() decides
    s->recvCancelling = false;
    --s->ops;
  }
}

void Streams::sendCompleted(Stream& s, int res, unsigned flags) {
  (void)flags;
  --s.ops;
  if (res == -EOPNOTSUPP && s.sendZc) {
    s.noZc = true;  // a socket without zero-copy: plain sends from now
    submitSend(s);
    return;
  }
  if (res > 0) {
    s.at += res;
    s.left -= static_cast<std::size_t>(res);
    s.total += res;
    if (s.left > 0) {
      submitSend(s);  // the rest, before anything queued after it
    } else {
      finishSend(s, s.total);
    }
  } else if (res == -EINTR || res == -EAGAIN || res == 0) {
    submitSend(s);
  } else {
    finishSend(s, res);
  }
}

void Streams::orphanCompleted(Kind kind, int fd, std::uint32_t seq, unsigned flags) {
  if (kind == kRecvOp && (flags & IORING_CQE_F_MORE)) return;  // the receive goes on
  auto it = std::find_if(orphans_.begin(), orphans_.end(), [&](const std::unique_ptr<Stream>& o) {
    return o->fd == fd && o->seq == seq;
  });
  if (it == orphans_.end()) return;
  Stream& o = **it;
  if (--o.ops > 0) return;
  if (o.held >= 0) buffers_->release(static_cast<std::uint16_t>(o.held));
  orphans_.erase(it);
}

void Streams::report(FiredList& fired) {
  // An fd may be listed twice (a stream stopped and another started on the
  // same number): the flag, cleared as each is looked at, reports it once.
  std::size_t kept = 0;
  for (int fd : touched_) {
    if (!has(fd)) continue;
    Stream& s = *byFd_[static_cast<std::size_t>(fd)];
    if (!s.touched) continue;
    s.touched = false;
    unsigned ev = events(s);
    if (ev) fired.push_back({fd, ev});
    // Looked at again next turn: level-triggered, and a receive that ended
    // while the stream reads is armed again then.
    if (ev || needsArm(s)) touched_[kept++] = fd;
  }
  touched_.resize(kept);
  for (int fd : touched_) byFd_[static_cast<std::size_t>(fd)]->touched = true;
}

}  // namespace twisted::detail::uring
