// The io_uring poller's stream sockets (streams.hpp): arming, cancelling
// and the bookkeeping of each receive and send completion.
#include "streams.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace twisted::detail::uring {

bool Streams::start(int fd, unsigned mask) {
  if (unavailable_ || !ring_.canStream()) return false;
  if (!buffers_) {
    buffers_ = BufferRing::open(ring_.get());
    if (!buffers_) {
      unavailable_ = true;  // asked once: every later stream reads by readiness
      return false;
    }
  }
  auto at = static_cast<std::size_t>(fd);
  if (at >= byFd_.size()) byFd_.resize(at + 64);
  auto s = std::make_unique<Stream>();
  s->fd = fd;
  s->seq = nextSeq_++ & kSeqMask;
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
  return Completions::Received{w.result > 0 ? buffers_->data(w.buffer) : nullptr, w.result,
                               w.buffer};
}

void Streams::release(std::uint16_t buffer) {
  buffers_->release(buffer);
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
  if (buffers_->available() < BufferRing::kCount / 4) {
    // Running low: a peer that does not read must not keep buffers from
    // the other connections. Copied, and the buffer goes back now.
    s.out.append(data);
    buffers_->release(buffer);
    ++counters_.copiedEchoes;
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
    if (s.received[i].result > 0) buffers_->release(s.received[i].buffer);
  }
  s.received.clear();
  s.head = 0;
  s.touched = false;  // its entry in touched_ is skipped
  if (s.ops == 0) {
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
    if (reportable(s)) now = true;
  }
  return now;
}

void Streams::arm(Stream& s) {
  bool want = (s.mask & kRead) && !s.recvEnded && !s.starved;
  if (want && !s.recvArmed) {
    io_uring_sqe* e = ring_.sqe();
    io_uring_prep_recv_multishot(e, s.fd, nullptr, 0, 0);
    e->flags |= IOSQE_BUFFER_SELECT;
    e->buf_group = BufferRing::kGroup;
    io_uring_sqe_set_data64(e, tag(kRecvOp, s.fd, s.seq));
    s.recvArmed = true;
    ++s.ops;
  } else if (!(s.mask & kRead) && s.recvArmed && !s.recvCancelling) {
    // Not reading (paused, or done): the kernel must stop filling buffers
    // for nobody. What it received before the cancel still comes, in order.
    cancel(tag(kRecvOp, s.fd, s.seq));
    s.recvCancelling = true;
  }
}

void Streams::submitSend(Stream& s) {
  io_uring_sqe* e = ring_.sqe();
  s.sendZc = s.left >= kZeroCopyFrom && !s.noZc;
  if (s.sendZc) {
    io_uring_prep_send_zc(e, s.fd, s.at, s.left, MSG_NOSIGNAL, 0);
    ++counters_.zeroCopySends;
  } else {
    io_uring_prep_send(e, s.fd, s.at, s.left, MSG_NOSIGNAL);
  }
  io_uring_sqe_set_data64(e, tag(kSendOp, s.fd, s.seq));
  s.sendSubmitted = true;
  ++s.ops;
}

void Streams::finishSend(Stream& s, long result) {
  if (s.zcNotifs > 0) {
    // Zero-copy: the kernel may still read the bytes until its last
    // notification; the job ends then.
    s.finishPending = true;
    s.sendResult = result;
    return;
  }
  s.finishPending = false;
  s.sendDone = true;
  s.sendResult = result;
  if (s.held >= 0) {
    buffers_->release(static_cast<std::uint16_t>(s.held));
    s.held = -1;
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
  int fd = fdOf(data);
  Stream* s = has(fd) ? byFd_[static_cast<std::size_t>(fd)].get() : nullptr;
  if (!s || s->seq != seqOf(data)) {
    orphanCompleted(data, res, flags);
    return;
  }
  touch(*s);
  if (kindOf(data) == kRecvOp) {
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
    return;
  }
  if (flags & IORING_CQE_F_NOTIF) {
    // A zero-copy send's notification: the kernel is done with its bytes.
    --s->ops;
    if (--s->zcNotifs == 0 && s->finishPending) finishSend(*s, s->sendResult);
    return;
  }
  if (flags & IORING_CQE_F_MORE) {
    ++s->zcNotifs;  // the operation ends with its notification
  } else {
    --s->ops;
  }
  s->sendSubmitted = false;
  if (res == -EOPNOTSUPP && s->sendZc) {
    s->noZc = true;  // a socket without zero-copy (AF_UNIX): plain sends from now
    submitSend(*s);
    return;
  }
  if (res > 0) {
    s->at += res;
    s->left -= static_cast<std::size_t>(res);
    s->total += res;
    if (s->left > 0) {
      submitSend(*s);  // the rest, before anything queued after it
    } else {
      finishSend(*s, s->total);
    }
  } else if (res == -EINTR || res == -EAGAIN || res == 0) {
    submitSend(*s);
  } else {
    finishSend(*s, res);
  }
}

void Streams::orphanCompleted(std::uint64_t data, int res, unsigned flags) {
  (void)res;
  if (flags & IORING_CQE_F_BUFFER) {
    buffers_->taken();
    buffers_->release(static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT));
  }
  int fd = fdOf(data);
  std::uint32_t seq = seqOf(data);
  auto it = std::find_if(orphans_.begin(), orphans_.end(), [&](const std::unique_ptr<Stream>& o) {
    return o->fd == fd && o->seq == seq;
  });
  if (it == orphans_.end()) return;
  Stream& o = **it;
  if (flags & IORING_CQE_F_MORE) return;  // more to come: a receive's, or a zero-copy notification
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
    unsigned ev = ((s.mask & kRead) && s.head < s.received.size() ? kRead : 0u) |
                  ((s.mask & kWrite) && !(s.sending && !s.sendDone) ? kWrite : 0u);
    if (ev) {
      fired.push_back({fd, ev});
      touched_[kept++] = fd;  // looked at again next turn: level-triggered
    }
  }
  touched_.resize(kept);
  for (int fd : touched_) byFd_[static_cast<std::size_t>(fd)]->touched = true;
}

}  // namespace twisted::detail::uring
