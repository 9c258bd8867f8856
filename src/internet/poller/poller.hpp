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
#include <vector>

#include "../memory/connection_pool.hpp"
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
