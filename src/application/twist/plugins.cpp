// The plugins that come with `twist`: the standard services of
// twisted.protocols.wire and the port forwarder, each listening on one or
// more server endpoints.
#include <functional>

#include "twisted/application/internet.hpp"
#include "twisted/application/twist.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/protocols/portforward.hpp"
#include "twisted/protocols/wire.hpp"

namespace twisted::application {

namespace {

PluginOption listenOption() {
  return {"listen",
          "ENDPOINT",
          "where to listen, as a server endpoint string (tcp:PORT[:interface=ADDR], "
          "tcp6:PORT, unix:PATH[:mode=660], haproxy:ENDPOINT behind the PROXY protocol, "
          "ssl:PORT:privateKey=KEY.pem[:certKey=CERT.pem] for TLS where the program "
          "registers it, as twist does); repeatable",
          {"tcp:8000"},
          true};
}

// A plugin serving one factory on every --listen endpoint.
class ServerPlugin : public ServiceMaker {
 public:
  using MakeFactory =
      std::function<std::shared_ptr<Factory>(EndpointReactor, const PluginOptions&)>;

  ServerPlugin(std::string name, std::string description, MakeFactory makeFactory,
               std::vector<PluginOption> extra = {})
      : name_(std::move(name)),
        description_(std::move(description)),
        makeFactory_(std::move(makeFactory)),
        extra_(std::move(extra)) {}

  std::string tapname() const override { return name_; }
  std::string description() const override { return description_; }
  std::vector<PluginOption> options() const override {
    std::vector<PluginOption> all{listenOption()};
    all.insert(all.end(), extra_.begin(), extra_.end());
    return all;
  }

  std::shared_ptr<Service> makeService(EndpointReactor reactor,
                                       const PluginOptions& options) override {
    auto factory = makeFactory_(reactor, options);
    auto top = std::make_shared<MultiService>();
    top->name = name_;
    for (const auto& description : options.all("listen")) {
      top->addService(strports::service(reactor.tcp, description, factory));
    }
    return top;
  }

 private:
  std::string name_;
  std::string description_;
  MakeFactory makeFactory_;
  std::vector<PluginOption> extra_;
};

template <class P>
ServerPlugin::MakeFactory simple() {
  return [](EndpointReactor, const PluginOptions&) { return Factory::forProtocol<P>(); };
}

}  // namespace

std::vector<std::shared_ptr<ServiceMaker>> builtinPlugins() {
  std::vector<std::shared_ptr<ServiceMaker>> plugins;
  plugins.push_back(std::make_shared<ServerPlugin>("echo", "Sends back what it receives (RFC 862).",
                                                   simple<wire::Echo>()));
  plugins.push_back(std::make_shared<ServerPlugin>(
      "discard", "Reads and discards what it receives (RFC 863).", simple<wire::Discard>()));
  plugins.push_back(std::make_shared<ServerPlugin>(
      "chargen", "Sends a rotating character pattern until closed (RFC 864).",
      simple<wire::Chargen>()));
  plugins.push_back(std::make_shared<ServerPlugin>(
      "daytime", "Sends the date and time, then closes (RFC 867).", simple<wire::Daytime>()));
  plugins.push_back(std::make_shared<ServerPlugin>(
      "qotd", "Sends a quote of the day, then closes (RFC 865).",
      [](EndpointReactor, const PluginOptions& options) {
        return Factory::forProtocol<wire::QOTD>(options.get("quote"));
      },
      std::vector<PluginOption>{{"quote",
                                 "TEXT",
                                 "the quote to send",
                                 {"An apple a day keeps the doctor away."},
                                 false}}));
  plugins.push_back(std::make_shared<ServerPlugin>(
      "portforward", "Forwards each connection to a destination, both ways, with back-pressure.",
      [](EndpointReactor reactor, const PluginOptions& options) -> std::shared_ptr<Factory> {
        return std::make_shared<portforward::ProxyFactory>(
            clientFromString(reactor, options.get("dest")));
      },
      std::vector<PluginOption>{{"dest",
                                 "CLIENT_ENDPOINT",
                                 "where to forward to, as a client endpoint string (tcp:HOST:PORT, "
                                 "tcp:host=H:port=P[:timeout=S], hostname:..., unix:path=PATH, "
                                 "tls:HOST:PORT[:trustRoots=DIR] for TLS, verified)",
                                 {},
                                 false}}));
  return plugins;
}

}  // namespace twisted::application
