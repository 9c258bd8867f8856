// The parent's ends of a child's pipes (Twisted's ProcessReader and
// ProcessWriter): a reader delivers what the child writes to one of its
// descriptors, a writer sends what the protocol writes, in order, without
// blocking. Internal.
#pragma once

#include <memory>
#include <string_view>

#include "../stream/write_queue.hpp"
#include "twisted/internet/interfaces.hpp"

namespace twisted {
class Reactor;
}

namespace twisted::process {

class Process;

/// One pipe end, owned by its Process (and registered with the reactor
/// while open); `childFD` is the child's descriptor it is connected to.
class ChildPipe : public IReadWriteDescriptor, public std::enable_shared_from_this<ChildPipe> {
 public:
  ChildPipe(std::weak_ptr<Process> process, int childFD, int fd)
      : process_(std::move(process)), childFD_(childFD), fd_(fd) {}
  ~ChildPipe() override;
  int fileno() const override { return fd_; }
  int childFD() const { return childFD_; }
  /// Closed by the reactor (its end, or shutdown): tells the process once.
  void connectionLost(const Failure& reason) override;
  std::string logPrefix() const override { return "ChildPipe"; }
  /// Starts watching the descriptor.
  virtual void begin(Reactor& reactor) = 0;
  /// The parent closes this end (a writer: once what is queued is sent).
  virtual void close() = 0;
  virtual bool isWriter() const = 0;
  /// Closes at once, dropping what is queued (shutdown).
  void abort() { finish(); }

 protected:
  /// Stops watching, closes the descriptor and tells the process (once).
  void finish();

  std::weak_ptr<Process> process_;
  Reactor* reactor_ = nullptr;
  int childFD_;
  int fd_;
};

/// A "r" pipe: the child writes, the parent reads.
class ChildReader final : public ChildPipe {
 public:
  using ChildPipe::ChildPipe;
  void begin(Reactor& reactor) override;
  void close() override { finish(); }
  bool isWriter() const override { return false; }
  IOResult doRead() override;
  IOResult doWrite() override { return {}; }
  void pause();
  void resume();

 private:
  bool paused_ = false;
};

/// A "w" pipe: the parent writes, the child reads. Watched for reading too:
/// a write end becomes "readable" (POLLERR) only when the child has closed
/// its end, which is this pipe's end (Twisted's ProcessWriter).
class ChildWriter final : public ChildPipe {
 public:
  using ChildPipe::ChildPipe;
  void begin(Reactor& reactor) override;
  void close() override;
  bool isWriter() const override { return true; }
  void write(std::string_view data);
  IOResult doRead() override;
  IOResult doWrite() override;

 private:
  twisted::detail::WriteBuffer queue_;
  bool closing_ = false;
};

}  // namespace twisted::process
