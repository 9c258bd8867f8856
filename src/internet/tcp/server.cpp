// tcp::Server: an accepted connection.
#include "tcp.hpp"

namespace twisted::tcp {

Server::Server(twisted::detail::TransportHost& host, std::shared_ptr<Factory> factory, Address peer,
               long sessionno)
    : Connection(host), factory_(std::move(factory)), sessionno_(sessionno) {
  peer_ = std::move(peer);
}

void Server::start(int fd, std::shared_ptr<Protocol> protocol) {
  setFd(fd);  // owned from here on, even if what follows throws
  host().track(shared_from_this());
  std::string peerHost;
  if (const auto* v4 = std::get_if<IPv4Address>(&*peer_)) peerHost = v4->host;
  if (const auto* v6 = std::get_if<IPv6Address>(&*peer_)) peerHost = v6->host;
  // Twisted's "Protocol,sessionno,peerhost".
  prefix_ = protocol->logPrefix() + "," + std::to_string(sessionno_) + "," + peerHost;
  startConnection(fd, std::move(protocol));
}

void Server::afterConnectionLost(const Failure&) {
  factory_.reset();
}

}  // namespace twisted::tcp
