// process::Process: a running child and its pipes, the IProcessTransport a
// ProcessProtocol talks to (Twisted's process.Process). Internal; see
// docs/architecture.md, "Child processes".
//
//   spawnProcess -> pipes made -> spawn() -> Reaper (pidfd) registered ->
//   protocol->makeConnection -> ChildReader::doRead -> childDataReceived ...
//   each pipe's end -> childConnectionLost; the reap -> processExited;
//   both -> processEnded, once.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pipes.hpp"
#include "producer_slot.hpp"
#include "reaper.hpp"
#include "spawn.hpp"
#include "twisted/internet/interfaces.hpp"
#include "twisted/internet/process.hpp"

namespace twisted {
class Reactor;
}

namespace twisted::process {

class Reaper;

class Process final : public IProcessTransport,
                      public IFileDescriptor,
                      public PipeOwner,
                      public std::enable_shared_from_this<Process> {
 public:
  /// Use Reactor::spawnProcess; public for make_shared.
  Process(Reactor& reactor, std::shared_ptr<ProcessProtocol> protocol, std::string executable);
  ~Process() override;

  /// Makes the pipes `childFDs` asks for (or, with `usePTY`, a PTY),
  /// starts the child, registers the reaper and the pipes, connects the
  /// protocol. @throws as spawnProcess
  void start(SpawnRequest request, const ChildFDs& childFDs, bool usePTY);

  // ---- IProcessTransport ---------------------------------------------------
  std::optional<pid_t> pid() const override;
  void write(std::string_view data) override { writeToChild(0, data); }
  void writeSequence(std::span<const std::string_view> data) override;
  using IProcessTransport::writeSequence;
  void writeToChild(int childFD, std::string_view data) override;
  // (Nothing on a PTY, as in Twisted: it has one descriptor.)
  void closeStdin() override {
    if (!pty_) closeChildFD(0);
  }
  void closeStdout() override {
    if (!pty_) closeChildFD(1);
  }
  void closeStderr() override {
    if (!pty_) closeChildFD(2);
  }
  void closeChildFD(int childFD) override;
  void loseConnection() override;
  void signalProcess(std::string_view signal) override;
  void signalProcess(int signal) override;
  void setWindowSize(unsigned short rows, unsigned short columns) override;
  void pauseProducing() override;
  void resumeProducing() override;
  void stopProducing() override { loseConnection(); }
  // ---- IConsumer: the child's stdin ----------------------------------------------
  void registerProducer(std::shared_ptr<IProducer> producer, bool streaming) override;
  void unregisterProducer() override;

  // ---- IFileDescriptor (tracked by the reactor while the child lives) ----
  int fileno() const override { return -1; }
  /// At reactor shutdown: the pipes are closed (the child is not killed).
  void connectionLost(const Failure& reason) override;
  std::string logPrefix() const override { return "(process " + executable_ + ")"; }

  // ---- from the pipes (PipeOwner) and the reaper -------------------------------
  void pipeDataReceived(int childFD, std::string_view data) override;
  void pipeConnectionLost(int childFD, const Failure& reason) override;
  void pipeQueueShrank(int childFD, std::size_t queued) override;
  void reaped(const ExitStatus& status);

  Reactor& reactor() { return reactor_; }

 private:
  void maybeEnded();
  void openPty(SpawnRequest& request, std::vector<int>& childEnds);
  Failure reason() const;
  /// The end stdin is written through: its pipe, a PTY's master, or none.
  std::shared_ptr<ChildWriter> stdinWriter() const;

  Reactor& reactor_;
  std::shared_ptr<ProcessProtocol> protocol_;  // until processEnded
  std::string executable_;                     // as given: logPrefix() names the child by it
  pid_t pid_ = -1;
  std::shared_ptr<Reaper> reaper_;
  std::map<int, std::shared_ptr<ChildPipe>> pipes_;
  std::map<int, bool> writable_;      // each piped descriptor: true for a "w" pipe
  std::shared_ptr<ChildWriter> pty_;  // a PTY child's master (also pipes_[1])
  bool reaped_ = false;
  bool ended_ = false;
  bool paused_ = false;
  ProducerSlot stdinProducer_;  // IConsumer of stdin: until unregistered or stdin's end
  ExitStatus status_;
};

}  // namespace twisted::process
