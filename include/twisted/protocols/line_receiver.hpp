// Line-oriented protocols, as Twisted's twisted.protocols.basic.LineReceiver
// and LineOnlyReceiver.
//
//   class Upper : public twisted::basic::LineReceiver {
//     void lineReceived(std::string_view line) override {
//       std::string s(line);
//       for (char& c : s) c = static_cast<char>(std::toupper(c));
//       sendLine(s);
//     }
//   };
//
// Lines arrive whole, however the bytes were split on the wire; a line that
// grows past MAX_LENGTH goes to lineLengthExceeded, which by default closes
// the connection, so a peer cannot make the buffer grow without bound.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "twisted/internet/protocol.hpp"
#include "twisted/internet/transport.hpp"
#include "twisted/protocols/detail/receive_buffer.hpp"

namespace twisted::basic {

/// Twisted's LineReceiver: receives lines, or raw data, depending on its
/// mode, and can be paused as a push producer.
///
/// Inside lineReceived a protocol may: send, close or abort its connection
/// (no further line of the same batch is delivered), switch mode with
/// setRawMode/setLineMode (it applies from the very next byte), pause
/// itself, call clearLineBuffer, or feed it more data. The views it is given
/// are valid only during the call. A lineReceived that puts a layer under
/// the protocol (tls::startTLS: `transport` is then the layer) ends the
/// batch: the bytes after that line are handed to the layer (as TLS
/// records), never delivered as lines of plaintext.
class LineReceiver : public Protocol, public IPushProducer {
 public:
  /// What ends a line (CRLF by default); not part of the line delivered.
  std::string delimiter = "\r\n";
  /// The longest line accepted, without its delimiter.
  std::size_t MAX_LENGTH = 16384;

  /// Splits `data` into lines (line mode) or passes it on (raw mode).
  void dataReceived(std::string_view data) override;

  /// One line, without its delimiter.
  virtual void lineReceived(std::string_view line) = 0;
  /// Raw-mode data. The default throws std::logic_error (which closes the
  /// connection): a protocol that calls setRawMode must override it.
  virtual void rawDataReceived(std::string_view data);
  /// A line longer than MAX_LENGTH arrived, or MAX_LENGTH bytes without a
  /// delimiter. `line` is what was buffered from the start of that line
  /// (possibly more than one line, possibly part of one); the buffer is
  /// empty when this is called. The default closes the connection.
  virtual void lineLengthExceeded(std::string_view line);

  /// Writes `line` followed by the delimiter.
  void sendLine(std::string_view line);
  /// From the next byte on, data goes to rawDataReceived.
  void setRawMode();
  /// From the next byte on, data is split into lines; `extra` (data a
  /// rawDataReceived did not use) is parsed first, as if just received.
  void setLineMode(std::string_view extra = {});
  /// Whether the receiver is in line mode.
  bool lineMode() const { return lineMode_; }
  /// Empties the buffer and returns what it held.
  std::string clearLineBuffer();
  /// Bytes received and not yet delivered.
  std::size_t bufferedSize() const { return buffer_.buffered(); }

  /// Stops delivering lines (and pauses the transport) until resumeProducing.
  void pauseProducing() override;
  /// Resumes the transport and delivers what was buffered meanwhile.
  void resumeProducing() override;
  /// Stops delivering and stops the transport (which closes it).
  void stopProducing() override;
  /// True after pauseProducing or stopProducing, until resumeProducing.
  bool paused() const { return paused_; }

 private:
  void deliver();
  void handOverRest();
  bool stopped() const { return paused_ || (transport && transport->disconnecting()); }

  detail::ReceiveBuffer buffer_;
  // Unconsumed bytes already searched for a delimiter (see findDelimiter).
  std::size_t scanned_ = 0;
  bool lineMode_ = true;
  bool paused_ = false;
};

/// Twisted's LineOnlyReceiver: lines only (no raw mode, no pausing), a
/// little faster. A line longer than MAX_LENGTH goes to lineLengthExceeded,
/// with the same limit rule as LineReceiver (Twisted's version counts a
/// partial delimiter against the limit, so its verdict depends on how the
/// bytes were split; this one does not).
class LineOnlyReceiver : public Protocol {
 public:
  /// What ends a line (CRLF by default); not part of the line delivered.
  std::string delimiter = "\r\n";
  /// The longest line accepted, without its delimiter.
  std::size_t MAX_LENGTH = 16384;

  void dataReceived(std::string_view data) override;
  /// One line, without its delimiter.
  virtual void lineReceived(std::string_view line) = 0;
  /// A line longer than MAX_LENGTH; the default closes the connection.
  virtual void lineLengthExceeded(std::string_view line);
  /// Writes `line` followed by the delimiter.
  void sendLine(std::string_view line);
  /// Bytes received and not yet delivered.
  std::size_t bufferedSize() const { return buffer_.buffered(); }

 private:
  detail::ReceiveBuffer buffer_;
  std::size_t scanned_ = 0;
};

}  // namespace twisted::basic
