// Datagram transports and protocols, as Twisted's DatagramProtocol,
// ConnectedDatagramProtocol and the datagram halves of
// twisted.internet.interfaces. UDP (reactor_udp.hpp) and UNIX datagram
// sockets (reactor_unix_datagram.hpp) deliver to these protocols.
//
//   class Echo : public twisted::DatagramProtocol {
//     void datagramReceived(std::string_view data, const twisted::Address& from) override {
//       transport->write(data, from);
//     }
//   };
//   auto port = reactor.listenUDP(9999, std::make_shared<Echo>());
//
// Ownership (docs/architecture.md, "Datagram ports"): a listening port owns
// its protocol until the port's connectionLost has stopped it; the
// protocol's `transport` is the port.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "twisted/internet/address.hpp"
#include "twisted/internet/transport.hpp"
#include "twisted/python/failure.hpp"

namespace twisted {

class IReactorTime;

/// A datagram port that sends to any address: what a DatagramProtocol's
/// `transport` is (a UDP port, a UNIX datagram port). Each write is one
/// datagram, never split or merged.
///
/// Errors the call can know of are thrown to the caller:
/// error::InvalidAddressError (an address of the wrong kind),
/// error::MessageLengthError (larger than the socket can ever send),
/// error::DatagramBufferFullError (the send queue is at its bound). A
/// datagram the kernel cannot take now (its buffer is full) waits in the
/// port's bounded queue and goes out, in order, when the socket is
/// writable: nothing the kernel refuses is dropped silently. Writes made inside
/// datagramReceived are sent together when the batch of datagrams just
/// read has been delivered (one sendmmsg); an error the kernel gives for
/// one of those is the protocol's writeFailed().
class IDatagramTransport : public IListeningPort {
 public:
  /// Sends `datagram` to `to` (an address as datagramReceived gave it, or
  /// built by the caller: the host must be numeric).
  virtual void write(std::string_view datagram, const Address& to) = 0;
  /// Sends the parts, joined, as one datagram to `to`.
  virtual void writeSequence(std::span<const std::string_view> parts, const Address& to) = 0;
  /// The largest datagram delivered whole: a longer one is reported to
  /// datagramTruncated(), never delivered cut.
  virtual std::size_t maxPacketSize() const = 0;
  /// How many datagrams wait in the send queue (0 unless the kernel's
  /// buffer filled up).
  virtual std::size_t queuedDatagrams() const = 0;
  /// The reactor the port runs on.
  virtual IReactorTime* clock() const = 0;
};

/// A datagram socket connected to one peer (Twisted's
/// IUNIXDatagramConnectedTransport): what a ConnectedDatagramProtocol's
/// `transport` is. Errors are as IDatagramTransport's.
class IConnectedDatagramTransport : public IListeningPort {
 public:
  /// Sends `datagram` to the peer.
  virtual void write(std::string_view datagram) = 0;
  /// Sends the parts, joined, as one datagram to the peer.
  virtual void writeSequence(std::span<const std::string_view> parts) = 0;
  /// The peer's address.
  virtual Address getPeer() const = 0;
  /// As IDatagramTransport::maxPacketSize.
  virtual std::size_t maxPacketSize() const = 0;
  /// The reactor the port runs on.
  virtual IReactorTime* clock() const = 0;
};

/// Twisted's AbstractDatagramProtocol: what both datagram protocols share.
/// One protocol may serve several ports: startProtocol runs when the
/// first starts, stopProtocol when the last stops.
class AbstractDatagramProtocol {
 public:
  virtual ~AbstractDatagramProtocol() = default;

  /// How many ports are using this protocol now.
  int numPorts = 0;

  /// Called by each port that starts using the protocol; the first call
  /// runs startProtocol.
  void doStart();
  /// Called by each port that stops; the last call runs stopProtocol.
  void doStop();
  /// The protocol is listening on its (first) port: `transport` is set.
  virtual void startProtocol() {}
  /// The protocol's last port has stopped.
  virtual void stopProtocol() {}
  /// A datagram of `size` bytes arrived from `from`, more than the port's
  /// maxPacketSize: it was dropped, not delivered cut (`from` is valid only
  /// during the call, as datagramReceived's). The default logs a warning;
  /// override to count or answer.
  virtual void datagramTruncated(std::size_t size, const Address& from);
  /// The kernel refused a datagram written inside datagramReceived, once
  /// the batch was sent (the error a direct write would have thrown: an
  /// error::DatagramSendError, whose socketError() says why, such as
  /// ENETUNREACH). The default logs it.
  virtual void writeFailed(const Failure& reason, const Address& to);
  /// A name for log lines about this protocol.
  virtual std::string logPrefix() const { return "DatagramProtocol"; }
};

/// Twisted's DatagramProtocol: receives datagrams from anyone and sends to
/// anyone through `transport`.
class DatagramProtocol : public AbstractDatagramProtocol {
 public:
  /// The port, set by makeConnection and kept after it stops, so that late
  /// calls are harmless (a write to a closed port is ignored).
  std::shared_ptr<IDatagramTransport> transport;

  /// Called by the port once it is bound: records it and runs doStart.
  virtual void makeConnection(std::shared_ptr<IDatagramTransport> t);
  /// A datagram arrived from `from` (for UDP an IPv4Address or IPv6Address
  /// of type UDP, scope id kept; for a UNIX datagram socket the sender's
  /// UNIXAddress, empty if it is unnamed). `datagram` and `from` are valid
  /// only during the call (`from` is the port's cached entry: copy it to
  /// keep it). An exception is logged and the port goes on.
  virtual void datagramReceived(std::string_view datagram, const Address& from) {
    (void)datagram;
    (void)from;
  }
  /// The port is connected (IUDPTransport::connect) and the peer answered
  /// a datagram with "port unreachable" (ECONNREFUSED).
  virtual void connectionRefused() {}
};

/// Twisted's ConnectedDatagramProtocol: the protocol of a datagram socket
/// connected to one peer (connectUNIXDatagram).
class ConnectedDatagramProtocol : public AbstractDatagramProtocol {
 public:
  /// The connected port, set by makeConnection and kept after it stops.
  std::shared_ptr<IConnectedDatagramTransport> transport;

  /// Called by the port once connected: records it and runs doStart.
  virtual void makeConnection(std::shared_ptr<IConnectedDatagramTransport> t);
  /// A datagram arrived from the peer; valid only during the call.
  virtual void datagramReceived(std::string_view datagram) { (void)datagram; }
  /// The socket could not be bound or connected (`reason` says why); the
  /// port is closed and will deliver nothing.
  virtual void connectionFailed(const Failure& reason) { (void)reason; }
  /// The peer is gone: a datagram sent to it was refused (ECONNREFUSED).
  virtual void connectionRefused() {}
};

}  // namespace twisted
