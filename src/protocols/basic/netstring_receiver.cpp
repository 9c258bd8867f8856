#include "twisted/protocols/netstring_receiver.hpp"

#include <string>

#include "twisted/logger/logger.hpp"

namespace twisted::basic {

namespace {

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

std::size_t digitsOf(std::size_t n) {
  std::size_t digits = 1;
  while (n >= 10) {
    n /= 10;
    ++digits;
  }
  return digits;
}

}  // namespace

void NetstringReceiver::dataReceived(std::string_view data) {
  if (brokenPeer) return;  // the stream cannot be resynchronised
  if (!buffer_.enter(data)) return;
  detail::ReceiveScope scope(buffer_);
  while (!buffer_.empty() && !brokenPeer) {
    if (!parsingPayload_) {
      if (!parseLength()) return;
      continue;
    }
    std::string_view rest = buffer_.rest();
    if (rest.size() < expected_ + 1) return;  // payload and comma not all here
    if (rest[expected_] != ',') {
      fail("the payload of " + std::to_string(expected_) + " bytes is not followed by a comma");
      return;
    }
    buffer_.consume(expected_ + 1);
    parsingPayload_ = false;
    stringReceived(rest.substr(0, expected_));
    buffer_.afterCallback();
  }
}

bool NetstringReceiver::parseLength() {
  std::string_view rest = buffer_.rest();
  std::size_t digits = 0;
  while (digits < rest.size() && isDigit(rest[digits])) ++digits;
  bool complete = digits < rest.size();  // something follows the digits
  // The checks come in an order that gives the same verdict however the
  // bytes were split: what can be decided from a prefix is decided first.
  if (digits == 0) {
    fail("it does not start with a length followed by ':'");
    return false;
  }
  if (rest[0] == '0' && digits > 1) {
    fail("its length has a leading zero");
    return false;
  }
  // More digits than MAX_LENGTH has (and no leading zero): too long,
  // refused before the number is even converted.
  std::size_t length = 0;
  if (digits <= digitsOf(MAX_LENGTH)) {
    for (std::size_t i = 0; i < digits; ++i) length = length * 10 + (rest[i] - '0');
  }
  if (digits > digitsOf(MAX_LENGTH) || length > MAX_LENGTH) {
    // (The digits are not quoted: how many have arrived depends on how
    // the bytes were split, and the verdict must not.)
    fail("its length is above MAX_LENGTH " + std::to_string(MAX_LENGTH));
    return false;
  }
  if (complete && rest[digits] != ':') {
    fail("it does not start with a length followed by ':'");
    return false;
  }
  if (!complete) {
    // Digits so far are valid; wait for the rest. (Returning false without
    // an error ends this parse.)
    return false;
  }
  buffer_.consume(digits + 1);
  expected_ = length;
  parsingPayload_ = true;
  return true;
}

void NetstringReceiver::fail(const std::string& why) {
  brokenPeer = true;
  buffer_.take();  // nothing more will be parsed: keep nothing
  parseError_.emplace(why);
  netstringParseError(*parseError_);
}

void NetstringReceiver::netstringParseError(const NetstringParseError& reason) {
  static const logger::Logger log("twisted.protocols.basic");
  log.warn("Closing {peer}: {reason}",
           {{"peer", transport ? toString(transport->getPeer()) : std::string("-")},
            {"reason", std::string(reason.what())}});
  if (transport) transport->loseConnection();
}

void NetstringReceiver::sendString(std::string_view string) {
  std::string length = std::to_string(string.size());
  transport->writeSequence({std::string_view(length), ":", string, ","});
}

}  // namespace twisted::basic
