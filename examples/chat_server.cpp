// A chat server: every line a client sends goes to every other client,
// prefixed with the sender's address. Each connection is a LineReceiver (the
// bytes, however split, arrive as whole lines). The factory keeps the room;
// each protocol joins in connectionMade and leaves in connectionLost, so the
// room never holds a closed connection.
//
//   chat_server [--listen tcp:8001:interface=127.0.0.1] [--reactor select|poll|epoll]
//   nc 127.0.0.1 8001   (twice)
//
// A line longer than 4096 bytes closes its connection; a client that does
// not read stops being read from itself once its own queue is full (the
// transport's default), and loses messages sent to it only if it is still
// full after 1 MiB (it is then disconnected rather than let the server grow).
#include <iostream>
#include <memory>
#include <set>
#include <string>

#include "twisted/twisted.hpp"

namespace {

using namespace twisted;

constexpr std::size_t kMaxLine = 4096;
constexpr std::size_t kMaxQueued = 1 << 20;

class Chat;

class ChatFactory : public Factory {
 public:
  ChatFactory();
  std::set<Chat*> room;  // every connected Chat; each removes itself when lost
  std::string logPrefix() const override { return "ChatFactory"; }
};

class Chat : public basic::LineReceiver {
 public:
  Chat() {
    delimiter = "\n";
    MAX_LENGTH = kMaxLine;
  }
  void connectionMade() override {
    Address peer = transport->getPeer();
    name_ = std::visit(
        [](const auto& a) -> std::string {
          if constexpr (requires { a.port; }) return a.host + ":" + std::to_string(a.port);
          return "?";
        },
        peer);
    room().insert(this);
    broadcast("* " + name_ + " joined\n");
  }
  void lineReceived(std::string_view line) override {
    broadcast(name_ + "> " + std::string(line) + "\n");
  }
  void lineLengthExceeded(std::string_view) override {
    transport->write("* line too long, goodbye\n");
    transport->loseConnection();
  }
  void connectionLost(const Failure&) override {
    room().erase(this);
    broadcast("* " + name_ + " left\n");
  }
  std::string logPrefix() const override { return "Chat"; }

  void deliver(std::string_view line) {
    if (transport->writeBufferSize() > kMaxQueued) {
      transport->abortConnection();  // a reader this slow would make us grow
      return;
    }
    transport->write(line);
  }

 private:
  std::set<Chat*>& room() { return factoryAs<ChatFactory>().room; }
  void broadcast(const std::string& line) {
    for (Chat* other : room()) {
      if (other != this) other->deliver(line);
    }
  }

  std::string name_;
};

ChatFactory::ChatFactory() : Factory([] { return std::make_shared<Chat>(); }) {}

}  // namespace

int main(int argc, char** argv) {
  std::string description = "tcp:8001:interface=127.0.0.1";
  Backend backend = Backend::Default;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--listen" && i + 1 < argc) {
        description = argv[++i];
      } else if (arg == "--reactor" && i + 1 < argc) {
        backend = backendFromName(argv[++i]);
      } else {
        throw std::invalid_argument(arg);
      }
    }
  } catch (const std::exception&) {
    std::cerr << "usage: chat_server [--listen ENDPOINT] [--reactor select|poll|epoll]\n";
    return 2;
  }
  logger::beginLoggingTo({logger::textFileLogObserver(stdout)});
  const logger::Logger log{"chat_server"};
  Reactor reactor(backend);
  int status = 0;
  try {
    serverFromString(reactor, description)
        ->listen(std::make_shared<ChatFactory>())
        .addCallback([&](std::shared_ptr<IListeningPort> port) {
          log.info("chat on {address}", {{"address", toString(port->getHost())}});
        })
        .addErrback([&](const Failure& f) {
          std::cerr << "chat_server: " << f.getErrorMessage() << "\n";
          status = 1;
        });
  } catch (const error::InvalidEndpointDescription& e) {
    std::cerr << "chat_server: " << e.what() << "\n";
    return 2;
  }
  if (status != 0) return status;
  reactor.run();  // until SIGINT/SIGTERM
  return 0;
}
