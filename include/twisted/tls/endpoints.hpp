// TLS endpoints, as Twisted's SSL4ServerEndpoint, SSL4ClientEndpoint and
// wrapClientTLS, and the "ssl:" and "tls:" endpoint strings.
//
//   twisted::tls::registerEndpointTypes();  // once: the strings know ssl: and tls:
//   auto server = twisted::serverFromString(
//       reactor, "ssl:8443:privateKey=key.pem:certKey=cert.pem");
//   auto client = twisted::clientFromString(reactor, "tls:example.com:443");
//   twisted::connectProtocol(*client, std::make_shared<Http>())
//       .addCallback([](std::shared_ptr<Http> http) { /* the handshake is done */ });
//
// Unlike Twisted's, a client TLS endpoint fires once the handshake has
// completed and the peer's certificate is verified, so a refused
// certificate reaches the errback (VerificationError) rather than the
// protocol's connectionLost after it was handed out.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "twisted/internet/endpoints.hpp"
#include "twisted/tls/interfaces.hpp"

namespace twisted::tls {

/// An endpoint that speaks TLS as a client over each connection another
/// client endpoint makes (Twisted's wrapClientTLS). connect() fires with
/// the protocol the factory built, after its connectionMade *and* the TLS
/// handshake (with verification) have completed; it fails with the
/// wrapped endpoint's error, or with the HandshakeError, VerificationError
/// or HandshakeTimeout. Cancelling it before it fired cancels the wrapped
/// attempt or aborts the connection in its handshake, and fails it with
/// ConnectingCancelledError.
class TLSWrapperClientEndpoint final : public IStreamClientEndpoint {
 public:
  /// TLS connections from `creator` over connections of `wrapped`.
  TLSWrapperClientEndpoint(std::shared_ptr<IOpenSSLConnectionCreator> creator,
                           std::shared_ptr<IStreamClientEndpoint> wrapped);
  Deferred<std::shared_ptr<Protocol>> connect(std::shared_ptr<Factory> factory) override;
  /// "tls-wrapped:" and the wrapped endpoint's description (TLS options
  /// are not part of it).
  std::string describe() const override;

  /// How long a handshake may take, in seconds (30 by default; 0: no limit).
  double handshakeTimeout = 30;

 private:
  std::shared_ptr<IOpenSSLConnectionCreator> creator_;
  std::shared_ptr<IStreamClientEndpoint> wrapped_;
};

/// Twisted's wrapClientTLS: `wrapped`'s connections, speaking TLS with
/// connections from `creator` (optionsForClientTLS).
std::shared_ptr<TLSWrapperClientEndpoint> wrapClientTLS(
    std::shared_ptr<IOpenSSLConnectionCreator> creator,
    std::shared_ptr<IStreamClientEndpoint> wrapped);

/// A server endpoint that serves TLS, made by `creator` (CertificateOptions),
/// on each connection another server endpoint accepts (Twisted's
/// _WrapperServerEndpoint): TLS over TCP, over a UNIX socket, behind the
/// PROXY protocol, over an adopted socket.
class TLSWrapperServerEndpoint final : public IStreamServerEndpoint {
 public:
  /// Serves TLS from `creator` on what `wrapped` accepts.
  TLSWrapperServerEndpoint(std::shared_ptr<IOpenSSLConnectionCreator> creator,
                           std::shared_ptr<IStreamServerEndpoint> wrapped);
  /// Listens with the wrapped endpoint; each connection's protocol is
  /// built by `factory` once a connection is accepted.
  Deferred<std::shared_ptr<IListeningPort>> listen(std::shared_ptr<Factory> factory) override;
  /// "ssl:" over the wrapped endpoint's description, without the TLS
  /// options (files are named only in the description given to serverFromString).
  std::string describe() const override;

  /// How long a handshake may take, in seconds (30 by default; 0: no limit).
  double handshakeTimeout = 30;

 private:
  std::shared_ptr<IOpenSSLConnectionCreator> creator_;
  std::shared_ptr<IStreamServerEndpoint> wrapped_;
};

/// `wrapped`'s connections, served over TLS from `creator`.
std::shared_ptr<TLSWrapperServerEndpoint> wrapServerTLS(
    std::shared_ptr<IOpenSSLConnectionCreator> creator,
    std::shared_ptr<IStreamServerEndpoint> wrapped);

/// Twisted's SSL4ServerEndpoint: TLS on a TCP port of an IPv4 interface.
std::shared_ptr<TLSWrapperServerEndpoint> SSL4ServerEndpoint(
    IReactorTCP& reactor, int port, std::shared_ptr<IOpenSSLConnectionCreator> creator,
    int backlog = 50, std::string interface = "");

/// Twisted's SSL4ClientEndpoint: TLS to `host`:`port` over IPv4 TCP.
std::shared_ptr<TLSWrapperClientEndpoint> SSL4ClientEndpoint(
    IReactorTCP& reactor, std::string host, int port,
    std::shared_ptr<IOpenSSLConnectionCreator> creator, double timeout = 30,
    std::optional<BindAddress> bindAddress = {});

/// The endpoint ClientCreator::connectSSL connects through (found by
/// argument-dependent lookup on the creator's type, so that the core's
/// ClientCreator does not depend on this library).
inline std::shared_ptr<IStreamClientEndpoint> clientCreatorSSLEndpoint(
    IReactorTCP& reactor, std::string host, int port,
    std::shared_ptr<IOpenSSLConnectionCreator> creator, double timeout,
    std::optional<BindAddress> bindAddress) {
  return SSL4ClientEndpoint(reactor, std::move(host), port, std::move(creator), timeout,
                            std::move(bindAddress));
}

/// Teaches serverFromString and clientFromString the TLS types, with
/// Twisted's grammar (idempotent, thread-safe):
///
///   server  ssl:PORT[:interface=ADDR][:backlog=N]:privateKey=KEY.pem
///               [:certKey=CERT.pem][:extraCertChain=CHAIN.pem][:caCertsDir=DIR]
///     privateKey defaults to server.pem and certKey to privateKey (one file
///     with both); extraCertChain is sent after the certificate; caCertsDir
///     asks every client for a certificate issued by one of the
///     authorities in DIR's files (mutual TLS). Positional: port, interface, backlog.
///     sslmethod and dhParameters are refused with the reason (the version
///     floor is TLS 1.2, and key exchange is ECDHE).
///   client  tls:HOST:PORT[:timeout=S][:bindAddress=ADDR][:certificate=CERT.pem]
///               [:privateKey=KEY.pem][:trustRoots=DIR][:endpoint=DESCRIPTION]
///     a HostnameEndpoint (or the endpoint DESCRIPTION, HOST then only names
///     the certificate expected) wrapped in TLS that verifies HOST against
///     the platform's trust store, or the certificates in trustRoots' files.
///   client  ssl:HOST:PORT or ssl:host=HOST:port=PORT[:timeout=S][:bindAddress=ADDR]
///               [:certKey=CERT.pem][:privateKey=KEY.pem][:caCertsDir=DIR][:hostname=NAME]
///     IPv4 TCP wrapped in TLS. Unlike Twisted's, it verifies the server
///     (against caCertsDir's certificates, else the platform's trust store) and its
///     name (hostname, else HOST).
/// A file that cannot be read or is not what it should be throws
/// error::InvalidEndpointDescription naming it and the reason.
void registerEndpointTypes();

}  // namespace twisted::tls
