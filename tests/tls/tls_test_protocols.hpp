// The protocols and wiring the TLS engine's tests share: a Recorder of
// what TLS tells a protocol, a Greeter that writes before the handshake,
// and one of our TLS connections on a StringTransport (OnWire), with
// trickle() to move ciphertext between two of them.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "../internet/tcp_helpers.hpp"
#include "tls_helpers.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/testing/accumulating_protocol.hpp"
#include "twisted/testing/string_transport.hpp"
#include "twisted/tls/error.hpp"
#include "twisted/tls/tls_protocol.hpp"

namespace twisted::test {

using testing::AccumulatingProtocol;
using tls::TLSRole;

// Records what TLS tells it, as well as what AccumulatingProtocol does.
class Recorder : public AccumulatingProtocol, public tls::IHandshakeListener {
 public:
  int handshakes = 0;
  int lostCount = 0;
  void handshakeCompleted() override { ++handshakes; }
  void connectionLost(const Failure& reason) override {
    ++lostCount;
    AccumulatingProtocol::connectionLost(reason);
  }
  tls::ISSLTransport& tls() { return dynamic_cast<tls::ISSLTransport&>(*transport); }
};

class HalfCloseRecorder : public Recorder, public IHalfCloseableProtocol {
 public:
  bool readLost = false;
  bool writeLost = false;
  void readConnectionLost() override { readLost = true; }
  void writeConnectionLost() override { writeLost = true; }
};

// Writes what it is given as soon as it is connected (before the handshake).
class Greeter : public Recorder {
 public:
  explicit Greeter(std::string greeting) : greeting_(std::move(greeting)) {}
  void connectionMade() override {
    Recorder::connectionMade();
    transport->write(greeting_);
  }

 private:
  std::string greeting_;
};

template <class E>
bool lostWith(const Recorder& p) {
  return p.closedReason && p.closedReason->check<E>();
}

// One of our TLS connections, of `app`, on a StringTransport a RawPeer reads.
// When it goes, the connection is lost if it was not: the protocol above
// and the TLS protocol hold each other until connectionLost.
struct OnWire {
  OnWire() = default;
  OnWire(OnWire&&) = default;
  OnWire& operator=(OnWire&&) = default;
  ~OnWire() {
    if (tls) tls->connectionLost(Failure::of(error::ConnectionLost()));
  }

  std::shared_ptr<Protocol> tls;
  std::shared_ptr<testing::StringTransport> wire = std::make_shared<testing::StringTransport>();
  std::shared_ptr<tls::TLSMemoryBIOFactory> factory;  // the connection refers to it
};

inline OnWire onWire(std::shared_ptr<Protocol> app, TLSRole role,
                     std::shared_ptr<tls::IOpenSSLConnectionCreator> options = nullptr) {
  if (!options) {
    options = role == TLSRole::Client
                  ? std::shared_ptr<tls::IOpenSSLConnectionCreator>(clientOptions())
                  : serverOptions();
  }
  auto factory = std::make_shared<tls::TLSMemoryBIOFactory>(std::move(options), role,
                                                            factoryOf(std::move(app)));
  OnWire w;
  w.factory = factory;
  w.tls = factory->buildProtocol(IPv4Address{Transport::TCP, "127.0.0.1", 1});
  w.tls->makeConnection(w.wire);  // a client's ClientHello is written now
  return w;
}

// Moves what each side wrote to the other, `step` bytes per dataReceived,
// until neither has anything more to say.
inline void trickle(OnWire& a, OnWire& b, std::size_t step) {
  for (int round = 0; round < 10000; ++round) {
    std::string ab = a.wire->value();
    std::string ba = b.wire->value();
    a.wire->clear();
    b.wire->clear();
    if (ab.empty() && ba.empty()) return;
    for (std::size_t i = 0; i < ab.size(); i += step) b.tls->dataReceived(ab.substr(i, step));
    for (std::size_t i = 0; i < ba.size(); i += step) a.tls->dataReceived(ba.substr(i, step));
  }
  ADD_FAILURE() << "the two sides never went quiet";
}

inline tls::VerificationFailure verificationKind(const Recorder& p) {
  EXPECT_TRUE(lostWith<tls::VerificationError>(p))
      << (p.closedReason ? p.closedReason->getErrorMessage() : "not lost");
  try {
    p.closedReason->raiseException();
  } catch (const tls::VerificationError& e) {
    return e.kind();
  } catch (...) {
  }
  return tls::VerificationFailure::Other;
}

// Writes a piece each time it is asked, then unregisters and closes.
class CountingPullProducer : public IPullProducer {
 public:
  explicit CountingPullProducer(ITransport& t, int pieces) : t_(t), left_(pieces) {}
  int asked = 0;
  void resumeProducing() override {
    ++asked;
    if (left_-- > 0) {
      t_.write("piece;");
    } else {
      t_.unregisterProducer();
      t_.loseConnection();
    }
  }
  void stopProducing() override {}

 private:
  ITransport& t_;
  int left_;
};

}  // namespace twisted::test
