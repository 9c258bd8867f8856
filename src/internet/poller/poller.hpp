// The backend interface: the only thing a select/poll/epoll file implements.
//
// The reactor keeps the fd table and the descriptor objects; a poller only
// knows fd numbers and interest masks, and reports which fds are ready. See
// docs/architecture.md, "The backend interface".
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../memory/connection_pool.hpp"
#include "../stream/write_queue.hpp"
#include "twisted/internet/backend.hpp"

namespace twisted::detail {

enum PollEvent : unsigned {
  kRead = 1,
  kWrite = 2,
  kHangup = 4,    // the peer hung up (POLLHUP/EPOLLHUP)
  kError = 8,     // an error is pending (POLLERR/EPOLLERR)
  kInvalid = 16,  // the fd is not open (POLLNVAL, select's EBADF)
  // In an interest mask only: of the pollers waiting on this file (one per
  // reactor of a group), wake one (EPOLLEXCLUSIVE). Set with the first
  // interest and kept until the last goes; epoll alone honours it, the
  // others wake every waiter, which is slower but as correct.
  kExclusive = 32,
};

struct FiredEvent {
  int fd;
  unsigned events;
  std::uint32_t generation = 0;  // filled in by the reactor, not the poller
};

// In the connection pool, with the rest of what a turn touches.
using FiredList = std::vector<FiredEvent, PoolAllocator<FiredEvent>>;

/// What a completion backend (io_uring) does for a descriptor beyond
/// readiness: the kernel performs the operation and the poller keeps its
/// result, reporting the descriptor as readable (kRead) while results wait
/// and it is watched for reading, so the reactor's dispatch, its stale-event
/// check and its graveyard apply unchanged. See docs/architecture.md, "The
/// io_uring backend: its design".
class Completions {
 public:
  /// Accepts on listening socket `fd` (watched for reading) in the kernel:
  /// one multishot accept, re-armed when it ends; readiness is no longer
  /// asked for `fd`. False (nothing done) where the kernel cannot.
  virtual bool startAccepting(int fd) = 0;
  /// The next result for `fd`: an accepted socket (>= 0, non-blocking,
  /// close-on-exec, now the caller's), or -errno; nothing if none waits.
  virtual std::optional<int> takeAccepted(int fd) = 0;
  /// Stops accepting on `fd`, at once: the accept in flight is cancelled
  /// and its cancellation run, so that `fd` may be closed next; sockets
  /// accepted and not taken are closed.
  virtual void stopAccepting(int fd) = 0;

  // ---- a connected stream socket's receives and sends (TCP, UNIX bytes)
  /// Bytes the kernel received into one of the ring's provided buffers,
  /// lent to the caller until it gives the buffer back (releaseReceived,
  /// or sendReceived of some of them); or the end: `result` 0 for the
  /// peer's orderly close, -errno for an error.
  struct Received {
    const char* data = nullptr;
    int result = 0;  // > 0: bytes at data
    std::uint16_t buffer = 0;
  };
  /// Receives and sends on connected socket `fd` through the kernel: one
  /// multishot receive while `fd` is watched for reading (cancelled while it
  /// is not), one send at a time. `fd` is then reported readable while
  /// received results wait, and writable while no send is in flight (a
  /// finished send's result waiting, or none submitted). False (nothing
  /// done) where the kernel cannot.
  virtual bool startStream(int fd) = 0;
  /// The next received result for `fd`, in order; nothing if none waits.
  virtual std::optional<Received> takeReceived(int fd) = 0;
  /// Gives a received buffer back to the ring.
  virtual void releaseReceived(std::uint16_t buffer) = 0;
  /// Sends all of `bytes`, after the send in flight (none may be): the
  /// poller takes them (swapping in its own emptied buffer) and holds them
  /// until the kernel has sent them all, resubmitting what a partial send
  /// leaves, or an error ends it.
  virtual void send(int fd, WriteBuffer& bytes) = 0;
  /// Sends `data`, bytes of received buffer `buffer` (none in flight): the
  /// buffer is held until they are sent, then given back. When the ring
  /// runs low the bytes are copied and the buffer given back at once.
  virtual void sendReceived(int fd, std::string_view data, std::uint16_t buffer) = 0;
  /// The result of the finished send: the bytes sent, or -errno; nothing
  /// while it is in flight or none was submitted.
  virtual std::optional<long> takeSent(int fd) = 0;
  /// Before `fd` closes: the receive and the send in flight are cancelled
  /// and the cancellations run, the waiting results dropped (their buffers
  /// given back). What the kernel still holds (bytes of a send) stays the
  /// poller's until its last completion.
  virtual void stopStream(int fd) = 0;
  /// What the stream operations have done so far, for tests and tuning.
  struct Counters {
    std::size_t zeroCopySends = 0;  // sends submitted as IORING_OP_SEND_ZC
    std::size_t copiedEchoes = 0;   // sendReceived that copied (the ring ran low)
    std::size_t parkedCopies = 0;   // results copied out of the ring (a stream stopped reading)
    std::size_t starvations = 0;    // receives ended by ENOBUFS (no buffer free)
    std::size_t orphans = 0;        // stopped streams whose operations are still in flight
    std::size_t buffersFree = 0;    // provided buffers the kernel may fill now
  };
  virtual Counters counters() const = 0;

  /// Keeps a read of eventfd `fd` (the reactor's waker) in flight in the
  /// ring, armed again after each completes: `fd` is reported readable once
  /// the kernel has read it, so its reader must not read it again. False
  /// (nothing done) where not.
  virtual bool startCounter(int fd) = 0;

 protected:
  ~Completions() = default;
};

class Poller {
 public:
  virtual ~Poller() = default;
  virtual const char* name() const = 0;
  /// The completion operations, where the backend has them (iouring);
  /// null for select, poll and epoll.
  virtual Completions* completions() { return nullptr; }
  /// The interest in `fd` changes from `oldMask` to `newMask` (kRead|kWrite;
  /// 0 = not watched). Throws (std::system_error, error::BackendLimitError)
  /// without changing anything if the kernel or the backend refuses.
  virtual void update(int fd, unsigned oldMask, unsigned newMask) = 0;
  /// Waits at most `timeoutMs` milliseconds (-1: no limit; see
  /// timeoutMillis) and appends the ready fds to `fired`. An interrupted
  /// wait (EINTR) returns with none.
  virtual void poll(int timeoutMs, FiredList& fired) = 0;
};

std::unique_ptr<Poller> makeSelectPoller();
std::unique_ptr<Poller> makePollPoller();
std::unique_ptr<Poller> makeEpollPoller();
/// nullptr, with the reason in `whyNot`, where this process cannot have an
/// io_uring that does what the reactor needs.
std::unique_ptr<Poller> makeUringPoller(std::string& whyNot);
/// The only place that names the concrete pollers. IoUring falls back to
/// epoll where io_uring is unavailable, logged once per reason: the
/// poller's name() tells which one was made.
std::unique_ptr<Poller> makePoller(Backend backend);

/// Milliseconds for poll/epoll_wait, rounded up so that a wait never ends
/// just before a timer is due (which would spin until it is).
/// A timeout < 0 (no limit) gives -1.
int timeoutMillis(double timeout);

}  // namespace twisted::detail
