// udp::Port: what is UDP's own in a datagram port (Twisted's udp.Port and
// MulticastPort): the address family, connected mode, broadcast, groups.
// Reading, sending and closing are the shared DatagramPort's. Internal.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "../datagram/address_cache.hpp"
#include "../datagram/protocol_port.hpp"
#include "../socket/adopted_socket.hpp"
#include "twisted/internet/reactor_udp.hpp"

namespace twisted::udp {

/// Every UDP port can join groups; listenUDP hands it out as an
/// IUDPTransport, listenMulticast as an IMulticastTransport.
class Port final : public detail::ProtocolPort<DatagramProtocol, IMulticastTransport> {
 public:
  /// @throws error::InvalidAddressError for a non-numeric interface.
  Port(Reactor& reactor, int port, std::shared_ptr<DatagramProtocol> protocol,
       std::string interface, std::size_t maxPacketSize, bool listenMultiple);
  /// Use Reactor::adoptDatagramPort: serves `socket`, bound already.
  Port(Reactor& reactor, twisted::detail::AdoptedSocket socket,
       std::shared_ptr<DatagramProtocol> protocol, std::size_t maxPacketSize);

  // IListeningPort
  Address getHost() const override;

  // IDatagramTransport / IUDPTransport
  void write(std::string_view datagram, const Address& to) override;
  void writeSequence(std::span<const std::string_view> parts, const Address& to) override;
  void write(std::string_view datagram, std::string_view host, std::uint16_t port) override;
  void write(std::string_view datagram) override;
  void connect(std::string_view host, std::uint16_t port) override;
  void setBroadcastAllowed(bool enabled) override;
  bool getBroadcastAllowed() const override;
  std::size_t queuedDatagrams() const override { return queued(); }

  // IMulticastTransport (multicast.cpp)
  std::string getOutgoingInterface() const override;
  Deferred<void> setOutgoingInterface(std::string interface) override;
  bool getLoopbackMode() const override;
  void setLoopbackMode(bool enabled) override;
  int getTTL() const override;
  void setTTL(int ttl) override;
  Deferred<void> joinGroup(std::string address, std::string interface = "") override;
  Deferred<void> leaveGroup(std::string address, std::string interface = "") override;

 private:
  int openSocket() override;
  /// Keeps what `fd` is bound to.
  void setBound(int fd);
  void announce() override;
  std::string closedName() const override { return std::to_string(realPort_); }
  const char* kind() const override { return "UDP"; }
  void deliver(std::string_view datagram, const sockaddr* from, socklen_t length) override;
  void truncated(std::size_t size, const sockaddr* from, socklen_t length) override;
  void refused() override;
  bool isConnected() const override { return connectedTo_.has_value(); }
  void sendFailed(const Failure& reason, const SocketAddress* to) override;

  /// Checks `to` against this port's family; its sockaddr.
  const SocketAddress& destination(const Address& to);
  /// write(datagram, to) on a connected port.
  [[gnu::noinline]] void writeConnected(std::string_view datagram, const Address& to);
  /// The socket option calls of multicast.cpp: an option of this family.
  int socketOption(int ipv4, int ipv6) const;
  /// Joins (or leaves) `group`, already numeric, on `interface`.
  void membership(bool join, const std::string& group, const std::string& interface);
  /// joinGroup and leaveGroup.
  Deferred<void> changeMembership(bool join, std::string address, std::string interface);
  /// `host` as a numeric address of this port's family: at once for a
  /// literal, "" or an IPv6 port's interface name, else looked up.
  Deferred<std::string> numericHost(std::string host);
  /// Runs `f(port)` on the numeric form of `host`, if the port still exists.
  Deferred<void> onNumeric(std::string host, UniqueFunction<void(Port&, const std::string&)> f);

  int requestedPort_;
  std::string interface_;
  int family_;
  bool listenMultiple_;
  int realPort_ = 0;
  std::optional<Address> host_;
  std::optional<Address> connectedTo_;
  detail::AddressCache cache_;
  // An adopted port's socket, until startListening takes it.
  std::optional<twisted::detail::AdoptedSocket> adopted_;
  bool isAdopted_ = false;
};

}  // namespace twisted::udp
