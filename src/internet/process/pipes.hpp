// Pipe ends (Twisted's ProcessReader and ProcessWriter): a reader delivers
// what arrives on a descriptor, a writer sends what its owner writes, in
// order, without blocking. Their owner is a child process (the parent's
// ends of the child's pipes) or StandardIO (this process's own stdin and
// stdout). Internal; docs/architecture.md, "Child processes".
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "../stream/write_queue.hpp"
#include "twisted/internet/delayed_call.hpp"
#include "twisted/internet/interfaces.hpp"

namespace twisted {
class Reactor;
}

namespace twisted::process {

/// Who a pipe end reports to; `name` is the number it was made with (the
/// child's descriptor for a Process, 0 or 1 for StandardIO).
class PipeOwner {
 public:
  virtual ~PipeOwner() = default;
  virtual void pipeDataReceived(int name, std::string_view data) = 0;
  /// The end is over: ConnectionDone for an end of file or a close the
  /// owner asked for, ConnectionLost otherwise. Called once.
  virtual void pipeConnectionLost(int name, const Failure& reason) = 0;
  /// A writer sent some of its queue; `queued` bytes are left.
  virtual void pipeQueueShrank(int name, std::size_t queued) {
    (void)name;
    (void)queued;
  }
};

/// How an end treats its descriptor.
struct PipeOptions {
  /// False for a descriptor poll cannot watch (a regular file, /dev/null):
  /// a reader reads a chunk a turn, a writer writes at once.
  bool pollable = true;
  /// False for a descriptor lent to us (stdin, stdout): at the end its
  /// flags are restored and, for a pipe or a socket, it is pointed at
  /// /dev/null rather than closed, so that its number stays taken and the
  /// peer still sees the end of the stream.
  bool owned = true;
};

/// One pipe end, owned by its owner (and registered with the reactor while
/// open).
class ChildPipe : public IReadWriteDescriptor, public std::enable_shared_from_this<ChildPipe> {
 public:
  ChildPipe(std::weak_ptr<PipeOwner> owner, int name, int fd, PipeOptions options = {});
  ~ChildPipe() override;
  int fileno() const override { return fd_; }
  int name() const { return name_; }
  bool open() const { return fd_ >= 0; }
  /// Ended by the reactor (a failed read or write, or shutdown).
  void connectionLost(const Failure& reason) override;
  std::string logPrefix() const override { return "ChildPipe"; }
  /// Starts watching the descriptor.
  virtual void begin(Reactor& reactor) = 0;
  /// The owner closes this end (a writer: once what is queued is sent).
  virtual void close() = 0;
  virtual bool isWriter() const = 0;
  /// Closes at once, dropping what is queued.
  void abort();

 protected:
  /// Stops watching, lets go of the descriptor and tells the owner (once).
  void finish(const Failure& reason);
  /// One read (up to 64 KiB), given to the owner; the end of file (or EIO,
  /// a PTY's end) is ConnectionDone.
  IOResult readAvailable();

  std::weak_ptr<PipeOwner> owner_;
  Reactor* reactor_ = nullptr;
  int name_;
  int fd_;
  PipeOptions options_;
  int originalFlags_ = -1;  // restored at the end of a lent descriptor
};

/// A reading end: the other side writes, the owner hears.
class ChildReader final : public ChildPipe {
 public:
  using ChildPipe::ChildPipe;
  void begin(Reactor& reactor) override;
  void close() override;
  bool isWriter() const override { return false; }
  IOResult doRead() override;
  IOResult doWrite() override { return {}; }
  void pause();
  void resume();

 private:
  void schedule();  // an unpollable descriptor's next read
  bool paused_ = false;
  DelayedCall next_;
};

/// A writing end. With `readsToo` (a PTY's master) it is also read, and EIO
/// there is the end; otherwise, on a FIFO, it is watched for reading all
/// the same: a write end turns "readable" (POLLERR) only when the reader
/// has gone, which is this end's end (Twisted's ProcessWriter). On a
/// terminal or a socket it is not (readable would mean input to someone
/// else).
class ChildWriter final : public ChildPipe {
 public:
  ChildWriter(std::weak_ptr<PipeOwner> owner, int name, int fd, PipeOptions options = {},
              bool readsToo = false);
  void begin(Reactor& reactor) override;
  void close() override;
  bool isWriter() const override { return true; }
  void write(std::string_view data);
  std::size_t queued() const { return queue_.size(); }
  IOResult doRead() override;
  IOResult doWrite() override;
  /// For `readsToo`: stops and restarts reading.
  void pause();
  void resume();

 private:
  void watchReading();
  twisted::detail::WriteBuffer queue_;
  bool closing_ = false;
  bool readsToo_ = false;
  bool watchesClose_ = false;
  bool paused_ = false;
};

}  // namespace twisted::process
