// The one BIO under a TLS connection's SSL object. OpenSSL reads
// ciphertext straight from the bytes of the dataReceived call in progress
// (copied only if the engine leaves some unread, as while delivery is
// paused; OpenSSL keeps a partial record in its own buffer) and writes
// into a buffer that the protocol hands below after each OpenSSL call.
// OpenSSL's own memory BIO copies every input byte once more and clears
// its whole buffer on each reset; this does neither.
#pragma once

#include <openssl/bio.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "twisted/internet/transport.hpp"

namespace twisted::tls::detail {

class WireBIO {
 public:
  /// A new BIO over this object.
  /// @throws TLSError if OpenSSL cannot make one.
  WireBIO();
  /// Frees the BIO unless an SSL object took it (adopted()).
  ~WireBIO();
  WireBIO(const WireBIO&) = delete;
  WireBIO& operator=(const WireBIO&) = delete;

  /// The BIO, for SSL_set_bio as both read and write BIO; call adopted()
  /// once the SSL object holds it: it then frees it, after which no
  /// OpenSSL call may touch it (the SSL object dies before this).
  BIO* bio() const { return bio_; }
  void adopted() { owned_ = false; }

  /// Ciphertext from below, readable by OpenSSL until keepRest(). `data`
  /// must stay valid until then (the dataReceived call it came with).
  void feed(std::string_view data);
  /// Copies what OpenSSL has not read of the fed bytes, so that they stay
  /// readable after the dataReceived call that brought them returns.
  void keepRest();
  /// Bytes fed and not yet read.
  std::size_t unread() const { return in_.size(); }

  /// What OpenSSL has written since the last take: ciphertext to send.
  std::string& output() { return out_; }
  /// While set (and nothing is buffered), what OpenSSL writes goes to
  /// `below` at once instead of the buffer: inside a dataReceived of a
  /// reactor's stream transport, which queues writes and sends them once
  /// after it, so that the ciphertext is copied once, into that queue.
  /// `below`'s write must not call back into the protocol (no producer).
  void writeThrough(ITransport* below) { through_ = below; }

 private:
  static int read(BIO* bio, char* buffer, int size);
  static int write(BIO* bio, const char* data, int size);
  static long control(BIO* bio, int command, long number, void* pointer);
  bool inKept() const;

  BIO* bio_ = nullptr;
  bool owned_ = true;
  std::string_view in_;  // unread input: the caller's bytes, or a suffix of kept_
  std::string kept_;     // unread input that outlived its dataReceived
  std::string out_;
  ITransport* through_ = nullptr;
};

}  // namespace twisted::tls::detail
