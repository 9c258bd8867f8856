// StandardIO: this process's own stdin and stdout as the transport of one
// protocol (Twisted's twisted.internet.stdio.StandardIO). See
// docs/process.md, "Standard I/O".
//
//   auto stdio = twisted::StandardIO::create(reactor, std::make_shared<Echo>());
//   reactor.run();  // echoes stdin to stdout until stdin ends
#pragma once

#include <memory>

#include "twisted/internet/deferred.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/internet/transport.hpp"

namespace twisted {

class Reactor;

/// Twisted's StandardIO: reads `stdinFd` and writes `stdoutFd` for
/// `protocol`, whatever they are: a terminal, a pipe, a socket, or a
/// regular file or /dev/null (which cannot be polled: served a chunk a
/// turn, written at once). Its getHost and getPeer are PipeAddress.
///
/// The ends:
///  - end of file on stdin: a protocol that is an IHalfCloseableProtocol
///    hears readConnectionLost and may go on writing; any other protocol's
///    connection is lost (ConnectionDone) once what it wrote is flushed;
///  - loseConnection: stops reading, flushes, then connectionLost
///    (ConnectionDone); loseWriteConnection flushes and ends stdout only
///    (writeConnectionLost for a half-closeable protocol);
///  - stdout's reader gone (EPIPE) or a read error: connectionLost with
///    ConnectionLost.
///
/// The descriptors are lent, not given: while served they are
/// non-blocking, and at the end their flags are put back (a shell that
/// shares them is not left with a non-blocking terminal); stdout, if it is
/// a pipe or a socket, is then pointed at /dev/null (a socket is shut down
/// first), so that its reader sees the end while the number stays taken.
/// Nothing else is closed.
class StandardIO : public ITransport {
 public:
  /// Starts serving: makeConnection(protocol) has run when it returns. The
  /// reactor keeps the transport until its connectionLost.
  /// @throws std::invalid_argument if the two descriptors are the same
  ///   number or either is not open.
  static std::shared_ptr<StandardIO> create(Reactor& reactor, std::shared_ptr<Protocol> protocol,
                                            int stdinFd = 0, int stdoutFd = 1);
  /// Flushes what is written, then ends stdout; stdin goes on being read.
  virtual void loseWriteConnection() = 0;
  /// Fires once the protocol's connectionLost has run (at once if it has).
  virtual Deferred<void> whenLost() = 0;

 protected:
  StandardIO() = default;
};

}  // namespace twisted
