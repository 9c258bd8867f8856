// The pumped in-memory connection of twisted/testing/iosim.hpp.
#include "twisted/testing/iosim.hpp"

#include <stdexcept>
#include <string>

#include "../internet/build_protocol.hpp"
#include "twisted/internet/error.hpp"

namespace twisted::testing {

// ---- FakeTransport --------------------------------------------------------------------

FakeTransport::FakeTransport(Address host, Address peer)
    : StringTransport(std::move(host), std::move(peer)) {
  setFull(true);  // nothing leaves until the pump takes it
}

void FakeTransport::write(std::string_view data) {
  if (lost_ || aborted() || writeClosed_) return;
  StringTransport::write(data);
}

void FakeTransport::writeSequence(std::span<const std::string_view> data) {
  if (lost_ || aborted() || writeClosed_) return;
  StringTransport::writeSequence(data);
}

void FakeTransport::loseConnection() {
  if (lost_) return;
  StringTransport::loseConnection();
}

void FakeTransport::abortConnection() {
  if (lost_ || aborted()) return;
  StringTransport::abortConnection();
  io_.clear();
  discardQueue();
}

void FakeTransport::loseWriteConnection() {
  if (lost_ || writeClosed_) return;
  writeClosing_ = true;
}

bool FakeTransport::reading() const {
  return !lost_ && !readClosed_ && producerState() == ProducerState::Producing &&
         !readingPausedByBuffer();
}

std::string FakeTransport::take() {
  std::string out;
  out.swap(io_);
  clear();  // empties the queue: a paused producer resumes (and may write)
  return out;
}

bool FakeTransport::askPullProducer() {
  if (lost_ || !hasPullProducer() || writeBufferSize() > 0) return false;
  std::shared_ptr<IProducer> keep = producer();
  std::size_t before = io_.size();
  dynamic_cast<IPullProducer&>(*keep).resumeProducing();
  return io_.size() != before || producer() != keep;
}

void FakeTransport::lose(const Failure& reason) {
  if (lost_) return;
  lost_ = true;
  disconnecting_ = true;
  io_.clear();
  discardQueue();
  if (std::shared_ptr<IProducer> producer = releaseProducer()) producer->stopProducing();
  if (std::shared_ptr<Protocol> protocol = protocol_.lock()) {
    protocol->connected = false;
    protocol->connectionLost(reason);
  }
}

// ---- IOPump ---------------------------------------------------------------------------

IOPump::IOPump(std::shared_ptr<Protocol> client, std::shared_ptr<Protocol> server,
               std::shared_ptr<FakeTransport> clientIO, std::shared_ptr<FakeTransport> serverIO)
    : client(std::move(client)),
      server(std::move(server)),
      clientIO(std::move(clientIO)),
      serverIO(std::move(serverIO)) {
  if (!this->client || !this->server || !this->clientIO || !this->serverIO) {
    throw std::invalid_argument("IOPump: a protocol or transport is null");
  }
  if (this->clientIO == this->serverIO) {
    throw std::logic_error("IOPump: both sides have the same transport");
  }
  if (!this->clientIO->other_.expired() || !this->serverIO->other_.expired()) {
    throw std::logic_error("IOPump: a transport is already joined to another");
  }
  this->clientIO->protocol_ = this->client;
  this->serverIO->protocol_ = this->server;
  this->clientIO->other_ = this->serverIO;
  this->serverIO->other_ = this->clientIO;
}

namespace {

void deliver(FakeTransport& to, const std::shared_ptr<Protocol>& protocol,
             const std::string& data) {
  if (data.empty() || to.closed()) return;
  protocol->dataReceived(data);
}

}  // namespace

bool IOPump::pump() {
  FakeTransport& c = *clientIO;
  FakeTransport& s = *serverIO;
  if (c.lost_ && s.lost_) return false;
  if (c.lost_ || s.lost_) {
    // A connectionLost threw before the other side was told: tell it now.
    (c.lost_ ? s : c).lose(Failure::of(error::ConnectionDone()));
    return true;
  }

  // An abort is immediate: queued bytes are dropped both ways.
  if (c.aborted() || s.aborted()) {
    FakeTransport& first = s.aborted() ? s : c;
    FakeTransport& second = &first == &s ? c : s;
    for (FakeTransport* t : {&c, &s}) {
      t->io_.clear();
      t->discardQueue();
    }
    first.lose(Failure::of(error::ConnectionAborted()));
    second.lose(second.aborted() ? Failure::of(error::ConnectionAborted())
                                 : Failure::of(error::ConnectionLost()));
    return true;
  }

  // Bytes, each way, to a side that reads.
  std::string toServer = s.reading() ? c.take() : std::string();
  std::string toClient = c.reading() ? s.take() : std::string();
  bool produced = false;
  if (s.reading()) produced = c.askPullProducer() || produced;
  if (c.reading()) produced = s.askPullProducer() || produced;
  deliver(s, server, toServer);
  deliver(c, client, toClient);
  bool moved = !toServer.empty() || !toClient.empty() || produced;
  return closeDrained() || moved;
}

// A close or half-close whose side has drained takes effect, whatever still
// comes from the other side (the server's first, as Twisted's pump).
bool IOPump::closeDrained() {
  FakeTransport& c = *clientIO;
  FakeTransport& s = *serverIO;
  if (c.lost_ || s.lost_) return false;
  // An abort made during this pass: the next pass reports it (as aborted,
  // not as a clean close).
  if (c.aborted() || s.aborted()) return true;
  for (FakeTransport* x : {&s, &c}) {
    FakeTransport& y = x == &s ? c : s;
    if (!x->drained()) continue;
    if (x->disconnecting()) {
      x->lose(Failure::of(error::ConnectionDone()));
      y.lose(Failure::of(error::ConnectionDone()));
      return true;
    }
    if (x->writeClosing_ && !x->writeClosed_) {
      x->writeClosed_ = true;
      x->writeDisconnected_ = true;
      std::shared_ptr<Protocol> xp = x->protocol_.lock();
      std::shared_ptr<Protocol> yp = y.protocol_.lock();
      auto* yHalf = dynamic_cast<IHalfCloseableProtocol*>(yp.get());
      if (!yHalf) {
        // The peer reads end-of-file and closes: the whole connection goes.
        y.lose(Failure::of(error::ConnectionDone()));
        x->lose(Failure::of(error::ConnectionDone()));
        return true;
      }
      if (auto* xHalf = dynamic_cast<IHalfCloseableProtocol*>(xp.get()))
        xHalf->writeConnectionLost();
      y.readClosed_ = true;
      yHalf->readConnectionLost();
      if (y.writeClosed_ && !x->lost_) {
        x->lose(Failure::of(error::ConnectionDone()));
        y.lose(Failure::of(error::ConnectionDone()));
      }
      return true;
    }
  }
  return false;
}

bool IOPump::flush(std::size_t maxPasses) {
  bool moved = false;
  for (std::size_t i = 0; i < maxPasses; ++i) {
    if (!pump()) return moved;
    moved = true;
  }
  throw std::runtime_error("IOPump::flush: still busy after " + std::to_string(maxPasses) +
                           " passes (a producer that never ends? pump() step by step)");
}

// ---- connecting ------------------------------------------------------------------------

IOPump connect(std::shared_ptr<Protocol> server, std::shared_ptr<FakeTransport> serverTransport,
               std::shared_ptr<Protocol> client, std::shared_ptr<FakeTransport> clientTransport,
               bool greet) {
  IOPump pump(std::move(client), std::move(server), std::move(clientTransport),
              std::move(serverTransport));
  pump.server->makeConnection(pump.serverIO);
  pump.client->makeConnection(pump.clientIO);
  if (greet) pump.flush();
  return pump;
}

ClientServerPump<Protocol, Protocol> connectedServerAndClient(Factory& serverFactory,
                                                              Factory& clientFactory,
                                                              LoopbackOptions options) {
  std::shared_ptr<Protocol> server = detail::buildProtocol(serverFactory, options.clientAddress);
  if (!server) throw std::logic_error("connectedServerAndClient: the server factory refused");
  std::shared_ptr<Protocol> client = detail::buildProtocol(clientFactory, options.serverAddress);
  if (!client) throw std::logic_error("connectedServerAndClient: the client factory refused");
  return connectedServerAndClient(std::move(server), std::move(client), std::move(options));
}

}  // namespace twisted::testing
