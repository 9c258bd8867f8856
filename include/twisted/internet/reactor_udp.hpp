// UDP and multicast: Twisted's IReactorUDP (listenUDP), IReactorMulticast
// (listenMulticast), IUDPTransport and IMulticastTransport, in files of
// their own (src/internet/udp/). See docs/udp.md.
//
//   auto port = reactor.listenUDP(0, protocol);           // all IPv4 addresses
//   port->write("ping", "127.0.0.1", 9999);
//   auto group = reactor.listenMulticast(9999, protocol, "", 8192, true);
//   group->joinGroup("225.0.0.250");                       // -> Deferred<void>
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "twisted/internet/datagram.hpp"
#include "twisted/internet/deferred.hpp"

namespace twisted {

/// Twisted's IUDPTransport: a UDP port. Writes go to any address, or, once
/// connect()ed, to the one peer.
class IUDPTransport : public IDatagramTransport {
 public:
  using IDatagramTransport::write;
  using IDatagramTransport::writeSequence;
  /// Sends `datagram` to `host` (a numeric IPv4 or IPv6 address, "%scope"
  /// allowed; "<broadcast>" on an IPv4 port) and `port`.
  /// @throws error::InvalidAddressError for a host name, or an address of
  ///   the other family; the errors of IDatagramTransport::write.
  virtual void write(std::string_view datagram, std::string_view host, std::uint16_t port) = 0;
  /// Connected mode: sends `datagram` to the connected peer.
  /// @throws std::logic_error if the port is not connected.
  virtual void write(std::string_view datagram) = 0;
  /// Connects the port to `host` and `port`: it then receives only the
  /// peer's datagrams, and "port unreachable" answers reach
  /// DatagramProtocol::connectionRefused. Twisted's rules: connecting
  /// twice is an error, and `host` must be a numeric address.
  /// @throws std::logic_error when already connected,
  ///   error::InvalidAddressError for a host name.
  virtual void connect(std::string_view host, std::uint16_t port) = 0;
  /// Lets the port send to broadcast addresses (SO_BROADCAST); off by default.
  virtual void setBroadcastAllowed(bool enabled) = 0;
  /// Whether the port may send to broadcast addresses.
  virtual bool getBroadcastAllowed() const = 0;
};

/// Twisted's IMulticastTransport: a UDP port that joins groups. IPv4 and,
/// beyond Twisted 22.4, IPv6 (an IPv6 port takes IPv6 groups; its
/// interfaces are named, "lo", or numbered, "1").
class IMulticastTransport : public IUDPTransport {
 public:
  /// The interface outgoing multicast leaves by: an IPv4 address
  /// ("0.0.0.0": the kernel's choice), or for IPv6 an interface name ("" for
  /// the kernel's choice).
  virtual std::string getOutgoingInterface() const = 0;
  /// Sets the interface outgoing multicast leaves by: an IPv4 address or
  /// host name (looked up), or for IPv6 an interface name or index. Fails
  /// with error::MulticastJoinError if the kernel refuses,
  /// error::DNSLookupError if the name is unknown.
  virtual Deferred<void> setOutgoingInterface(std::string interface) = 0;
  /// Whether this host's own sockets receive what the port sends to a group.
  virtual bool getLoopbackMode() const = 0;
  /// Sets whether this host's own sockets receive what the port sends.
  virtual void setLoopbackMode(bool enabled) = 0;
  /// The multicast time-to-live (IPv6: hop limit) of outgoing datagrams.
  virtual int getTTL() const = 0;
  /// Sets the multicast time-to-live, 0..255.
  /// @throws std::invalid_argument outside that range.
  virtual void setTTL(int ttl) = 0;
  /// Joins group `address` (a multicast address, or a name to look up) on
  /// `interface` (IPv4: the interface's address, "" for the kernel's
  /// choice; IPv6: its name or index). Fails with
  /// error::MulticastJoinError naming the group and the reason.
  virtual Deferred<void> joinGroup(std::string address, std::string interface = "") = 0;
  /// Leaves group `address` on `interface`; fails as joinGroup.
  virtual Deferred<void> leaveGroup(std::string address, std::string interface = "") = 0;
};

/// Twisted's IReactorUDP.
class IReactorUDP {
 public:
  virtual ~IReactorUDP() = default;
  /// Binds a UDP port on `port` (0: any free port) and `interface` (a
  /// numeric address: "" is every IPv4 address, "::" every IPv6 one;
  /// "fe80::1%eth0" keeps its scope) and starts delivering to `protocol`.
  /// Datagrams longer than `maxPacketSize` are reported to
  /// datagramTruncated, never delivered cut.
  /// @throws error::CannotListenError (address in use, ...),
  ///   error::InvalidAddressError for a non-numeric interface.
  virtual std::shared_ptr<IUDPTransport> listenUDP(int port,
                                                   std::shared_ptr<DatagramProtocol> protocol,
                                                   std::string interface = "",
                                                   std::size_t maxPacketSize = 8192) = 0;
};

/// Twisted's IReactorMulticast.
class IReactorMulticast {
 public:
  virtual ~IReactorMulticast() = default;
  /// As listenUDP, for a port that joins groups. With `listenMultiple`
  /// several sockets (of this and other processes) may bind the same port
  /// (SO_REUSEADDR and SO_REUSEPORT), each receiving the group's datagrams.
  virtual std::shared_ptr<IMulticastTransport> listenMulticast(
      int port, std::shared_ptr<DatagramProtocol> protocol, std::string interface = "",
      std::size_t maxPacketSize = 8192, bool listenMultiple = false) = 0;
};

/// The reactor's IReactorUDP and IReactorMulticast (a Reactor is the only
/// class that derives from it).
class ReactorUDP : public IReactorUDP, public IReactorMulticast {
 public:
  std::shared_ptr<IUDPTransport> listenUDP(int port, std::shared_ptr<DatagramProtocol> protocol,
                                           std::string interface = "",
                                           std::size_t maxPacketSize = 8192) override;
  std::shared_ptr<IMulticastTransport> listenMulticast(int port,
                                                       std::shared_ptr<DatagramProtocol> protocol,
                                                       std::string interface = "",
                                                       std::size_t maxPacketSize = 8192,
                                                       bool listenMultiple = false) override;

 private:
  // Only a Reactor is one (src/internet/udp/reactor_udp.cpp casts to it).
  friend class Reactor;
  ReactorUDP() = default;
  ~ReactorUDP() override = default;
};

}  // namespace twisted
