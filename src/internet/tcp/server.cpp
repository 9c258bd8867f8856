// tcp::Server: an accepted connection.
#include "twisted/internet/reactor.hpp"
#include "twisted/internet/tcp.hpp"

namespace twisted::tcp {

Server::Server(Reactor& reactor, std::shared_ptr<Factory> factory, Address peer, long sessionno)
    : Connection(reactor), factory_(std::move(factory)), sessionno_(sessionno) {
  peer_ = std::move(peer);
}

void Server::start(int fd, std::shared_ptr<Protocol> protocol) {
  fd_ = fd;  // owned from here on, even if what follows throws
  reactor_.track(shared_from_this());
  std::string host;
  if (const auto* v4 = std::get_if<IPv4Address>(&*peer_)) host = v4->host;
  if (const auto* v6 = std::get_if<IPv6Address>(&*peer_)) host = v6->host;
  // Twisted's "Protocol,sessionno,peerhost".
  prefix_ = protocol->logPrefix() + "," + std::to_string(sessionno_) + "," + host;
  startConnection(fd, std::move(protocol));
}

void Server::afterConnectionLost(const Failure&) {
  factory_.reset();
}

}  // namespace twisted::tcp
