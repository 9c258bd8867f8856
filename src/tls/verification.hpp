// Why a TLS call failed, as a typed Failure: the certificate that did not
// verify (and why), the handshake that failed, or the TLS error after it.
#pragma once

#include <openssl/types.h>

#include "twisted/python/failure.hpp"
#include "twisted/tls/error.hpp"
#include "twisted/tls/interfaces.hpp"

namespace twisted::tls::detail {

/// The kind of a certificate verification result (X509_V_ERR_*).
VerificationFailure verificationKind(long x509Error);

/// The reason for SSL_get_error's `sslError` on `ssl`, read from the
/// verification result and the error queue (which it empties).
Failure failureFor(SSL* ssl, int sslError, TLSRole role, bool handshakeDone);

}  // namespace twisted::tls::detail
