// An echo server written directly on the reactor's FD-set API.
//
// This is what Twisted's tcp.Port and tcp.Server do under the hood: a
// listening socket registered as a reader accepts connections, and each
// connection is a descriptor that echoes what it reads. (The Protocol /
// Factory layer on top of this arrives with the TCP module.)
//
//   echo_server [--port N] [--interface ADDR] [--reactor select|poll|epoll]
//   nc 127.0.0.1 8000
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include "twisted/twisted.hpp"

namespace {

using namespace twisted;

const logger::Logger log{"echo_server"};

class EchoConnection final : public IReadWriteDescriptor,
                             public std::enable_shared_from_this<EchoConnection> {
 public:
  EchoConnection(Reactor& reactor, int fd) : reactor_(reactor), fd_(fd) {}
  ~EchoConnection() override {
    if (fd_ >= 0) ::close(fd_);
  }
  int fileno() const override { return fd_; }
  std::string logPrefix() const override { return "EchoConnection"; }

  IOResult doRead() override {
    char buf[16384];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n == 0) return Failure::of(error::ConnectionDone());
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return std::nullopt;
      return Failure::of(error::ConnectionLost(std::strerror(errno)));
    }
    pending_.append(buf, static_cast<std::size_t>(n));
    return flush();
  }

  IOResult doWrite() override { return flush(); }

  void connectionLost(const Failure& reason) override {
    log.info("connection closed: {reason}", {{"reason", reason.getErrorMessage()}});
    ::close(fd_);
    fd_ = -1;
  }

 private:
  // Writes what is pending; while the peer is not reading, stops reading
  // from it too, so a slow reader cannot make this server's memory grow.
  IOResult flush() {
    while (!pending_.empty()) {
      ssize_t n = ::send(fd_, pending_.data(), pending_.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN) break;
        if (errno == EINTR) continue;
        return Failure::of(error::ConnectionLost(std::strerror(errno)));
      }
      pending_.erase(0, static_cast<std::size_t>(n));
    }
    if (pending_.empty()) {
      reactor_.removeWriter(*this);
      reactor_.addReader(shared_from_this());
    } else {
      reactor_.removeReader(*this);
      reactor_.addWriter(shared_from_this());
    }
    return std::nullopt;
  }

  Reactor& reactor_;
  int fd_;
  std::string pending_;
};

class ListeningPort final : public IReadDescriptor {
 public:
  ListeningPort(Reactor& reactor, int fd) : reactor_(reactor), fd_(fd) {}
  ~ListeningPort() override { ::close(fd_); }
  int fileno() const override { return fd_; }
  std::string logPrefix() const override { return "ListeningPort"; }
  void connectionLost(const Failure&) override {}

  IOResult doRead() override {
    for (int i = 0; i < 100; ++i) {  // a bounded batch per wake-up
      int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) break;
      reactor_.addReader(std::make_shared<EchoConnection>(reactor_, fd));
    }
    return std::nullopt;
  }

 private:
  Reactor& reactor_;
  int fd_;
};

int listenOn(const std::string& interface, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, interface.c_str(), &addr.sin_addr) != 1 ||
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 50) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    throw error::CannotListenError(interface + ":" + std::to_string(port) + ": " + why);
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 8000;
  std::string interface = "127.0.0.1";
  Backend backend = Backend::Default;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--port" && i + 1 < argc) {
        port = std::stoi(argv[++i]);
      } else if (arg == "--interface" && i + 1 < argc) {
        interface = argv[++i];
      } else if (arg == "--reactor" && i + 1 < argc) {
        backend = backendFromName(argv[++i]);
      } else {
        std::cerr << "usage: echo_server [--port N] [--interface ADDR] "
                     "[--reactor select|poll|epoll]\n";
        return 2;
      }
    }
    logger::beginLoggingTo({logger::textFileLogObserver(stdout)});
    Reactor reactor(backend);
    reactor.addReader(std::make_shared<ListeningPort>(reactor, listenOn(interface, port)));
    log.info("echo server on {interface}:{port} ({backend} reactor); try: nc {interface} {port}",
             {{"interface", interface},
              {"port", port},
              {"backend", std::string(backendName(reactor.backend()))}});
    reactor.run();  // until SIGINT/SIGTERM
    log.info("stopped cleanly");
    return 0;
  } catch (const error::CannotListenError& e) {
    std::cerr << "echo_server: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "echo_server: " << e.what() << "\n";
    return 2;
  }
}
