// The interfaces of the TLS layer, as Twisted's IHandshakeListener,
// ISSLTransport, INegotiated and the IOpenSSL*ConnectionCreator pair.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <openssl/types.h>

#include "twisted/internet/transport.hpp"
#include "twisted/tls/certificate.hpp"

namespace twisted::tls {

/// Which end of the handshake a connection plays.
enum class TLSRole {
  Client,  ///< Sends the ClientHello, verifies the server.
  Server,  ///< Answers it.
};

/// Frees an SSL object (SSL_free).
struct SSLFree {
  /// Frees `ssl`.
  void operator()(SSL* ssl) const noexcept;
};
/// An owned OpenSSL connection object.
using SSLHandle = std::unique_ptr<SSL, SSLFree>;

/// Twisted's IOpenSSLClientConnectionCreator and
/// IOpenSSLServerConnectionCreator in one: makes the OpenSSL connection
/// object of each new TLS connection, set up (context, verification, SNI,
/// ALPN) for `role`. Shared by every connection made from it (shared_ptr);
/// a connection keeps its SSL object's context alive by itself.
class IOpenSSLConnectionCreator {
 public:
  virtual ~IOpenSSLConnectionCreator() = default;
  /// A new SSL object for one connection.
  /// @throws std::logic_error if this creator cannot play `role` (client
  ///   options asked for a server); TLSError if OpenSSL refuses.
  virtual SSLHandle connectionForTLS(TLSRole role) = 0;
};

/// Twisted's IHandshakeListener: a protocol over TLS that also implements
/// this is told when the handshake has completed (the peer's certificate,
/// the protocol negotiated and the version are known from then on).
class IHandshakeListener {
 public:
  virtual ~IHandshakeListener() = default;
  /// The handshake completed (verification included).
  virtual void handshakeCompleted() = 0;
};

/// Twisted's ISSLTransport and INegotiated: what the transport of a
/// protocol over TLS tells about the TLS connection. That transport is
/// also an ITCPTransport whatever is below (loseWriteConnection sends
/// close_notify; the TCP options pass to TCP when TCP is below):
///
///   if (auto* tls = dynamic_cast<twisted::tls::ISSLTransport*>(transport.get())) ...
class ISSLTransport {
 public:
  virtual ~ISSLTransport() = default;
  /// True once the handshake has completed.
  virtual bool handshakeDone() const = 0;
  /// The peer's certificate; none before the handshake or if it sent none.
  virtual std::optional<Certificate> getPeerCertificate() const = 0;
  /// The application protocol chosen by ALPN; none if none was.
  virtual std::optional<std::string> negotiatedProtocol() const = 0;
  /// The protocol version in use ("TLSv1.3"); "" before the handshake.
  virtual std::string tlsVersion() const = 0;
  /// The server name the client asked for (SNI); "" if none.
  virtual std::string serverName() const = 0;
  /// True if this connection resumed an earlier session.
  virtual bool sessionReused() const = 0;
};

}  // namespace twisted::tls
