// ClientCreator with a timeout and cancellation: connect one protocol
// without a factory, give up after --timeout seconds, or cancel the
// attempt after --cancel-after seconds.
//
//   client_creator [--host H] [--port P] [--timeout S] [--cancel-after S]
//
// It sends "hello\r\n" and prints the first reply. Exit status: 0 on a
// reply, 1 on failure (refused, timed out, cancelled: the reason is
// printed), 2 for a bad option.
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "twisted/twisted.hpp"

namespace {

using namespace twisted;

class Hello : public Protocol {
 public:
  explicit Hello(std::string greeting) : greeting_(std::move(greeting)) {}
  void connectionMade() override { transport->write(greeting_); }
  void dataReceived(std::string_view data) override {
    reply.append(data);
    transport->loseConnection();
  }
  void connectionLost(const Failure&) override {
    if (onLost) onLost();
  }
  std::string reply;
  std::function<void()> onLost;

 private:
  std::string greeting_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 8000;
  double timeout = 30;
  std::optional<double> cancelAfter;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (i + 1 >= argc) throw std::invalid_argument(arg);
      if (arg == "--host") {
        host = argv[++i];
      } else if (arg == "--port") {
        port = std::stoi(argv[++i]);
      } else if (arg == "--timeout") {
        timeout = std::stod(argv[++i]);
      } else if (arg == "--cancel-after") {
        cancelAfter = std::stod(argv[++i]);
      } else {
        throw std::invalid_argument(arg);
      }
    }
  } catch (const std::exception&) {
    std::cerr << "usage: client_creator [--host H] [--port P] [--timeout S] [--cancel-after S]\n";
    return 2;
  }

  Reactor reactor;
  int status = 1;
  ClientCreator<Hello> creator(reactor, std::string("hello\r\n"));
  Deferred<std::shared_ptr<Hello>> d = creator.connectTCP(host, port, timeout);
  std::optional<DelayedCall> canceller;
  if (cancelAfter) canceller = reactor.callLater(*cancelAfter, [d]() mutable { d.cancel(); });

  d.addCallback([&](std::shared_ptr<Hello> hello) {
     if (canceller && canceller->active()) canceller->cancel();
     std::cerr << "connected to " << toString(hello->transport->getPeer()) << "\n";
     // A plain pointer: the protocol owning a lambda that owns the
     // protocol would be a cycle (it is alive whenever onLost runs).
     hello->onLost = [&, h = hello.get()] {
       std::cout << h->reply << std::flush;
       status = h->reply.empty() ? 1 : 0;
       reactor.stop();
     };
   }).addErrback([&](const Failure& f) {
    if (canceller && canceller->active()) canceller->cancel();
    if (f.check<error::CancelledError>()) {
      std::cerr << "client_creator: cancelled: " << f.getErrorMessage() << "\n";
    } else if (f.check<error::TimeoutError>()) {
      std::cerr << "client_creator: timed out: " << f.getErrorMessage() << "\n";
    } else {
      std::cerr << "client_creator: " << f.getErrorMessage() << "\n";
    }
    reactor.stop();
  });
  reactor.run();
  return status;
}
