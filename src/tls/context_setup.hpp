// What every context of the TLS layer is set up with, client or server:
// the protocol versions, renegotiation off, the trust store, ALPN's wire
// form. One place, so that the two roles cannot drift apart.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "twisted/tls/options.hpp"

namespace twisted::tls::detail {

/// A new context for `method` with the defaults of docs/tls.md (TLS 1.2
/// minimum, no renegotiation, no compression), owned by the result.
/// @throws TLSError
std::shared_ptr<SSL_CTX> newContext(const SSL_METHOD* method, TLSVersion minimum,
                                    std::optional<TLSVersion> maximum);

/// Makes `trust` the verification store of `ctx` (platform paths or the
/// given certificates). Does nothing for insecurelySkipVerification().
/// @throws TLSError
void useTrustRoot(SSL_CTX* ctx, const TrustRoot& trust);

/// Makes `cert` (with its chain and key) the certificate `ctx` presents.
/// @throws CertificateError
void useCertificate(SSL_CTX* ctx, const PrivateCertificate& cert);

/// ALPN's wire form: each name prefixed by its length.
/// @throws std::invalid_argument for an empty name or one over 255 bytes.
std::string alpnWire(const std::vector<std::string>& names);

}  // namespace twisted::tls::detail
