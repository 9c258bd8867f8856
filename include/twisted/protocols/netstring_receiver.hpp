// Netstrings (https://cr.yp.to/proto/netstrings.txt), as Twisted's
// twisted.protocols.basic.NetstringReceiver: "5:hello," carries "hello".
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "twisted/internet/error.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/protocols/detail/receive_buffer.hpp"

namespace twisted::basic {

/// What was wrong with a received netstring. The message says which rule
/// was broken: no length at the start (or one with a leading zero), a length
/// above MAX_LENGTH, or no comma after the payload.
TWISTED_DEFINE_ERROR(NetstringParseError, error::Error, "Malformed netstring");

/// Twisted's NetstringReceiver.
///
/// A malformed netstring breaks the stream for good: brokenPeer becomes
/// true, parseError() holds the NetstringParseError, netstringParseError is
/// called once (by default it logs a warning and closes the connection with
/// loseConnection, so what was already written is still sent), and any
/// later data is discarded. A length above MAX_LENGTH is refused as soon as
/// its digits arrive, before any payload is buffered.
class NetstringReceiver : public Protocol {
 public:
  /// The longest payload accepted.
  std::size_t MAX_LENGTH = 99999;
  /// True once a malformed netstring was received.
  bool brokenPeer = false;

  void dataReceived(std::string_view data) override;
  /// One payload; valid during the call only.
  virtual void stringReceived(std::string_view string) = 0;
  /// Writes `string` as a netstring.
  void sendString(std::string_view string);

  /// Called once, on the first malformed netstring. The default logs a
  /// warning and calls transport->loseConnection().
  virtual void netstringParseError(const NetstringParseError& reason);
  /// The error, once one happened.
  const std::optional<NetstringParseError>& parseError() const { return parseError_; }
  /// Bytes received and not yet delivered (a partial netstring).
  std::size_t bufferedSize() const { return buffer_.buffered(); }

 private:
  // Returns false (having reported the error) if the stream is broken.
  bool parseLength();
  void fail(const std::string& why);

  detail::ReceiveBuffer buffer_;
  bool parsingPayload_ = false;
  std::size_t expected_ = 0;  // payload length, once parsed
  std::optional<NetstringParseError> parseError_;
};

}  // namespace twisted::basic
