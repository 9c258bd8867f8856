// The producer a protocol over TLS registers, as the transport below sees
// it (Twisted's _ProducerMembrane): below's pause and resume pass through,
// and the TLS protocol can hold a push producer paused while plaintext
// waits for the handshake. A pull producer asked for more before the
// handshake is asked once it is done.
//
// Ownership: the TLS protocol and the transport below share it; it holds
// the user's producer and no reference back to the TLS protocol.
#pragma once

#include <memory>

#include "twisted/internet/transport.hpp"

namespace twisted::tls::detail {

class ProducerMembrane final : public IPushProducer, public IPullProducer {
 public:
  ProducerMembrane(std::shared_ptr<IProducer> producer, bool streaming)
      : producer_(std::move(producer)), streaming_(streaming) {}

  bool streaming() const { return streaming_; }

  void pauseProducing() override {
    belowPaused_ = true;
    update();
  }
  void resumeProducing() override {
    if (!streaming_) {
      if (!ready_) {
        wanted_ = true;  // asked again when the handshake is done
        return;
      }
      if (auto* pull = dynamic_cast<IPullProducer*>(producer_.get())) pull->resumeProducing();
      return;
    }
    belowPaused_ = false;
    update();
  }
  void stopProducing() override { producer_->stopProducing(); }

  /// Holds (or stops holding) a push producer paused whatever below says.
  void hold(bool on) {
    held_ = on;
    update();
  }
  /// The handshake is done: nothing is held, a waiting pull producer is asked.
  void ready() {
    ready_ = true;
    held_ = false;
    update();
    if (!streaming_ && wanted_) {
      wanted_ = false;
      resumeProducing();
    }
  }

 private:
  void update() {
    auto* push = dynamic_cast<IPushProducer*>(producer_.get());
    bool pause = belowPaused_ || held_;
    if (!push || pause == paused_) return;
    paused_ = pause;
    if (pause) {
      push->pauseProducing();
    } else {
      push->resumeProducing();
    }
  }

  std::shared_ptr<IProducer> producer_;
  bool streaming_;
  bool belowPaused_ = false;
  bool held_ = false;
  bool paused_ = false;
  bool ready_ = false;
  bool wanted_ = false;
};

}  // namespace twisted::tls::detail
