// A TLS client written straight on OpenSSL with a blocking socket: a peer
// that shares no code with twisted::tls, for tests of programs (twist) and
// servers over real sockets. Every read and write is bounded by a socket
// timeout, so a peer that stops answering fails the test instead of hanging.
#pragma once

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

namespace twisted::test {

class BlockingTLSClient {
 public:
  struct Options {
    std::string caFile;             // PEM trust root; empty: no verification
    std::string verifyHost;         // checked against the certificate if set
    std::string serverName;         // SNI if set
    std::vector<std::string> alpn;  // offered by ALPN if any
    std::string certFile, keyFile;  // a client certificate if set
    int maxVersion = 0;             // e.g. TLS1_2_VERSION; 0: the highest
    int timeoutSeconds = 60;
  };

  /// Connects to 127.0.0.1:`port` and completes the handshake; ok() says
  /// whether it did, error() why not.
  BlockingTLSClient(int port, const Options& o) {
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    if (!o.caFile.empty()) {
      SSL_CTX_load_verify_locations(ctx_.get(), o.caFile.c_str(), nullptr);
      SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    }
    if (o.maxVersion) SSL_CTX_set_max_proto_version(ctx_.get(), o.maxVersion);
    if (!o.certFile.empty()) {
      SSL_CTX_use_certificate_chain_file(ctx_.get(), o.certFile.c_str());
      SSL_CTX_use_PrivateKey_file(ctx_.get(), o.keyFile.c_str(), SSL_FILETYPE_PEM);
    }
    if (!o.alpn.empty()) {
      std::string wire;
      for (const auto& p : o.alpn) wire += static_cast<char>(p.size()) + p;
      SSL_CTX_set_alpn_protos(ctx_.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                              static_cast<unsigned>(wire.size()));
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{o.timeoutSeconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      error_ = "connect failed";
      return;
    }
    ssl_.reset(SSL_new(ctx_.get()));
    if (!o.verifyHost.empty()) SSL_set1_host(ssl_.get(), o.verifyHost.c_str());
    if (!o.serverName.empty()) SSL_set_tlsext_host_name(ssl_.get(), o.serverName.c_str());
    SSL_set_fd(ssl_.get(), fd_);
    ERR_clear_error();
    if (SSL_connect(ssl_.get()) == 1) {
      ok_ = true;
    } else {
      char buf[256];
      ERR_error_string_n(ERR_peek_last_error(), buf, sizeof buf);
      error_ = buf;
      long verify = SSL_get_verify_result(ssl_.get());
      if (verify != X509_V_OK)
        error_ += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    }
  }
  ~BlockingTLSClient() {
    ssl_.reset();
    if (fd_ >= 0) ::close(fd_);
  }
  BlockingTLSClient(const BlockingTLSClient&) = delete;
  BlockingTLSClient& operator=(const BlockingTLSClient&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  SSL* ssl() const { return ssl_.get(); }

  /// Writes all of `data`; false if the connection failed.
  bool write(std::string_view data) {
    while (!data.empty()) {
      int n = SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size()));
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  /// Reads exactly `n` bytes; fewer if the peer closed or the timeout hit.
  std::string read(std::size_t n) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      int r = SSL_read(ssl_.get(), out.data() + got, static_cast<int>(n - got));
      if (r <= 0) break;
      got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
  }
  /// SSL_read's result at the end of the stream: SSL_ERROR_ZERO_RETURN for
  /// the peer's close_notify, SSL_ERROR_SSL or _SYSCALL for a truncation.
  int readToEnd(std::string* rest = nullptr) {
    char buf[16384];
    for (;;) {
      int r = SSL_read(ssl_.get(), buf, sizeof buf);
      if (r > 0) {
        if (rest) rest->append(buf, static_cast<std::size_t>(r));
        continue;
      }
      return SSL_get_error(ssl_.get(), r);
    }
  }
  /// Sends close_notify (the TLS half of a close).
  void shutdown() { SSL_shutdown(ssl_.get()); }
  /// The ALPN protocol the server chose, empty if none.
  std::string alpn() const {
    const unsigned char* p = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(ssl_.get(), &p, &len);
    return std::string(reinterpret_cast<const char*>(p), len);
  }

 private:
  struct FreeCtx {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
  };
  struct FreeSsl {
    void operator()(SSL* s) const { SSL_free(s); }
  };
  std::unique_ptr<SSL_CTX, FreeCtx> ctx_;
  std::unique_ptr<SSL, FreeSsl> ssl_;
  int fd_ = -1;
  bool ok_ = false;
  std::string error_;
};

}  // namespace twisted::test
