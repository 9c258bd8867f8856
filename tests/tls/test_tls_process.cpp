// TLS over a child's pipes and over standard I/O, on every backend: our
// client, wrapped around a ProcessEndpoint, speaks to a child that serves
// TLS on its own stdin and stdout (tests/tls/tls_stdio_child.cpp:
// StandardIO under a TLSMemoryBIOProtocol). Neither side has a socket.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "../internet/tcp_helpers.hpp"
#include "iterate_until.hpp"
#include "pem_files.hpp"
#include "reactor_test.hpp"
#include "tls_helpers.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/process_endpoints.hpp"
#include "twisted/tls/endpoints.hpp"

namespace twisted::test {
namespace {

class TLSOverProcessTest : public ReactorTest {};

TEST_P(TLSOverProcessTest, AChildServesTLSOnItsStandardIOToAClientOnItsPipes) {
  TestCertificateFiles files;
  std::string payload(256 * 1024 + 5, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 13 + i / 97);
  auto client = std::make_shared<RecordingFactory>();
  client->setup = [&](ScriptedProtocol& p) {
    p.onMade = [&](ScriptedProtocol& self) { self.transport->write(payload); };
    p.onData = [&](ScriptedProtocol& self, std::string_view) {
      if (self.data.size() == payload.size()) self.transport->loseConnection();
    };
  };
  auto child = std::make_shared<ProcessEndpoint>(
      *reactor, TLS_STDIO_CHILD_PATH,
      std::vector<std::string>{"tls_stdio_child", files("key.pem"), files("cert.pem")});
  std::shared_ptr<Protocol> connected;
  std::optional<Failure> failed;
  tls::wrapClientTLS(clientOptions("localhost"), child)
      ->connect(client)
      .addCallbacks([&](std::shared_ptr<Protocol> p) { connected = p; },
                    [&](const Failure& f) { failed = f; });
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !client->protocols.empty() && client->protocols[0]->closed; },
      "the TLS connection over the child's pipes to end"));
  ASSERT_FALSE(failed) << failed->getErrorMessage();
  ASSERT_TRUE(connected);
  auto& p = *client->protocols[0];
  EXPECT_EQ(p.data.size(), payload.size());
  EXPECT_TRUE(p.data == payload);
  EXPECT_TRUE(p.closedReason->check<error::ConnectionDone>()) << p.closedReason->getErrorMessage();
  auto* tls = dynamic_cast<tls::ISSLTransport*>(p.transport.get());
  ASSERT_TRUE(tls);
  ASSERT_TRUE(tls->getPeerCertificate());
  EXPECT_EQ(*tls->getPeerCertificate(), localhostCertificate().certificate());
}

TWISTED_ALL_BACKENDS(TLSOverProcessTest);

}  // namespace
}  // namespace twisted::test
