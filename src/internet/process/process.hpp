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

#include "pipes.hpp"
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
                      public std::enable_shared_from_this<Process> {
 public:
  /// Use Reactor::spawnProcess; public for make_shared.
  Process(Reactor& reactor, std::shared_ptr<ProcessProtocol> protocol, std::string name);
  ~Process() override;

  /// Makes the pipes `childFDs` asks for, starts the child, registers the
  /// reaper and the pipes, connects the protocol.
  /// @throws as spawnProcess
  void start(SpawnRequest request, const ChildFDs& childFDs);

  // ---- IProcessTransport ---------------------------------------------------
  std::optional<pid_t> pid() const override;
  void write(std::string_view data) override { writeToChild(0, data); }
  void writeSequence(std::span<const std::string_view> data) override;
  void writeToChild(int childFD, std::string_view data) override;
  void closeStdin() override { closeChildFD(0); }
  void closeStdout() override { closeChildFD(1); }
  void closeStderr() override { closeChildFD(2); }
  void closeChildFD(int childFD) override;
  void loseConnection() override;
  void signalProcess(std::string_view signal) override;
  void signalProcess(int signal) override;
  void pauseProducing() override;
  void resumeProducing() override;
  void stopProducing() override { loseConnection(); }

  // ---- IFileDescriptor (tracked by the reactor while the child lives) ----
  int fileno() const override { return -1; }
  /// At reactor shutdown: the pipes are closed (the child is not killed).
  void connectionLost(const Failure& reason) override;
  std::string logPrefix() const override { return name_; }

  // ---- from the pipes and the reaper -----------------------------------------
  void childDataReceived(int childFD, std::string_view data);
  void childConnectionLost(int childFD);
  void reaped(int status, std::optional<int> exitCode, std::optional<int> signal);

  Reactor& reactor() { return reactor_; }

 private:
  void maybeEnded();
  Failure reason() const;

  Reactor& reactor_;
  std::shared_ptr<ProcessProtocol> protocol_;  // until processEnded
  std::string name_;
  pid_t pid_ = -1;
  std::shared_ptr<Reaper> reaper_;
  std::map<int, std::shared_ptr<ChildPipe>> pipes_;
  std::map<int, bool> writable_;  // each piped descriptor: true for a "w" pipe
  bool reaped_ = false;
  bool ended_ = false;
  bool paused_ = false;
  int status_ = 0;
  std::optional<int> exitCode_;
  std::optional<int> signal_;
};

}  // namespace twisted::process
