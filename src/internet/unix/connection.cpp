// unixsock::Connection and Server: what a UNIX connection adds to the
// shared stream transport (addresses, credentials), and the transport's
// instantiation for UNIX sockets (Twisted's unix.Server over
// abstract.FileDescriptor).
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <system_error>

#include "../stream/stream_transport_impl.hpp"
#include "twisted/logger/logger.hpp"
#include "unix.hpp"

template class twisted::detail::StreamTransport<twisted::IUNIXTransport,
                                                twisted::unixsock::UnixSocketIO>;

namespace twisted::unixsock {

const logger::Logger& log() {
  static const logger::Logger instance("twisted.internet.unix");
  return instance;
}

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
  if (toSend_) {
    for (int fd : *toSend_) ::close(fd);  // never sent: ours to close
    toSend_->clear();
  }
}

Connection::~Connection() {
  if (toSend_) {
    for (int fd : *toSend_) ::close(fd);
  }
}

void Connection::sendFileDescriptor(int fd) {
  if (!writable() || disconnecting()) return;  // nothing more will be sent
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    throw std::system_error(errno, std::generic_category(),
                            "sendFileDescriptor(" + std::to_string(fd) + ")");
  }
  if (!toSend_) toSend_ = std::make_unique<std::deque<int>>();
  toSend_->push_back(copy);
  descriptorQueued(toSend_->size() > kDescriptorQueueLimit);
}

void Connection::ancillaryReceived() {
  UnixSocketIO::Received got = UnixSocketIO::take();
  auto name = [this] { return protocol() ? protocol()->logPrefix() : std::string("-"); };
  if (got.truncated) {
    log().error(
        "{protocol} (on {host}) lost descriptors its peer sent: the kernel truncated them "
        "(MSG_CTRUNC; is the process near its descriptor limit?)",
        {{"protocol", name()}, {"host", describe(host_)}, {"peer", describe(peer_)}});
  }
  for (auto [level, type] : got.unsupported) {
    log().info(
        "{protocol} (on {host}) received unsupported ancillary data (level={level}, "
        "type={type}) from {peer}",
        {{"protocol", name()},
         {"host", describe(host_)},
         {"peer", describe(peer_)},
         {"level", level},
         {"type", type}});
  }
  if (got.descriptors.empty()) return;
  auto* receiver = dynamic_cast<IFileDescriptorReceiver*>(protocol().get());
  if (!receiver) {
    log().info(
        "{protocol} (on {host}) does not provide IFileDescriptorReceiver; closing file "
        "descriptor received (from {peer})",
        {{"protocol", name()}, {"host", describe(host_)}, {"peer", describe(peer_)}});
    for (int fd : got.descriptors) ::close(fd);
    return;
  }
  std::shared_ptr<Protocol> keep = protocol();
  for (std::size_t i = 0; i < got.descriptors.size(); ++i) {
    try {
      receiver->fileDescriptorReceived(got.descriptors[i]);
    } catch (...) {
      // The rest never reached the protocol: close them, then report.
      for (std::size_t j = i + 1; j < got.descriptors.size(); ++j) ::close(got.descriptors[j]);
      throw;
    }
  }
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
