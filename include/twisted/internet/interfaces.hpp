// The reactor's contracts, as Twisted's twisted.internet.interfaces.
//
// A reactor is composed of small capability interfaces so that code can ask
// for exactly what it uses (a protocol timeout needs only IReactorTime&, which
// testing::Clock also provides) and tests can substitute a double.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "twisted/internet/delayed_call.hpp"
#include "twisted/python/failure.hpp"
#include "twisted/python/unique_function.hpp"

namespace twisted {

/// What doRead/doWrite return: nothing to carry on, or the reason to
/// disconnect (Twisted returns None or a Failure-like reason).
using IOResult = std::optional<Failure>;

/// Something with a file descriptor the reactor can watch.
class IFileDescriptor {
 public:
  virtual ~IFileDescriptor() = default;
  /// The descriptor number to watch; -1 means it is gone, and the reactor
  /// disconnects the descriptor instead of dispatching to it.
  virtual int fileno() const = 0;
  /// Called once when the reactor disconnects this descriptor: after a
  /// doRead/doWrite failure, or at shutdown (with ConnectionLost).
  virtual void connectionLost(const Failure& reason) = 0;
  /// A short name for log lines about this descriptor.
  virtual std::string logPrefix() const { return "-"; }
};

/// A descriptor with something to do when its fd is readable.
class IReadDescriptor : public virtual IFileDescriptor {
 public:
  /// Called when the fd may be read without blocking. Return a failure (or
  /// throw) to be disconnected.
  virtual IOResult doRead() = 0;
  /// True if an error the kernel queued on the socket (POLLERR without
  /// POLLIN) is to be read, not the end of the descriptor: a datagram
  /// socket, whose next receive reports and clears it (an ICMP "port
  /// unreachable"). False (the default) disconnects, as Twisted does.
  virtual bool readsQueuedErrors() const { return false; }
};

/// A descriptor with something to do when its fd is writable.
class IWriteDescriptor : public virtual IFileDescriptor {
 public:
  /// Called when the fd may be written without blocking. Return a failure
  /// (or throw) to be disconnected.
  virtual IOResult doWrite() = 0;
};

/// Both; the common case for connections.
class IReadWriteDescriptor : public IReadDescriptor, public IWriteDescriptor {};

/// A read descriptor that can survive its read side closing (TCP half-close).
/// When its doRead reports ConnectionDone, the reactor calls
/// readConnectionLost instead of disconnecting it.
class IHalfCloseableDescriptor {
 public:
  virtual ~IHalfCloseableDescriptor() = default;
  /// Called when the peer has closed its side (`reason` is a ConnectionDone);
  /// the descriptor is no longer read from, but may still write.
  virtual void readConnectionLost(const Failure& reason) = 0;
};

/// Twisted's IReactorTime.
class IReactorTime {
 public:
  virtual ~IReactorTime() = default;
  /// The current time in seconds, on a clock that never goes backwards.
  virtual double seconds() const = 0;
  /// Calls `f` once, `delay` seconds from now (0 means on the next turn of
  /// the loop). Calls due at the same time run in the order scheduled.
  virtual DelayedCall callLater(double delay, UniqueFunction<void()> f) = 0;
  /// Every call scheduled and not yet run or cancelled.
  virtual std::vector<DelayedCall> getDelayedCalls() const = 0;
};

/// Twisted's IReactorFDSet. The reactor keeps a shared reference to each
/// registered descriptor until it is removed (see docs/architecture.md).
class IReactorFDSet {
 public:
  virtual ~IReactorFDSet() = default;
  /// Starts calling `reader`'s doRead whenever its fd is readable; adding it
  /// twice does nothing. @throws std::invalid_argument for a null reader.
  virtual void addReader(std::shared_ptr<IReadDescriptor> reader) = 0;
  /// Starts calling `writer`'s doWrite whenever its fd is writable; adding it
  /// twice does nothing. @throws std::invalid_argument for a null writer.
  virtual void addWriter(std::shared_ptr<IWriteDescriptor> writer) = 0;
  /// Stops watching `reader` for reading; does nothing if it was not added.
  virtual void removeReader(const IReadDescriptor& reader) = 0;
  /// Stops watching `writer` for writing; does nothing if it was not added.
  virtual void removeWriter(const IWriteDescriptor& writer) = 0;
  /// Removes every reader and writer (except the reactor's own internal
  /// ones) and returns them, each once.
  virtual std::vector<std::shared_ptr<IFileDescriptor>> removeAll() = 0;
  /// Returns every registered reader (not the reactor's internal ones).
  virtual std::vector<std::shared_ptr<IReadDescriptor>> getReaders() const = 0;
  /// Returns every registered writer (not the reactor's internal ones).
  virtual std::vector<std::shared_ptr<IWriteDescriptor>> getWriters() const = 0;
};

/// Twisted's IReactorThreads (callFromThread is the thread-safe entry).
class IReactorThreads {
 public:
  virtual ~IReactorThreads() = default;
  /// Thread-safe: runs `f` on the reactor thread on its next turn, waking it.
  virtual void callFromThread(UniqueFunction<void()> f) = 0;
  /// Runs `f` in the reactor's thread pool.
  virtual void callInThread(UniqueFunction<void()> f) = 0;
  /// Caps the thread pool at `size` threads (lowering its minimum if needed).
  virtual void suggestThreadPoolSize(int size) = 0;
};

}  // namespace twisted
