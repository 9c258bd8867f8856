// The PROXY protocol (HAProxy's, versions 1 and 2), as Twisted's
// twisted.protocols.haproxy.
//
// A load balancer in front of a server hides the client: the server's peer
// is the balancer. With the PROXY protocol the balancer starts each
// connection with a header naming the client's address and the address it
// connected to. HAProxyWrappingFactory reads that header and then lets the
// real protocol run with getPeer()/getHost() answering the proxied
// addresses:
//
//   // haproxy.cfg: server app 127.0.0.1:8080 send-proxy   (or send-proxy-v2)
//   auto ep = twisted::serverFromString(reactor, "haproxy:tcp:8080");
//   ep->listen(twisted::Factory::forProtocol<Echo>());
//   // or: twisted::haproxy::proxyEndpoint(std::make_shared<TCP4ServerEndpoint>(reactor, 8080))
//
// Every connection must start with a header: one that does not, or whose
// header is malformed, is closed, and the reason is logged (namespace
// "twisted.protocols.haproxy"). The parsers can also be used on their own.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "twisted/internet/address.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/protocols/protocol_wrapper.hpp"

namespace twisted::haproxy {

// ---- errors -------------------------------------------------------------------------

/// The bytes are not a valid PROXY protocol header (v1 or v2); the detail
/// says what is wrong with them.
TWISTED_DEFINE_ERROR(InvalidProxyHeader, error::Error, "Invalid PROXY protocol header");
/// The header names a network protocol it may not: in v1 not TCP4, TCP6 or
/// UNKNOWN; in v2 an address family or transport protocol the spec does not
/// define.
TWISTED_DEFINE_ERROR(InvalidNetworkProtocol, InvalidProxyHeader,
                     "Invalid PROXY protocol header: unknown network protocol");
/// The header's protocol needs addresses (TCP4, TCP6, v2 INET/INET6/UNIX)
/// but they are missing or cut short.
TWISTED_DEFINE_ERROR(MissingAddressData, InvalidProxyHeader,
                     "Invalid PROXY protocol header: missing or incomplete address data");

// ---- parsed headers -------------------------------------------------------------------

/// What one PROXY header says (Twisted's ProxyInfo).
struct ProxyInfo {
  /// The header's raw bytes: for v2 all of it (signature, fixed part,
  /// addresses and any TLVs); for v1 the line without its CRLF, as Twisted.
  std::string header;
  /// The client's address; unset for a v1 UNKNOWN header and a v2 LOCAL or
  /// UNSPEC one, when the connection's own peer stands.
  std::optional<Address> source;
  /// The address the client connected to; unset exactly when `source` is.
  std::optional<Address> destination;
  /// True if all three are equal.
  friend bool operator==(const ProxyInfo&, const ProxyInfo&) = default;
};

/// What a parser gives once a header is complete.
struct ParsedHeader {
  /// The header.
  ProxyInfo info;
  /// The bytes fed after the header: the start of the proxied stream.
  std::string remaining;
};

/// A streaming PROXY header parser (Twisted's IProxyParser): bytes go in as
/// they arrive, split anywhere, until a whole header has come.
class IProxyParser {
 public:
  virtual ~IProxyParser() = default;
  /// Adds `data` to what was fed before. Returns nothing while the header
  /// is incomplete, then the header and the bytes that followed it; the
  /// parser is then empty and could read a new header.
  /// @throws InvalidProxyHeader (or a subclass) as soon as the bytes fed
  ///   cannot be the start of a valid header; what was buffered is dropped.
  virtual std::optional<ParsedHeader> feed(std::string_view data) = 0;
  /// How many bytes wait for the rest of a header.
  virtual std::size_t bufferedSize() const = 0;
};

/// Version 1: one text line, "PROXY TCP4 SRC DST SPORT DPORT" ending in
/// CRLF, at most 107 bytes with the CRLF (Twisted's V1Parser).
class V1Parser final : public IProxyParser {
 public:
  /// What a v1 header starts with.
  static constexpr std::string_view kSignature = "PROXY ";
  /// The longest v1 header the spec allows, CRLF included.
  static constexpr std::size_t kMaxHeaderSize = 107;

  std::optional<ParsedHeader> feed(std::string_view data) override;
  std::size_t bufferedSize() const override { return buffer_.size(); }

  /// Parses one whole header line, without its CRLF. TCP4 and TCP6 give
  /// addresses (the hosts as written, ports 0 to 65535); UNKNOWN gives none
  /// and the rest of its line is ignored, as the spec says.
  /// @throws InvalidProxyHeader if it does not start "PROXY ", has a
  ///   malformed address or port, or has more fields than the four;
  ///   InvalidNetworkProtocol for a protocol other than TCP4, TCP6 and
  ///   UNKNOWN; MissingAddressData if one of the four fields is missing.
  static ProxyInfo parse(std::string_view line);

 private:
  std::string buffer_;
};

/// Version 2: binary, a 16-byte fixed part (signature, version and command,
/// family and protocol, length) and then `length` bytes of addresses and
/// TLVs (Twisted's V2Parser). The TLVs are kept in ProxyInfo::header, not
/// interpreted.
class V2Parser final : public IProxyParser {
 public:
  /// The 12 bytes a v2 header starts with.
  static constexpr std::string_view kSignature{"\r\n\r\n\0\r\nQUIT\n", 12};
  /// The fixed part: signature, version/command, family/protocol, length.
  static constexpr std::size_t kFixedSize = 16;
  /// The longest v2 header: the fixed part and the largest length field.
  static constexpr std::size_t kMaxHeaderSize = kFixedSize + 0xFFFF;

