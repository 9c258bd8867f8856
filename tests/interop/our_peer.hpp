// Our side of the interop tests (test_twisted_interop.cpp, test_tls_interop.cpp):
// a protocol that echoes, or streams the pattern and half-closes, and checks
// what comes back against it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "twisted/internet/protocol.hpp"
#include "twisted/internet/reactor_unix.hpp"
#include "twisted_peer.hpp"

namespace twisted::test {

constexpr std::size_t kBig = 64u << 20;  // 64 MiB
constexpr std::size_t kChunk = 256u << 10;

// Checks a received stream against the pattern as it arrives.
struct Checker {
  std::size_t count = 0;
  std::optional<std::size_t> badAt;
  void feed(std::string_view data) {
    while (!data.empty()) {
      std::size_t start = count % block().size();
      std::size_t n = std::min(data.size(), block().size() - start);
      if (!badAt && data.substr(0, n) != std::string_view(block()).substr(start, n)) {
        for (std::size_t i = 0; i < n; ++i) {
          if (data[i] != block()[start + i]) {
            badAt = count + i;
            break;
          }
        }
      }
      count += n;
      data.remove_prefix(n);
    }
  }
};

// loseWriteConnection on a TCP or a UNIX transport.
inline void halfClose(ITransport& t) {
  if (auto* tcp = dynamic_cast<ITCPTransport*>(&t)) {
    tcp->loseWriteConnection();
  } else {
    dynamic_cast<IUNIXTransport&>(t).loseWriteConnection();
  }
}

// Writes N pattern bytes as a pull producer, then half-closes.
class PatternSource : public IPullProducer {
 public:
  PatternSource(ITransport& transport, std::size_t total) : transport_(transport), total_(total) {}
  void resumeProducing() override {
    if (sent_ >= total_) {
      transport_.unregisterProducer();
      halfClose(transport_);
      return;
    }
    std::size_t n = std::min(kChunk, total_ - sent_);
    transport_.write(pattern(sent_, n));
    sent_ += n;
  }
  void stopProducing() override { stopped = true; }
  bool stopped = false;

 private:
  ITransport& transport_;
  std::size_t total_;
  std::size_t sent_ = 0;
};

// Our side of every case: optionally streams the pattern and half-closes,
// checks (or keeps) what arrives, records the half-close events.
class OurPeer : public Protocol, public IHalfCloseableProtocol {
 public:
  enum class Mode { Echo, SendAndCheck, SendAndKeep, Check };
  explicit OurPeer(Mode mode, std::size_t total = kBig) : mode_(mode), total_(total) {}

  void connectionMade() override {
    if (mode_ == Mode::SendAndCheck || mode_ == Mode::SendAndKeep) {
      transport->registerProducer(std::make_shared<PatternSource>(*transport, total_), false);
    }
  }
  void dataReceived(std::string_view data) override {
    if (mode_ == Mode::Echo) {
      transport->write(data);
    } else if (mode_ == Mode::SendAndKeep) {
      kept.append(data);
    } else {
      checker.feed(data);
    }
  }
  void readConnectionLost() override {
    readLost = true;
    transport->loseConnection();  // the peer is done: so are we, after flushing
  }
  void writeConnectionLost() override { writeLost = true; }
  void connectionLost(const Failure& reason) override {
    lost = reason;
    if (onLost) onLost();
  }

  Checker checker;
  std::string kept;
  bool readLost = false;
  bool writeLost = false;
  std::optional<Failure> lost;
  std::function<void()> onLost;

 private:
  Mode mode_;
  std::size_t total_;
};

}  // namespace twisted::test
