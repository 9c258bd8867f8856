// asio's echo server, as its examples write it: async_read_some into a
// per-connection buffer, async_write back, one io_context on one thread.
//   server_asio PORT      (127.0.0.1, backlog 1024; SIGTERM exits 0)
#include <array>
#include <asio.hpp>
#include <cstdio>
#include <memory>

using asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : socket_(std::move(socket)) {}
  void start() {
    socket_.set_option(tcp::no_delay(true));
    read();
  }

 private:
  void read() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(data_), [this, self](std::error_code ec, std::size_t n) {
      if (!ec) write(n);
    });
  }
  void write(std::size_t n) {
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(data_, n),
                      [this, self](std::error_code ec, std::size_t) {
                        if (!ec) read();
                      });
  }
  tcp::socket socket_;
  std::array<char, 65536> data_;
};

void accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](std::error_code ec, tcp::socket socket) {
    if (!ec) std::make_shared<Session>(std::move(socket))->start();
    accept(acceptor);
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  asio::io_context io(1);
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"),
                   static_cast<unsigned short>(std::atoi(argv[1])));
  tcp::acceptor acceptor(io);
  acceptor.open(ep.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(1024);
  asio::signal_set signals(io, SIGTERM);
  signals.async_wait([&](std::error_code, int) { io.stop(); });
  accept(acceptor);
  std::printf("READY\n");
  std::fflush(stdout);
  io.run();
  return 0;
}
