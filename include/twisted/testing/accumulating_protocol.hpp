// AccumulatingProtocol: a protocol that records what happens to it, as
// Twisted's twisted.internet.testing.AccumulatingProtocol.
//
//   auto p = std::make_shared<twisted::testing::AccumulatingProtocol>();
//   p->makeConnection(transport);    // p->made == true
//   p->dataReceived("abc");           // p->data == "abc"
//   p->lostDeferred.addCallback(...); // fires after connectionLost
#pragma once

#include <optional>
#include <string>

#include "twisted/internet/deferred.hpp"
#include "twisted/internet/protocol.hpp"

namespace twisted::testing {

/// A protocol for tests that keeps what it receives and notes when it is connected and
/// disconnected, so a test can check them afterwards.
class AccumulatingProtocol : public Protocol {
 public:
  /// Everything received, in order.
  std::string data;
  /// True once connectionMade has been called.
  bool made = false;
  /// True once connectionLost has been called.
  bool closed = false;
  /// The reason given to connectionLost.
  std::optional<Failure> closedReason;
  /// Fires (once) when connectionMade is called.
  Deferred<void> madeDeferred;
  /// Fires (once) when connectionLost is called, after closedReason is set.
  Deferred<void> lostDeferred;

  void connectionMade() override {
    made = true;
    madeDeferred.callback();
  }
  void dataReceived(std::string_view bytes) override { data.append(bytes); }
  void connectionLost(const Failure& reason) override {
    closed = true;
    closedReason = reason;
    lostDeferred.callback();
  }
  std::string logPrefix() const override { return "AccumulatingProtocol"; }
};

}  // namespace twisted::testing
