// Built outside the tree against an installed twisted-cpp, with its tls
// component: a verified TLS round trip over 127.0.0.1.
#include <twisted/testing/tls.hpp>
#include <twisted/tls/options.hpp>
#include <twisted/tls/reactor_ssl.hpp>
#include <twisted/twisted.hpp>

#include <iostream>
#include <variant>

namespace {

class Echo : public twisted::Protocol {
 public:
  void dataReceived(std::string_view data) override { transport->write(data); }
};

class Ping : public twisted::Protocol {
 public:
  explicit Ping(twisted::Reactor& reactor, std::string& got) : reactor_(reactor), got_(got) {}
  void connectionMade() override { transport->write("ping"); }
  void dataReceived(std::string_view data) override {
    got_ += data;
    if (got_.size() >= 4) transport->loseConnection();
  }
  void connectionLost(const twisted::Failure&) override { reactor_.stop(); }

 private:
  twisted::Reactor& reactor_;
  std::string& got_;
};

}  // namespace

int main() {
  twisted::Reactor reactor;
  twisted::testing::CertificateAuthority ca;
  auto server = std::make_shared<twisted::tls::CertificateOptions>(ca.issue("localhost"));
  auto port = twisted::tls::listenSSL(reactor, 0, twisted::Factory::forProtocol<Echo>(), server, 50,
                                      "127.0.0.1");
  int number = std::get<twisted::IPv4Address>(port->getHost()).port;
  std::string got;
  twisted::tls::connectSSL(
      reactor, "127.0.0.1", number,
      twisted::ClientFactory::forProtocol<Ping>(std::ref(reactor), std::ref(got)),
      twisted::tls::optionsForClientTLS("localhost", ca.trustRoot()));
  reactor.callLater(30, [&] { reactor.stop(); });  // bounded, whatever happens
  reactor.run(false);
  std::cout << "consumer_tls got '" << got << "' over TLS\n";
  return got == "ping" ? 0 : 1;
}