  /// Also refuses, as soon as the bytes are there, a wrong signature,
  /// version, command, family or protocol, without waiting for the rest.
  std::optional<ParsedHeader> feed(std::string_view data) override;
  std::size_t bufferedSize() const override { return buffer_.size(); }

  /// Parses one whole header: exactly its fixed part and the length it
  /// gives. PROXY over INET or INET6 gives IPv4/IPv6 addresses (TCP for
  /// STREAM, UDP for DGRAM; IPv6 hosts in RFC 5952 text, "::1"); over UNIX,
  /// UNIXAddress names without their NUL padding. LOCAL, or an UNSPEC
  /// family or protocol, gives none.
  /// @throws InvalidProxyHeader for a wrong signature, version (not 2),
  ///   command (not LOCAL or PROXY) or size; InvalidNetworkProtocol for a
  ///   family or protocol the spec does not define; MissingAddressData when
  ///   the length is too short for the family's addresses.
  static ProxyInfo parse(std::string_view header);

 private:
  std::string buffer_;
};

// ---- the protocol wrapper -------------------------------------------------------------

/// Reads the PROXY header (v1 or v2, told apart by its first byte) that
/// starts the connection, then connects the wrapped protocol, passes it
/// the bytes after the header, and answers getPeer()/getHost() with the
/// header's addresses (Twisted's HAProxyProtocolWrapper).
///
/// Unlike Twisted's, the wrapped protocol's makeConnection (so its
/// connectionMade) waits for the header, so that it already sees the
/// proxied addresses; a connection lost before that is never shown to it
/// (no connectionLost either). A missing or malformed header, or a peer
/// that closes its side before the header is complete, closes the
/// connection and logs why, at warn level.
class HAProxyProtocolWrapper : public policies::ProtocolWrapper {
 public:
  /// Wraps `wrapped` for `factory`, which must outlive this wrapper.
  HAProxyProtocolWrapper(policies::WrappingFactory& factory, std::shared_ptr<Protocol> wrapped);

  /// Records the transport and registers with the factory; the wrapped
  /// protocol is connected once the header has come.
  void makeConnection(std::shared_ptr<ITransport> t) override;
  /// Parses until the header is complete, then passes data on.
  void dataReceived(std::string_view data) override;
  /// Passes the loss on if the wrapped protocol was connected.
  void connectionLost(const Failure& reason) override;
  /// The header's source address; the real peer before the header, or
  /// when it gave none (v1 UNKNOWN, v2 LOCAL or UNSPEC).
  Address getPeer() const override;
  /// The header's destination address; the real host before the header,
  /// or when it gave none.
  Address getHost() const override;

  /// The parsed header; unset until it is complete.
  const std::optional<ProxyInfo>& proxyInfo() const { return info_; }

 protected:
  /// Logs `why` and closes the connection; later data is dropped.
  void refuse(const std::string& why);

 private:
  std::unique_ptr<IProxyParser> parser_;
  std::optional<ProxyInfo> info_;
  bool refused_ = false;
};

/// Wraps each protocol of `wrappedFactory` in an HAProxyProtocolWrapper
/// (Twisted's HAProxyWrappingFactory). A half-closeable wrapped protocol
/// is told of half-closes once its header has come.
class HAProxyWrappingFactory : public policies::WrappingFactory {
 public:
  using policies::WrappingFactory::WrappingFactory;
  std::shared_ptr<policies::ProtocolWrapper> wrapProtocol(std::shared_ptr<Protocol> wrapped,
                                                          const Address& addr) override;
  /// The wrapped factory's prefix followed by " (PROXY)", as Twisted.
  std::string logPrefix() const override;
};

// ---- endpoints ------------------------------------------------------------------------

/// A server endpoint that listens on another one with each factory wrapped
/// in an HAProxyWrappingFactory (Twisted's _WrapperServerEndpoint, as
/// proxyEndpoint and the "haproxy:" strings make it).
class HAProxyServerEndpoint final : public IStreamServerEndpoint {
 public:
  /// Listens on `wrapped`.
  /// @throws std::invalid_argument if `wrapped` is null.
  explicit HAProxyServerEndpoint(std::shared_ptr<IStreamServerEndpoint> wrapped);
  /// Listens on the wrapped endpoint with `factory` behind the PROXY header.
  Deferred<std::shared_ptr<IListeningPort>> listen(std::shared_ptr<Factory> factory) override;
  /// "haproxy:" followed by the wrapped endpoint's description.
  std::string describe() const override;
  /// The endpoint that really listens.
  const std::shared_ptr<IStreamServerEndpoint>& wrappedEndpoint() const { return wrapped_; }

 private:
  std::shared_ptr<IStreamServerEndpoint> wrapped_;
};

/// `wrapped` with PROXY protocol support: its connections' getPeer() and
/// getHost() name the proxied connection, not the balancer's (Twisted's
/// proxyEndpoint).
/// @throws std::invalid_argument if `wrapped` is null.
std::shared_ptr<HAProxyServerEndpoint> proxyEndpoint(
    std::shared_ptr<IStreamServerEndpoint> wrapped);

}  // namespace twisted::haproxy
