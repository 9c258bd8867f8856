// Endpoints over pipes: ProcessEndpoint (a client endpoint whose
// connection is a child's stdin and stdout) and StandardIOEndpoint (a
// server endpoint whose one connection is this process's stdin and
// stdout; serverFromString's "stdio:"). Twisted's endpoints of the same
// names. See docs/process.md, "Endpoints".
//
//   ProcessEndpoint child(reactor, "/bin/cat", {"cat"});
//   child.connect(factory);  // the protocol talks to cat
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "twisted/internet/deferred.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/process.hpp"

namespace twisted {

class Reactor;
class StandardIO;

/// What ProcessEndpoint does with what the child writes to stderr
/// (Twisted's StandardErrorBehavior).
enum class StandardErrorBehavior {
  Log,   ///< logged, with the executable's name (the default)
  Drop,  ///< dropped
};

/// Twisted's ProcessEndpoint: connect() spawns the child (spawnProcess's
/// arguments) and connects a protocol of the factory's to it: what the
/// child writes to stdout is dataReceived, what the protocol writes goes to
/// the child's stdin, loseConnection closes the child's pipes. The
/// protocol's connectionLost comes at processEnded: ConnectionDone when the
/// child exited with 0, else the ProcessTerminated. The transport is a
/// ProcessEndpointTransport; getHost and getPeer are PipeAddress.
class ProcessEndpoint final : public IStreamClientEndpoint {
 public:
  /// Remembers spawnProcess's arguments (see IReactorProcess::spawnProcess)
  /// and what to do with stderr; nothing starts before connect().
  ProcessEndpoint(Reactor& reactor, std::string executable, std::vector<std::string> args,
                  std::optional<Environment> env = Environment{},
                  std::optional<std::string> path = {}, std::optional<uid_t> uid = {},
                  std::optional<gid_t> gid = {}, bool usePTY = false,
                  std::optional<ChildFDs> childFDs = {},
                  StandardErrorBehavior errFlag = StandardErrorBehavior::Log);
  /// Fires with the protocol once it is connected (after its
  /// connectionMade), or fails with what spawnProcess threw
  /// (ProcessSpawnError for a child that cannot be run), or ConnectError
  /// if the factory built no protocol.
  Deferred<std::shared_ptr<Protocol>> connect(std::shared_ptr<Factory> factory) override;
  std::string describe() const override;

 private:
  Reactor& reactor_;
  std::string executable_;
  std::vector<std::string> args_;
  std::optional<Environment> env_;
  std::optional<std::string> path_;
  std::optional<uid_t> uid_;
  std::optional<gid_t> gid_;
  bool usePTY_;
  std::optional<ChildFDs> childFDs_;
  StandardErrorBehavior errFlag_;
};

/// The transport a ProcessEndpoint's protocol gets: an ITransport over the
/// child's IProcessTransport (Twisted's _ProcessEndpointTransport).
/// Its producer is the child (pausing stops reading its stdout); a
/// producer registered here is the child's stdin's
/// (IProcessTransport::registerProducer): paused past 64 KiB queued, the
/// process transport's fixed marks (setWriteBufferLimits changes nothing
/// here, and writeBufferSize() is 0).
class ProcessEndpointTransport : public ITransport {
 public:
  /// The child, for what ITransport does not say (its pid, signals).
  virtual std::shared_ptr<IProcessTransport> process() const = 0;
};

/// Twisted's StandardIOEndpoint: listen() builds one protocol and serves
/// it on this process's stdin and stdout (StandardIO, descriptors 0 and
/// 1). It fires with a StandardIOPort.
class StandardIOEndpoint final : public IStreamServerEndpoint {
 public:
  /// Serves on `stdinFd` and `stdoutFd` (this process's 0 and 1 unless told).
  explicit StandardIOEndpoint(Reactor& reactor, int stdinFd = 0, int stdoutFd = 1);
  Deferred<std::shared_ptr<IListeningPort>> listen(std::shared_ptr<Factory> factory) override;
  std::string describe() const override { return "stdio:"; }

 private:
  Reactor& reactor_;
  int stdinFd_, stdoutFd_;
};

/// What StandardIOEndpoint's listen gives: a "port" with one connection.
/// stopListening loses that connection and fires after its
/// connectionLost; whenDone fires then too, however it ended (`twist`
/// exits at it).
class StandardIOPort : public IListeningPort {
 public:
  /// Fires once the connection is over (after its protocol's connectionLost).
  virtual Deferred<void> whenDone() = 0;
  /// The connection's transport.
  virtual std::shared_ptr<StandardIO> transport() const = 0;
};

}  // namespace twisted
