// An echo client: an endpoint from a string, connectProtocol, and a
// protocol that sends its messages and checks what comes back.
//
//   echo_client [--connect tcp:127.0.0.1:8000] [--timeout S] MESSAGE...
//
// Exit status: 0 when every message came back intact, 1 if the connection
// failed or the echo differed, 2 for a bad option or endpoint.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "twisted/twisted.hpp"

namespace {

using namespace twisted;

class EchoCheck : public Protocol {
 public:
  explicit EchoCheck(std::string expected) : expected_(std::move(expected)) {}

  void connectionMade() override { transport->write(expected_); }
  void dataReceived(std::string_view data) override {
    received_.append(data);
    if (received_.size() >= expected_.size()) transport->loseConnection();
  }
  void connectionLost(const Failure& reason) override {
    (void)reason;
    ok_ = received_ == expected_;
    if (done) done();
  }
  bool ok() const { return ok_; }
  const std::string& received() const { return received_; }
  std::function<void()> done;

 private:
  std::string expected_;
  std::string received_;
  bool ok_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  std::string description = "tcp:127.0.0.1:8000";
  double timeout = 5;
  std::string payload;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--connect" && i + 1 < argc) {
      description = argv[++i];
    } else if (arg == "--timeout" && i + 1 < argc) {
      timeout = std::stod(argv[++i]);
    } else if (arg.starts_with("--")) {
      std::cerr << "usage: echo_client [--connect ENDPOINT] [--timeout S] MESSAGE...\n";
      return 2;
    } else {
      payload += arg + "\n";
    }
  }
  if (payload.empty()) payload = "hello\n";

  Reactor reactor;
  std::shared_ptr<IStreamClientEndpoint> endpoint;
  try {
    endpoint = clientFromString(reactor, description);
  } catch (const error::InvalidEndpointDescription& e) {
    std::cerr << "echo_client: " << e.what() << "\n";
    return 2;
  }
  int status = 1;
  auto proto = std::make_shared<EchoCheck>(payload);
  proto->done = [&] {
    status = proto->ok() ? 0 : 1;
    std::cout << proto->received() << std::flush;
    if (!proto->ok()) std::cerr << "echo_client: the echo differs from what was sent\n";
    reactor.stop();
  };
  // The whole exchange must end within the timeout.
  connectProtocol(*endpoint, proto)
      .addTimeout(timeout, reactor)
      .addErrback([&](const Failure& f) -> std::shared_ptr<EchoCheck> {
        std::cerr << "echo_client: " << f.getErrorMessage() << "\n";
        reactor.stop();
        return nullptr;
      });
  reactor.run();
  return status;
}
