#include "twisted/protocols/int_string_receiver.hpp"

#include <array>
#include <stdexcept>
#include <string>

namespace twisted::basic {

IntNStringReceiver::IntNStringReceiver(std::size_t prefixLength) : prefixLength_(prefixLength) {
  if (prefixLength != 1 && prefixLength != 2 && prefixLength != 4) {
    throw std::invalid_argument("IntNStringReceiver: the prefix is 1, 2 or 4 bytes");
  }
}

std::uint64_t IntNStringReceiver::readPrefix(std::string_view bytes) const {
  std::uint64_t length = 0;
  for (std::size_t i = 0; i < prefixLength_; ++i) {
    length = (length << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return length;
}

void IntNStringReceiver::dataReceived(std::string_view data) {
  if (!buffer_.enter(data)) return;  // re-entered from stringReceived
  detail::ReceiveScope scope(buffer_);
  while (!paused_ && buffer_.size() >= prefixLength_) {
    std::string_view rest = buffer_.rest();
    std::uint64_t length = readPrefix(rest);
    if (length > MAX_LENGTH) {
      lengthLimitExceeded(length);
      return;
    }
    if (rest.size() - prefixLength_ < length) return;  // wait for the rest
    buffer_.consume(prefixLength_ + length);
    stringReceived(rest.substr(prefixLength_, length));
    buffer_.afterCallback();
  }
}

void IntNStringReceiver::lengthLimitExceeded(std::uint64_t length) {
  (void)length;
  if (transport) transport->loseConnection();
}

void IntNStringReceiver::sendString(std::string_view string) {
  if (prefixLength_ < 8 && string.size() >> (8 * prefixLength_) != 0) {
    throw StringTooLongError(std::to_string(string.size()) + " bytes, at most " +
                             std::to_string((std::uint64_t{1} << (8 * prefixLength_)) - 1) +
                             " fit a " + std::to_string(prefixLength_) + "-byte prefix");
  }
  std::array<char, 4> prefix{};
  for (std::size_t i = 0; i < prefixLength_; ++i) {
    prefix[i] = static_cast<char>((string.size() >> (8 * (prefixLength_ - 1 - i))) & 0xff);
  }
  transport->writeSequence({std::string_view(prefix.data(), prefixLength_), string});
}

void IntNStringReceiver::pauseProducing() {
  paused_ = true;
  if (transport) transport->pauseProducing();
}

void IntNStringReceiver::resumeProducing() {
  paused_ = false;
  if (transport) transport->resumeProducing();
  dataReceived({});
}

void IntNStringReceiver::stopProducing() {
  paused_ = true;
  if (transport) transport->stopProducing();
}

}  // namespace twisted::basic
