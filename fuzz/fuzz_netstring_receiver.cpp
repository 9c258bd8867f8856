// NetstringReceiver: same strings and the same verdict (and error message)
// in every split; a malformed stream is refused and nothing after it is
// delivered.
//
// Input: [MAX_LENGTH choice][split seed][stream...].
#include <memory>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "twisted/protocols/netstring_receiver.hpp"
#include "twisted/testing/string_transport.hpp"

namespace {

class Recorder : public twisted::basic::NetstringReceiver {
 public:
  std::vector<std::string> events;  // "S<string>", "E<error message>"
  void stringReceived(std::string_view s) override {
    fuzz::expect(s.size() <= MAX_LENGTH, "a netstring longer than MAX_LENGTH was delivered");
    events.push_back(fuzz::tagged('S', s));
  }
  void netstringParseError(const twisted::basic::NetstringParseError& reason) override {
    events.push_back(fuzz::tagged('E', reason.what()));
    transport->loseConnection();
  }
};

std::vector<std::string> run(std::size_t maxLength, const std::vector<std::string_view>& chunks) {
  auto proto = std::make_shared<Recorder>();
  proto->MAX_LENGTH = maxLength;
  proto->makeConnection(std::make_shared<twisted::testing::StringTransport>());
  for (std::string_view chunk : chunks) {
    std::string copy(chunk);
    proto->dataReceived(copy);
    fuzz::expect(proto->bufferedSize() <= maxLength + 24, "more than one netstring was buffered");
  }
  fuzz::expect(proto->brokenPeer == proto->parseError().has_value(), "brokenPeer without an error");
  return proto->events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  static const std::size_t kMax[] = {0, 1, 9, 10, 99, 100, 99999};
  std::size_t maxLength = kMax[in.byte() % 7];
  unsigned seed = in.byte();
  std::string_view stream = in.rest();
  auto whole = run(maxLength, {stream});
  fuzz::expectSame(whole, run(maxLength, fuzz::bytewise(stream)), "netstrings (byte by byte)");
  fuzz::expectSame(whole, run(maxLength, fuzz::chunks(stream, seed)), "netstrings (chunks)");
  return 0;
}
