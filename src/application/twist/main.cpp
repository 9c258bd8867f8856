// The `twist` program: Twisted's `twist`, with the built-in plugins, and
// TLS in its endpoint strings (--listen ssl:..., --dest tls:...).
#include "twisted/application/twist.hpp"
#include "twisted/tls/endpoints.hpp"

int main(int argc, char** argv) {
  twisted::tls::registerEndpointTypes();
  return twisted::application::runTwist(argc, argv);
}
