// unixsock::Connection and Server: what a UNIX connection adds to the
// shared stream transport (addresses, credentials), and the transport's
// instantiation for UNIX sockets (Twisted's unix.Server over
// abstract.FileDescriptor).
#include <sys/socket.h>

#include "../stream/stream_transport_impl.hpp"
#include "unix.hpp"

template class twisted::detail::StreamTransport<twisted::IUNIXTransport, twisted::detail::SocketIO>;

namespace twisted::unixsock {

std::string describe(const std::string& name) {
  if (!isAbstract(name)) return name;
  std::string out(name);
  out[0] = '@';
  return out;
}

std::optional<PeerCredentials> Connection::getPeerCredentials() const {
  if (!credentialsRead_ && fd() >= 0) {
    credentialsRead_ = true;
    ucred cred{};
    socklen_t length = sizeof cred;
    if (::getsockopt(fd(), SOL_SOCKET, SO_PEERCRED, &cred, &length) == 0 && length == sizeof cred) {
      credentials_ = PeerCredentials{cred.pid, cred.uid, cred.gid};
    }
  }
  return credentials_;
}

void Connection::beforeClose() {
  (void)getPeerCredentials();  // answers after close
}

Server::Server(twisted::detail::TransportHost& host, std::shared_ptr<Factory> factory,
               std::string portName, std::string peerName, long sessionno)
    : Connection(host, std::move(portName), std::move(peerName)),
      factory_(std::move(factory)),
      sessionno_(sessionno) {}

void Server::start(int fd, std::shared_ptr<Protocol> protocol) {
  setFd(fd);  // owned from here on, even if what follows throws
  host().track(shared_from_this());
  startConnection(fd, std::move(protocol));
}

// Twisted's "Protocol,sessionno,peer".
std::string Server::logPrefix() const {
  if (!protocol()) return "UNIXConnection";
  return protocol()->logPrefix() + "," + std::to_string(sessionno_) + "," +
         describe(std::get<UNIXAddress>(getPeer()).name);
}

void Server::afterConnectionLost(const Failure&) {
  factory_.reset();
}

}  // namespace twisted::unixsock
