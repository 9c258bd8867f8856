#include "verification.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "openssl_error.hpp"

namespace twisted::tls::detail {

VerificationFailure verificationKind(long x509Error) {
  switch (x509Error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CRL_HAS_EXPIRED:
      return VerificationFailure::Expired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return VerificationFailure::NotYetValid;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return VerificationFailure::WrongHost;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
      return VerificationFailure::UnknownIssuer;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return VerificationFailure::SelfSigned;
    default:
      return VerificationFailure::Other;
  }
}

Failure failureFor(SSL* ssl, int sslError, TLSRole role, bool handshakeDone) {
  unsigned long first = ERR_peek_error();
  long verify = SSL_get_verify_result(ssl);
  if (sslError == SSL_ERROR_SSL && verify != X509_V_OK) {
    clearErrors();
    return Failure::of(
        VerificationError(verificationKind(verify), verify, X509_verify_cert_error_string(verify)));
  }
  if (role == TLSRole::Server && ERR_GET_LIB(first) == ERR_LIB_SSL &&
      ERR_GET_REASON(first) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
    clearErrors();
    return Failure::of(
        VerificationError(VerificationFailure::NoCertificate, 0, "the peer sent no certificate"));
  }
  std::string why = drainErrors(sslError == SSL_ERROR_SYSCALL ? "the stream ended"
                                                              : "no reason given by OpenSSL");
  if (!handshakeDone) return Failure::of(HandshakeError(why));
  return Failure::of(TLSError(why));
}

}  // namespace twisted::tls::detail
