// AccumulatingProtocol: a protocol that records what happens to it, as
// Twisted's twisted.internet.testing.AccumulatingProtocol.
//
//   auto p = std::make_shared<twisted::testing::AccumulatingProtocol>();
//   p->makeConnection(transport);    // p->made == true
//   p->dataReceived("abc");           // p->data == "abc"
//   p->lost.addCallback(...);         // fires after connectionLost
#pragma once

#include <optional>
#include <string>

#include "twisted/internet/deferred.hpp"
#include "twisted/internet/protocol.hpp"

namespace twisted::testing {

class AccumulatingProtocol : public Protocol {
 public:
  /// Everything received, in order.
  std::string data;
  bool made = false;
  bool closed = false;
  /// The reason given to connectionLost.
  std::optional<Failure> closedReason;
  /// Fire after connectionMade and after connectionLost, once each.
  Deferred<void> madeDeferred;
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
