// Length-prefixed messages, as Twisted's twisted.protocols.basic
// Int8StringReceiver, Int16StringReceiver and Int32StringReceiver: each
// message is its length (1, 2 or 4 bytes, big-endian) followed by that many
// bytes.
//
//   class Reverse : public twisted::basic::Int32StringReceiver {
//     void stringReceived(std::string_view s) override {
//       sendString(std::string(s.rbegin(), s.rend()));
//     }
//   };
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "twisted/internet/error.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/internet/transport.hpp"
#include "twisted/protocols/detail/receive_buffer.hpp"

namespace twisted::basic {

/// sendString was given more bytes than the length prefix can count.
TWISTED_DEFINE_ERROR(StringTooLongError, error::Error, "String too long for its length prefix");

/// Twisted's IntNStringReceiver: the common part of the length-prefixed
/// receivers; a push producer that can be paused.
class IntNStringReceiver : public Protocol, public IPushProducer {
 public:
  /// The longest message accepted. A longer prefix goes to
  /// lengthLimitExceeded before any of its bytes are buffered.
  std::size_t MAX_LENGTH = 99999;

  /// Splits `data` into messages.
  void dataReceived(std::string_view data) override;
  /// One whole message, without its prefix; valid during the call only.
  virtual void stringReceived(std::string_view string) = 0;
  /// A prefix announced `length` > MAX_LENGTH. The default closes the
  /// connection. Nothing after that prefix is delivered: the stream cannot
  /// be resynchronised, and the offending prefix stays at the head of the
  /// buffer (so this is called again if more data arrives).
  virtual void lengthLimitExceeded(std::uint64_t length);
  /// Writes `string` with its length prefix.
  /// @throws StringTooLongError if the prefix cannot count its length.
  void sendString(std::string_view string);

  /// Bytes in the prefix: 1, 2 or 4.
  std::size_t prefixLength() const { return prefixLength_; }
  /// Bytes received and not yet delivered (a partial prefix or message).
  std::size_t bufferedSize() const { return buffer_.buffered(); }

  /// Stops delivering (and pauses the transport) until resumeProducing.
  void pauseProducing() override;
  /// Resumes the transport and delivers what was buffered meanwhile.
  void resumeProducing() override;
  void stopProducing() override;
  /// True after pauseProducing or stopProducing, until resumeProducing.
  bool paused() const { return paused_; }

 protected:
  /// For subclasses: messages carry a `prefixLength`-byte length.
  /// @throws std::invalid_argument unless `prefixLength` is 1, 2 or 4.
  explicit IntNStringReceiver(std::size_t prefixLength);

 private:
  std::uint64_t readPrefix(std::string_view bytes) const;

  detail::ReceiveBuffer buffer_;
  std::size_t prefixLength_;
  bool paused_ = false;
};

/// Messages prefixed by a 4-byte big-endian length.
class Int32StringReceiver : public IntNStringReceiver {
 public:
  Int32StringReceiver() : IntNStringReceiver(4) {}
};

/// Messages prefixed by a 2-byte big-endian length.
class Int16StringReceiver : public IntNStringReceiver {
 public:
  Int16StringReceiver() : IntNStringReceiver(2) {}
};

/// Messages prefixed by a 1-byte length.
class Int8StringReceiver : public IntNStringReceiver {
 public:
  Int8StringReceiver() : IntNStringReceiver(1) {}
};

}  // namespace twisted::basic
