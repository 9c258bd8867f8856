// Contexts: how a TLS connection is set up, as Twisted's
// optionsForClientTLS, CertificateOptions and trust roots
// (twisted.internet.ssl / _sslverify), with the defaults Twisted learned
// late made the only defaults: a client verifies the server's chain and
// host name unless told, loudly, not to; TLS 1.2 is the minimum;
// renegotiation is off.
//
//   // A client that verifies example.com against the system's CAs:
//   auto options = twisted::tls::optionsForClientTLS("example.com");
//   twisted::tls::connectSSL(reactor, "example.com", 443, factory, options);
//
//   // A server:
//   auto server = std::make_shared<twisted::tls::CertificateOptions>(
//       twisted::tls::PrivateCertificate::loadPEMFiles("key.pem", "cert.pem"));
//   twisted::tls::listenSSL(reactor, 8443, factory, server);
//
// Ownership: options are shared (shared_ptr) by whoever connects or
// listens with them and by every connection made from them; each
// connection keeps its own context alive, so reload() changes what new
// connections get and never disturbs a live one.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <openssl/types.h>

#include "twisted/tls/certificate.hpp"
#include "twisted/tls/interfaces.hpp"

namespace twisted::tls {

/// A TLS protocol version.
enum class TLSVersion {
  TLSv1_2,  ///< TLS 1.2, the lowest offered.
  TLSv1_3,  ///< TLS 1.3.
};

/// Twisted's IOpenSSLTrustRoot: the certificates a peer's chain must lead to.
class TrustRoot {
 public:
  /// The system's CA store (OpenSSL's default paths, e.g. /etc/ssl/certs),
  /// Twisted's platformTrust().
  static TrustRoot platformTrust();
  /// Exactly these CA certificates, and no others.
  /// @throws std::invalid_argument if `authorities` is empty.
  static TrustRoot fromCertificates(std::vector<Certificate> authorities);
  /// Every certificate of a PEM file (a CA bundle).
  /// @throws CertificateError naming the file.
  static TrustRoot fromPEMFile(const std::string& path);
  /// Every certificate in the files of `directory` (the endpoint strings'
  /// caCertsDir; files that hold no certificate are skipped, as Twisted does).
  /// @throws CertificateError if none of its files holds one.
  static TrustRoot fromDirectory(const std::string& directory);
  /// No verification at all: any certificate, from anyone, for any host, is
  /// accepted. Only for tests and for peers authenticated some other way;
  /// the name is long so that it is seen in review.
  static TrustRoot insecurelySkipVerification();

  /// False only for insecurelySkipVerification().
  bool verifies() const { return verify_; }
  /// The certificates given (empty for the platform's store).
  const std::vector<Certificate>& authorities() const { return authorities_; }
  /// True for platformTrust().
  bool platform() const { return platform_; }

 private:
  TrustRoot() = default;
  std::vector<Certificate> authorities_;
  bool platform_ = false;
  bool verify_ = true;
};

/// The options of optionsForClientTLS. Copy, change, pass.
struct ClientTLSSettings {
  /// The certificates the server's chain must lead to.
  TrustRoot trustRoot = TrustRoot::platformTrust();
  /// A certificate to present when the server asks for one (mutual TLS).
  std::optional<PrivateCertificate> clientCertificate;
  /// ALPN protocol names to offer, most preferred first ("h2", "http/1.1").
  std::vector<std::string> acceptableProtocols;
  /// The lowest version offered (never below TLS 1.2).
  TLSVersion minimumVersion = TLSVersion::TLSv1_2;
  /// The highest version offered; none is OpenSSL's highest (TLS 1.3).
  std::optional<TLSVersion> maximumVersion;
  /// Session resumption: each connection made with these options offers
  /// the newest session (ticket) the server gave an earlier one, so that a
  /// server with tickets on skips the public-key work. Off by default, as
  /// in Twisted. Sessions are kept by the options (one host, one trust
  /// root), never shared with other options.
  bool resumeSessions = false;
};

/// Twisted's ClientTLSOptions: the connection creator of a client that
/// verifies one host. Made by optionsForClientTLS.
class ClientTLSOptions : public IOpenSSLConnectionCreator {
 public:
  /// Options for connecting to `hostname` (a DNS name or a numeric IP
  /// address) with `settings`.
  /// A name with non-ASCII letters is sent and verified in its IDNA form.
  /// @throws std::invalid_argument for an empty host name, one IDNA
  ///   refuses, or a maximumVersion below minimumVersion; CertificateError or TLSError if
  ///   OpenSSL refuses the settings.
  ClientTLSOptions(std::string hostname, ClientTLSSettings settings);
  /// Releases its reference to the context.
  ~ClientTLSOptions() override;

