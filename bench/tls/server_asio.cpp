// asio's TLS echo server, as its ssl examples write it: an ssl::context, an
// ssl::stream<tcp::socket> per connection, async_handshake then
// async_read_some / async_write, one io_context on one thread.
//   server_asio PORT CERT_PEM KEY_PEM [--no-tickets]
// (127.0.0.1, backlog 1024; TLS 1.2 minimum; SIGTERM exits 0). Session
// handling is OpenSSL's default (TLS 1.3 tickets, server cache) unless
// --no-tickets, which makes every handshake a full one.
#include <array>
#include <asio.hpp>
#include <asio/ssl.hpp>
#include <cstdio>
#include <cstring>
#include <memory>

using asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, asio::ssl::context& context) : stream_(std::move(socket), context) {}
  void start() {
    stream_.lowest_layer().set_option(tcp::no_delay(true));
    auto self = shared_from_this();
    stream_.async_handshake(asio::ssl::stream_base::server, [this, self](std::error_code ec) {
      if (!ec) read();
    });
  }

 private:
  void read() {
    auto self = shared_from_this();
    stream_.async_read_some(asio::buffer(data_), [this, self](std::error_code ec, std::size_t n) {
      if (!ec) {
        write(n);
      } else if (ec == asio::error::eof) {
        // The peer's close_notify: send ours back. Having had theirs,
        // SSL_shutdown completes as soon as ours is written, so this does
        // not wait on the peer; a failed write just ends the session.
        stream_.async_shutdown([self](std::error_code) {});
      }
      // Anything else (stream_truncated, reset, a bad record): the session
      // is dropped with its last handler, which closes the socket.
    });
  }
  void write(std::size_t n) {
    auto self = shared_from_this();
    asio::async_write(stream_, asio::buffer(data_, n),
                      [this, self](std::error_code ec, std::size_t) {
                        if (!ec) read();
                      });
  }
  asio::ssl::stream<tcp::socket> stream_;
  std::array<char, 65536> data_;
};

void accept(tcp::acceptor& acceptor, asio::ssl::context& context) {
  acceptor.async_accept([&acceptor, &context](std::error_code ec, tcp::socket socket) {
    if (!ec) std::make_shared<Session>(std::move(socket), context)->start();
    accept(acceptor, context);
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5 || (argc == 5 && std::strcmp(argv[4], "--no-tickets") != 0)) {
    std::fprintf(stderr, "usage: server_asio PORT CERT_PEM KEY_PEM [--no-tickets]\n");
    return 2;
  }
  // Declared before the io_context: sessions still queued at exit are
  // destroyed with it, and their streams were made from this context.
  asio::ssl::context context(asio::ssl::context::tls_server);
  context.set_options(asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  context.use_certificate_chain_file(argv[2]);
  context.use_private_key_file(argv[3], asio::ssl::context::pem);
  if (argc == 5) {
    // asio has no words for these; the native handle is its documented way out.
    SSL_CTX* ctx = context.native_handle();
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);               // no stateless tickets
    SSL_CTX_set_num_tickets(ctx, 0);                          // no TLS 1.3 tickets at all
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);  // nor session-ID resumption
  }
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
  accept(acceptor, context);
  std::printf("READY\n");
  std::fflush(stdout);
  io.run();
  return 0;
}
