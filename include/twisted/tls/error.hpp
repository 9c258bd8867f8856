// The errors of the TLS layer. Each is a twisted::error::Error, so one
// catch or Failure::check serves the whole library; the reasons OpenSSL
// gave are in what().
#pragma once

#include <string>

#include "twisted/internet/error.hpp"

namespace twisted::tls {

/// Root of the TLS errors: OpenSSL refused something (what() lists
/// OpenSSL's reasons, e.g. "TLS error: error:0A000126:SSL routines::unexpected eof").
TWISTED_DEFINE_ERROR(TLSError, error::Error, "TLS error");
/// A certificate or key could not be loaded or used: a missing file, a PEM
/// that is not one, a key that does not match its certificate.
TWISTED_DEFINE_ERROR(CertificateError, TLSError, "Certificate error");
/// The TLS handshake failed: garbage instead of a TLS record, no protocol
/// version or cipher in common, an alert from the peer. A handshake that
/// failed because a certificate did not verify is a VerificationError.
TWISTED_DEFINE_ERROR(HandshakeError, TLSError, "The TLS handshake failed");
/// The peer did not complete the handshake within the handshake timeout.
TWISTED_DEFINE_ERROR(HandshakeTimeout, HandshakeError, "The TLS handshake timed out");
/// The TLS stream ended without the peer's close_notify: the connection
/// below closed, so what arrived may have been cut short by an attacker.
/// A kind of ConnectionLost, never ConnectionDone.
TWISTED_DEFINE_ERROR(TLSTruncation, error::ConnectionLost,
                     "The connection was lost without a TLS close_notify (the data may be "
                     "truncated)");

/// Why a certificate was refused.
enum class VerificationFailure {
  Expired,        ///< Its notAfter is in the past.
  NotYetValid,    ///< Its notBefore is in the future.
  WrongHost,      ///< It is not for the host name (or IP address) asked for.
  UnknownIssuer,  ///< No trusted certificate issued it.
  SelfSigned,     ///< It (or its chain) is self-signed and not trusted.
  NoCertificate,  ///< The peer sent none but one is required.
  Other,          ///< Another reason (see what() and x509Error()).
};

/// The peer's certificate did not verify: kind() says why, what() too
/// ("Certificate verification failed: certificate has expired").
class VerificationError : public HandshakeError {
 public:
  /// Records `kind`, OpenSSL's X509_V_ERR_* code and its text.
  VerificationError(VerificationFailure kind, long x509Error, const std::string& detail)
      : HandshakeError(compose("Certificate verification failed", detail)),
        kind_(kind),
        x509Error_(x509Error) {}
  /// Why the certificate was refused.
  VerificationFailure kind() const { return kind_; }
  /// OpenSSL's verification result (X509_V_ERR_*; 0 when it is not one).
  long x509Error() const { return x509Error_; }

 private:
  VerificationFailure kind_;
  long x509Error_;
};

}  // namespace twisted::tls
