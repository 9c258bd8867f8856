#include <cstdio>
#include <fstream>

#include "twisted/protocols/policies.hpp"

namespace twisted::policies {

std::string bytesRepr(std::string_view data) {
  // Python picks the quote that needs no escaping when it can.
  bool single =
      data.find('\'') == std::string_view::npos || data.find('"') != std::string_view::npos;
  char quote = single ? '\'' : '"';
  std::string out = "b";
  out += quote;
  for (unsigned char c : data) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c == static_cast<unsigned char>(quote)) {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f) {
          char hex[5];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += quote;
  return out;
}

namespace {

// Twisted's TrafficLoggingProtocol: one log file per connection.
class TrafficLoggingProtocol : public ProtocolWrapper {
 public:
  TrafficLoggingProtocol(WrappingFactory& factory, std::shared_ptr<Protocol> wrapped,
                         const std::string& path, std::optional<std::size_t> lengthLimit,
                         int number)
      : ProtocolWrapper(factory, std::move(wrapped)),
        file_(path, std::ios::trunc),
        lengthLimit_(lengthLimit),
        number_(std::to_string(number)) {}

  void makeConnection(std::shared_ptr<ITransport> t) override {
    log("*");
    ProtocolWrapper::makeConnection(std::move(t));
  }
  void dataReceived(std::string_view data) override {
    log("C " + number_ + ": " + munge(data));
    ProtocolWrapper::dataReceived(data);
  }
  void connectionLost(const Failure& reason) override {
    log("C " + number_ + ": " + reason.brief());
    ProtocolWrapper::connectionLost(reason);
  }
  void write(std::string_view data) override {
    log("S " + number_ + ": " + munge(data));
    ProtocolWrapper::write(data);
  }
  void writeSequence(std::span<const std::string_view> data) override {
    std::string line = "SV " + number_ + ": [";
    for (std::size_t i = 0; i < data.size(); ++i) line += (i ? ", " : "") + munge(data[i]);
    log(line + "]");
    ProtocolWrapper::writeSequence(data);
  }
  using ProtocolWrapper::writeSequence;
  void loseConnection() override {
    log("S " + number_ + ": *");
    ProtocolWrapper::loseConnection();
  }

 private:
  void log(const std::string& line) { file_ << line << '\n' << std::flush; }
  std::string munge(std::string_view data) const {
    if (lengthLimit_ && data.size() > *lengthLimit_) {
      std::size_t keep = *lengthLimit_ > 12 ? *lengthLimit_ - 12 : 0;
      return bytesRepr(std::string(data.substr(0, keep)) + "<... elided>");
    }
    return bytesRepr(data);
  }

  std::ofstream file_;
  std::optional<std::size_t> lengthLimit_;
  std::string number_;
};

}  // namespace

TrafficLoggingFactory::TrafficLoggingFactory(std::shared_ptr<Factory> wrapped,
                                             std::string logfilePrefix,
                                             std::optional<std::size_t> lengthLimit)
    : WrappingFactory(std::move(wrapped)),
      logfilePrefix(std::move(logfilePrefix)),
      lengthLimit(lengthLimit) {}

std::shared_ptr<ProtocolWrapper> TrafficLoggingFactory::wrapProtocol(
    std::shared_ptr<Protocol> wrapped, const Address& addr) {
  (void)addr;
  ++counter_;
  return makeWrapper<TrafficLoggingProtocol>(
      std::move(wrapped), logfilePrefix + "-" + std::to_string(counter_), lengthLimit, counter_);
}

}  // namespace twisted::policies
