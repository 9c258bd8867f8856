// What a transport needs from the reactor it runs on, and nothing more
// (docs/architecture.md, "The stream transport layer"): no transport is a
// friend of Reactor or sees its private state.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "twisted/internet/interfaces.hpp"
#include "twisted/internet/pool.hpp"

namespace twisted {
class Reactor;
}

namespace twisted::detail {

class Completions;

/// The reactor's read buffer: every transport reads into it, and its bytes
/// are dead once dataReceived returns, so idle connections own no buffer.
/// A read nested in another (a dataReceived that iterates the reactor)
/// finds it busy and uses a buffer of its own.
struct ReadArena {
  static constexpr std::size_t kSize = 64 * 1024;
  std::vector<char, PoolAllocator<char>> data;  // sized on first use
  bool busy = false;
};

/// A reactor as its transports see it.
class TransportHost {
 public:
  /// Where the transport registers to read and write.
  virtual IReactorFDSet& fdset() = 0;
  /// The reactor's clock (callLater(0) for what must not run inside a
  /// caller; timeouts).
  virtual IReactorTime& clock() = 0;
  /// Keeps an open transport alive, whether or not it is registered; at
  /// shutdown it gets connectionLost (Reactor::track).
  virtual void track(std::shared_ptr<IFileDescriptor> d) = 0;
  virtual void untrack(const IFileDescriptor& d) = 0;
  /// The buffer reads go into.
  virtual ReadArena& readArena() = 0;
  /// addReader for a file that other reactors wait on too (a ReactorGroup's
  /// shared listening socket): each event wakes one of them, where the
  /// backend can (epoll's EPOLLEXCLUSIVE), rather than all. Call it each
  /// time the descriptor starts reading again.
  virtual void addExclusiveReader(std::shared_ptr<IReadDescriptor> reader) = 0;
  /// The backend's completion operations (io_uring), or null: what a port
  /// uses to accept in the kernel. It lives as long as the reactor.
  virtual Completions* completions() = 0;

 protected:
  ~TransportHost() = default;
};

/// The host that `reactor` offers its transports.
TransportHost& transportHost(Reactor& reactor);

}  // namespace twisted::detail
