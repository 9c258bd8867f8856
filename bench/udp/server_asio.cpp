// asio's UDP echo server, as its example (async_udp_echo_server) writes
// it: async_receive_from into one buffer, async_send_to back to the
// sender, then receive again; one io_context on one thread.
//   server_asio PORT      (127.0.0.1; SIGTERM exits 0)
#include <array>
#include <asio.hpp>
#include <cstdio>
#include <cstdlib>

using asio::ip::udp;

namespace {

class Server {
 public:
  Server(asio::io_context& io, unsigned short port)
      : socket_(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), port)) {
    receive();
  }

 private:
  void receive() {
    socket_.async_receive_from(asio::buffer(data_), sender_,
                               [this](std::error_code ec, std::size_t n) {
                                 if (!ec) {
                                   send(n);
                                 } else {
                                   receive();
                                 }
                               });
  }
  void send(std::size_t n) {
    socket_.async_send_to(asio::buffer(data_, n), sender_,
                          [this](std::error_code, std::size_t) { receive(); });
  }
  udp::socket socket_;
  udp::endpoint sender_;
  std::array<char, 8192> data_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  asio::io_context io(1);
  Server server(io, static_cast<unsigned short>(std::atoi(argv[1])));
  asio::signal_set signals(io, SIGTERM);
  signals.async_wait([&](std::error_code, int) { io.stop(); });
  std::printf("READY\n");
  std::fflush(stdout);
  io.run();
  return 0;
}
