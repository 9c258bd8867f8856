// UNIX stream sockets: Twisted's IReactorUNIX (listenUNIX, connectUNIX) and
// IUNIXTransport, in files of their own (src/internet/unix/), as the
// reactor's TCP is. See docs/unix.md.
//
//   auto port = reactor.listenUNIX("/run/app.sock", factory, 50, 0660);
//   reactor.connectUNIX("/run/app.sock", clientFactory);
//   reactor.listenUNIX(std::string("\0app", 4), factory);  // abstract name
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "twisted/internet/transport.hpp"

namespace twisted {

class Factory;
class ClientFactory;
class Reactor;

/// Who is at the other end of a UNIX socket, as the kernel saw it when the
/// connection was made (SO_PEERCRED).
struct PeerCredentials {
  pid_t pid = 0;  ///< The peer's process id.
  uid_t uid = 0;  ///< Its effective user id.
  gid_t gid = 0;  ///< Its effective group id.
  /// True if all three are equal.
  friend bool operator==(const PeerCredentials&, const PeerCredentials&) = default;
};

/// Twisted's IUNIXTransport: a connected UNIX stream socket. Half-close,
/// producers and flow control are as on TCP.
class IUNIXTransport : public ITransport {
 public:
  /// Half-close: sends what is buffered, then shuts down the write side; the
  /// peer reads end-of-file and this side can still read. An
  /// IHalfCloseableProtocol gets writeConnectionLost().
  virtual void loseWriteConnection() = 0;
  /// The peer's pid, uid and gid (beyond Twisted: what a server needs to
  /// authorize a local client); nullopt if the kernel could not say. Known
  /// from the connection on, and still answered after it is closed.
  virtual std::optional<PeerCredentials> getPeerCredentials() const = 0;
  /// Sends a duplicate of descriptor `fd` to the peer, with the first byte
  /// not yet sent when its turn comes: call it before the write that
  /// carries it (Twisted's rule: a descriptor travels with a byte, so write
  /// at least one byte per descriptor, or the connection is lost with
  /// error::FileDescriptorOverrun). `fd` stays the caller's: it is
  /// duplicated at once and may be closed right after. More than 64 waiting
  /// descriptors pause a registered streaming producer. Ignored once the
  /// connection is closing. @throws std::system_error if `fd` cannot be
  /// duplicated (EBADF, EMFILE).
  virtual void sendFileDescriptor(int fd) = 0;
};

/// Twisted's IFileDescriptorReceiver: a protocol over a UNIX socket that
/// also implements this receives the descriptors its peer sends, each
/// before the bytes it came with. Each is new, close-on-exec, and the
/// protocol's to close. A protocol that does not implement it gets none:
/// they are closed (and that is logged), never leaked.
class IFileDescriptorReceiver {
 public:
  virtual ~IFileDescriptorReceiver() = default;
  /// Called once per descriptor received, in order.
  virtual void fileDescriptorReceived(int fd) = 0;
};

/// Twisted's IReactorUNIX.
class IReactorUNIX {
 public:
  virtual ~IReactorUNIX() = default;
  /// Listens on the UNIX socket `address`: a file system path, or a name in
  /// Linux's abstract namespace written with a leading NUL byte (Twisted's
  /// spelling). A path is created with permissions `mode` (never, even
  /// briefly, with others) and removed when the port stops listening. With
  /// `wantPID`, a lock file `address + ".lock"` names this process: a stale
  /// socket left by a dead server is replaced, a live server's is refused.
  /// @throws error::CannotListenError naming the address and the reason.
  virtual std::shared_ptr<IListeningPort> listenUNIX(std::string address,
                                                     std::shared_ptr<Factory> factory,
                                                     int backlog = 50, int mode = 0666,
                                                     bool wantPID = false) = 0;
  /// Connects to the UNIX socket `address` (a path or an abstract name).
  /// Success, failure and loss are reported to `factory`. With `checkPID`, a
  /// path whose lock file names no live process fails with
  /// error::BadFileError before any connect. `timeout` <= 0: no limit.
  virtual std::shared_ptr<IConnector> connectUNIX(std::string address,
                                                  std::shared_ptr<ClientFactory> factory,
                                                  double timeout = 30, bool checkPID = false) = 0;
};

/// The reactor's IReactorUNIX (a Reactor is the only class that derives
/// from it).
class ReactorUNIX : public IReactorUNIX {
 public:
  std::shared_ptr<IListeningPort> listenUNIX(std::string address, std::shared_ptr<Factory> factory,
                                             int backlog = 50, int mode = 0666,
                                             bool wantPID = false) override;
  std::shared_ptr<IConnector> connectUNIX(std::string address,
                                          std::shared_ptr<ClientFactory> factory,
                                          double timeout = 30, bool checkPID = false) override;

 private:
  // Only a Reactor is one (src/internet/unix/reactor_unix.cpp casts to it).
  friend class Reactor;
  ReactorUNIX() = default;
  ~ReactorUNIX() override = default;
};

}  // namespace twisted
