#include "twisted/protocols/line_receiver.hpp"

#include <algorithm>
#include <stdexcept>

namespace twisted::basic {

namespace {

// Finds `delimiter` in `rest`, of which the first `scanned` bytes were
// already searched: only a delimiter that the bytes after them completed
// can start there, so a long line arriving in small pieces is not rescanned
// from its start.
std::size_t findDelimiter(std::string_view rest, const std::string& delimiter,
                          std::size_t scanned) {
  std::size_t from = std::min(scanned, rest.size());
  from = from >= delimiter.size() - 1 ? from - (delimiter.size() - 1) : 0;
  return rest.find(delimiter, from);
}

// The next thing line mode finds in `buffer`: a whole line (consumed, the
// view valid until the buffer's afterCallback), a line too long (the caller
// takes everything buffered), or nothing yet.
struct NextLine {
  enum Kind { Line, TooLong, NeedMore } kind;
  std::string_view line;
};

NextLine nextLine(detail::ReceiveBuffer& buffer, const std::string& delimiter,
                  std::size_t maxLength, std::size_t& scanned) {
  if (delimiter.empty()) throw std::logic_error("LineReceiver: the delimiter is empty");
  std::string_view rest = buffer.rest();
  std::size_t at = findDelimiter(rest, delimiter, scanned);
  // Too long: a complete line over the limit, or so many bytes without a
  // delimiter that the line cannot fit (a line of exactly maxLength may
  // still be waiting for all of its delimiter).
  if ((at == std::string_view::npos && rest.size() >= maxLength + delimiter.size()) ||
      (at != std::string_view::npos && at > maxLength)) {
    scanned = 0;
    return {NextLine::TooLong, {}};
  }
  if (at == std::string_view::npos) {
    scanned = rest.size();
    return {NextLine::NeedMore, {}};
  }
  buffer.consume(at + delimiter.size());
  scanned = 0;
  return {NextLine::Line, rest.substr(0, at)};
}

}  // namespace

// ---- LineReceiver -------------------------------------------------------------

void LineReceiver::dataReceived(std::string_view data) {
  if (!buffer_.enter(data)) return;  // re-entered from a callback: parsed by the outer call
  detail::ReceiveScope scope(buffer_);
  deliver();
}

void LineReceiver::deliver() {
  while (!buffer_.empty() && !stopped()) {
    std::string_view rest = buffer_.rest();
    if (!lineMode_) {
      buffer_.consume(rest.size());
      scanned_ = 0;
      rawDataReceived(rest);
      buffer_.afterCallback();
      continue;
    }
    NextLine next = nextLine(buffer_, delimiter, MAX_LENGTH, scanned_);
    if (next.kind == NextLine::NeedMore) return;
    if (next.kind == NextLine::TooLong) {
      lineLengthExceeded(buffer_.take());
    } else {
      const ITransport* before = transport.get();
      lineReceived(next.line);
      if (transport.get() != before) {
        buffer_.afterCallback();
        handOverRest();
        return;
      }
    }
    buffer_.afterCallback();
  }
}

void LineReceiver::handOverRest() {
  // The line just delivered put a layer under this protocol (startTLS):
  // what the peer sent after it is that layer's to read, never a line of
  // plaintext (the STARTTLS injection attack).
  std::string rest = clearLineBuffer();
  if (rest.empty()) return;
  if (auto* layer = dynamic_cast<Protocol*>(transport.get())) layer->dataReceived(rest);
}

void LineReceiver::rawDataReceived(std::string_view data) {
  (void)data;
  throw std::logic_error("LineReceiver: raw mode set but rawDataReceived is not overridden");
}

void LineReceiver::lineLengthExceeded(std::string_view line) {
  (void)line;
  if (transport) transport->loseConnection();
}

void LineReceiver::sendLine(std::string_view line) {
  transport->writeSequence({line, std::string_view(delimiter)});
}

void LineReceiver::setRawMode() {
  lineMode_ = false;
}

void LineReceiver::setLineMode(std::string_view extra) {
  lineMode_ = true;
  scanned_ = 0;
  if (!extra.empty()) dataReceived(extra);
}

std::string LineReceiver::clearLineBuffer() {
  scanned_ = 0;
  return buffer_.take();
}

void LineReceiver::pauseProducing() {
  paused_ = true;
  if (transport) transport->pauseProducing();
}

void LineReceiver::resumeProducing() {
  paused_ = false;
  if (transport) transport->resumeProducing();
  dataReceived({});  // what arrived before the pause
}

void LineReceiver::stopProducing() {
  paused_ = true;
  if (transport) transport->stopProducing();
}

// ---- LineOnlyReceiver -----------------------------------------------------------

void LineOnlyReceiver::dataReceived(std::string_view data) {
  if (!buffer_.enter(data)) return;
  detail::ReceiveScope scope(buffer_);
  while (!buffer_.empty()) {
    // A line that closed the connection ends the batch: the lines after it
    // in the same packet are not delivered.
    if (transport && transport->disconnecting()) return;
    NextLine next = nextLine(buffer_, delimiter, MAX_LENGTH, scanned_);
    if (next.kind == NextLine::NeedMore) return;
    if (next.kind == NextLine::TooLong) {
      lineLengthExceeded(buffer_.take());
    } else {
      lineReceived(next.line);
    }
    buffer_.afterCallback();
  }
}

void LineOnlyReceiver::lineLengthExceeded(std::string_view line) {
  (void)line;
  if (transport) transport->loseConnection();
}

void LineOnlyReceiver::sendLine(std::string_view line) {
  transport->writeSequence({line, std::string_view(delimiter)});
}

}  // namespace twisted::basic
