// The small standard services, as Twisted's twisted.protocols.wire: Echo
// (RFC 862), Discard (RFC 863), Chargen (RFC 864), QOTD (RFC 865), Who
// (RFC 866), Daytime (RFC 867) and Time (RFC 868).
//
//   reactor.listenTCP(7, twisted::Factory::forProtocol<twisted::wire::Echo>());
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <string>
#include <string_view>

#include "twisted/internet/protocol.hpp"

namespace twisted::wire {

/// Where the time-telling services read the time (seconds since 1970, UTC);
/// replaceable so that tests can fix it.
using WallClock = std::function<std::time_t()>;

/// RFC 862: sends back whatever it receives. When the client half-closes,
/// it still sends back everything received before closing (Twisted's Echo
/// drops what it had not yet sent).
class Echo : public Protocol, public IHalfCloseableProtocol {
 public:
  void dataReceived(std::string_view data) override { transport->write(data); }
  void readConnectionLost() override { transport->loseConnection(); }
  void writeConnectionLost() override {}
};

/// RFC 863: reads and throws away whatever it receives.
class Discard : public Protocol, public IHalfCloseableProtocol {
 public:
  void dataReceived(std::string_view data) override { (void)data; }
  void readConnectionLost() override { transport->loseConnection(); }
  void writeConnectionLost() override {}
};

/// RFC 864: sends lines of 72 printable ASCII characters, each starting one
/// character further along the 95-character cycle, until the client closes.
/// It is a pull producer: it writes only when the transport's buffer is
/// empty, so a client that reads slowly costs no memory.
class Chargen : public Protocol {
 public:
  void connectionMade() override;
  /// Line `n` (0-based) of the RFC 864 pattern, with its CRLF.
  static std::string line(std::size_t n);
};

/// RFC 865: sends one quote and closes.
class QOTD : public Protocol {
 public:
  /// Sends `quote` unless getQuote is overridden.
  explicit QOTD(std::string quote = "An apple a day keeps the doctor away.");
  void connectionMade() override;
  /// The quote to send, without its line end. Override for a different one.
  virtual std::string getQuote();

 private:
  std::string quote_;
};

/// RFC 866: sends the users logged in (one per line, from utmp) and closes.
class Who : public Protocol {
 public:
  void connectionMade() override;
  /// The users, one per line, each ended with CRLF. Override to answer
  /// something else.
  virtual std::string getUsers();
};

/// RFC 867: sends the date and time in UTC ("Mon Nov 23 19:23:31 2026",
/// as C's asctime) and closes.
class Daytime : public Protocol {
 public:
  /// Tells the time read from `clock` (empty: the system clock).
  explicit Daytime(WallClock clock = {});
  void connectionMade() override;
  /// The line sent for time `t`, with its CRLF.
  static std::string format(std::time_t t);

 private:
  WallClock clock_;
};

/// RFC 868: sends the time as 32-bit big-endian seconds since 1900-01-01
/// and closes. (Twisted sends seconds since 1970, which is not what the RFC
/// says.)
class Time : public Protocol {
 public:
  /// Tells the time read from `clock` (empty: the system clock).
  explicit Time(WallClock clock = {});
  void connectionMade() override;
  /// The 4 bytes sent for time `t`.
  static std::string format(std::time_t t);

 private:
  WallClock clock_;
};

}  // namespace twisted::wire
