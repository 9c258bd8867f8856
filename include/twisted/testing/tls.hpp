// Certificates for tests, made on the spot (part of twisted::tls): a test
// certificate authority that issues server and client certificates for the
// names and validity a test needs, expired and wrong-host ones included.
// Nothing a test uses has to be committed, and no key outlives the test.
//
//   twisted::testing::CertificateAuthority ca;
//   auto server = std::make_shared<twisted::tls::CertificateOptions>(
//       ca.issue("localhost", {"localhost", "127.0.0.1"}));
//   auto client = twisted::tls::optionsForClientTLS("localhost", ca.trustRoot());
#pragma once

#include <string>
#include <vector>

#include "twisted/tls/certificate.hpp"
#include "twisted/tls/options.hpp"

namespace twisted::testing {

/// What CertificateAuthority::issue puts in a certificate.
struct CertificateRequest {
  /// The subject's common name.
  std::string commonName = "localhost";
  /// DNS names and IP addresses ("localhost", "127.0.0.1", "::1"); empty:
  /// the common name alone (as a DNS name, or an IP address if it is one).
  std::vector<std::string> subjectAltNames;
  /// Seconds from now to its notBefore (negative: in the past).
  long notBefore = -3600;
  /// Seconds from now to its notAfter (negative: already expired).
  long notAfter = 24 * 3600;
  /// RSA 2048 instead of ECDSA P-256.
  bool rsa = false;
};

/// A certificate authority of its own, made when constructed.
class CertificateAuthority {
 public:
  /// A new self-signed CA named `commonName`, with a P-256 key (RSA 2048 if `rsa`).
  explicit CertificateAuthority(std::string commonName = "twisted-cpp test CA", bool rsa = false);

  /// A certificate signed by this CA (usable by servers and clients alike).
  tls::PrivateCertificate issue(const CertificateRequest& request = {}) const;
  /// A certificate for `commonName` and `subjectAltNames` (the common
  /// name if empty), valid from an hour ago for a day.
  tls::PrivateCertificate issue(std::string commonName,
                                std::vector<std::string> subjectAltNames = {}) const;
  /// A certificate for `commonName` valid from `notBefore` to `notAfter`
  /// seconds from now (negative: in the past).
  tls::PrivateCertificate issueValid(std::string commonName, long notBefore, long notAfter) const;
  /// The CA's certificate.
  const tls::Certificate& certificate() const { return self_.certificate(); }
  /// The CA's certificate and key: a self-signed certificate, as a server
  /// that presents it is refused by a client that does not trust it.
  const tls::PrivateCertificate& privateCertificate() const { return self_; }
  /// A trust root of this CA alone.
  tls::TrustRoot trustRoot() const;

  /// An intermediate CA named `commonName`, signed by this one. What it
  /// issues carries its chain (the intermediate's certificate, then this
  /// one's chain), so a server that presents it verifies at a client that
  /// trusts only the root.
  CertificateAuthority intermediate(std::string commonName) const;
  /// The certificates between what this CA issues and the root: none for
  /// a root, the intermediates (nearest first) otherwise.
  const std::vector<tls::Certificate>& chain() const { return chain_; }

 private:
  CertificateAuthority(tls::PrivateCertificate self, std::vector<tls::Certificate> chain)
      : self_(std::move(self)), chain_(std::move(chain)) {}

  tls::PrivateCertificate self_;
  std::vector<tls::Certificate> chain_;
};

/// A leaf certificate signed by its own key (no CA), as a server that
/// makes its own presents: refused unless trusted as itself
/// (TrustRoot::fromCertificates({it.certificate()})).
tls::PrivateCertificate selfSignedCertificate(const CertificateRequest& request = {});

}  // namespace twisted::testing