  /// A new SSL object that sends SNI (for a DNS name) and checks the
  /// server's certificate against the trust root and the host name.
  /// @throws std::logic_error for TLSRole::Server: client options cannot serve.
  SSLHandle connectionForTLS(TLSRole role) override;

  /// The host name or address verified, a name with non-ASCII letters in
  /// its IDNA form ("bücher.example" is "xn--bcher-kva.example").
  const std::string& hostname() const { return hostname_; }
  /// True if `hostname()` is a numeric IP address (checked against the
  /// certificate's IP addresses, and no SNI is sent).
  bool isAddress() const { return isAddress_; }
  /// The settings these options were made with.
  const ClientTLSSettings& settings() const { return settings_; }
  /// OpenSSL's context (owned by these options).
  SSL_CTX* context() const { return ctx_.get(); }

 private:
  std::string hostname_;
  bool isAddress_;
  ClientTLSSettings settings_;
  std::shared_ptr<SSL_CTX> ctx_;
};

/// Twisted's optionsForClientTLS: options that verify the server's chain
/// against `trustRoot` and its name against `hostname` (DNS names and IP
/// addresses), send SNI for DNS names, offer `acceptableProtocols` by ALPN
/// and present `clientCertificate` if the server asks for one.
std::shared_ptr<ClientTLSOptions> optionsForClientTLS(
    std::string hostname, TrustRoot trustRoot = TrustRoot::platformTrust(),
    std::optional<PrivateCertificate> clientCertificate = {},
    std::vector<std::string> acceptableProtocols = {});
/// optionsForClientTLS with every setting spelled out.
/// @throws as the ClientTLSOptions constructor.
std::shared_ptr<ClientTLSOptions> optionsForClientTLS(std::string hostname,
                                                      ClientTLSSettings settings);

/// The options of a server's CertificateOptions: the certificate, and the
/// defaults for the rest, changed field by field.
struct ServerTLSSettings {
  /// Serves `certificate`; every other field has its default.
  explicit ServerTLSSettings(PrivateCertificate certificate)
      : certificate(std::move(certificate)) {}
  /// The certificate (and chain) presented, unless SNI picks another.
  PrivateCertificate certificate;
  /// Other certificates by the server name a client asks for (SNI), matched
  /// without regard to case; a name not listed gets `certificate`.
  std::map<std::string, PrivateCertificate> serverNameCertificates;
  /// Mutual TLS: when set, a client must present a certificate that leads
  /// to this trust root, or the handshake fails.
  std::optional<TrustRoot> clientCertificateTrust;
  /// ALPN protocol names accepted, most preferred first; the first of
  /// these the client offers is chosen. A client that offers none of them
  /// gets no protocol (and no alert).
  std::vector<std::string> acceptableProtocols;
  /// Session resumption by tickets (RFC 5077 / TLS 1.3 PSK). Off by
  /// default: a ticket costs the server a little per full handshake (see
  /// docs/tls.md) and lets a resumed session skip the certificate check.
  bool sessionTickets = false;
  /// The lowest version accepted (never below TLS 1.2).
  TLSVersion minimumVersion = TLSVersion::TLSv1_2;
  /// The highest version accepted; none is OpenSSL's highest.
  std::optional<TLSVersion> maximumVersion;
};

/// Twisted's CertificateOptions, as a server uses it: the certificate,
/// client verification, ALPN, SNI and session tickets of the connections a
/// port accepts.
class CertificateOptions : public IOpenSSLConnectionCreator {
 public:
  /// Serves `certificate` with the default settings.
  explicit CertificateOptions(PrivateCertificate certificate);
  /// Serves with `settings`.
  /// @throws std::invalid_argument for a maximumVersion below
  ///   minimumVersion; TLSError or CertificateError if OpenSSL refuses them.
  explicit CertificateOptions(ServerTLSSettings settings);
  /// Releases its reference to the current contexts.
  ~CertificateOptions() override;

  /// A new server-side SSL object from the current contexts.
  /// @throws std::logic_error for TLSRole::Client.
  SSLHandle connectionForTLS(TLSRole role) override;

  /// Replaces the certificates and settings for connections made from now
  /// on (a renewed certificate without a restart); live connections keep
  /// theirs. Thread-safe against connectionForTLS.
  /// @throws as the constructor; on a throw nothing changes.
  void reload(ServerTLSSettings settings);

  /// The settings in use.
  ServerTLSSettings settings() const;

  /// The contexts of one generation of settings (src/tls).
  struct Contexts;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Contexts> current_;
};

}  // namespace twisted::tls
