// Int8/16/32StringReceiver: same strings in every split; nothing longer
// than MAX_LENGTH is delivered or buffered whole.
//
// Input: [prefix width choice][MAX_LENGTH-1][split seed][stream...].
#include <memory>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "twisted/protocols/int_string_receiver.hpp"
#include "twisted/testing/string_transport.hpp"

namespace {

template <class Base>
class Recorder : public Base {
 public:
  std::vector<std::string> events;  // "S<string>", "X" (length limit exceeded)
  void stringReceived(std::string_view s) override {
    fuzz::expect(s.size() <= this->MAX_LENGTH, "a string longer than MAX_LENGTH was delivered");
    events.push_back(fuzz::tagged('S', s));
  }
  void lengthLimitExceeded(std::uint64_t length) override {
    fuzz::expect(length > this->MAX_LENGTH, "lengthLimitExceeded for an acceptable length");
    if (events.empty() || events.back() != "X") events.push_back("X");
    Base::lengthLimitExceeded(length);
  }
};

template <class Base>
std::vector<std::string> run(std::size_t maxLength, const std::vector<std::string_view>& chunks) {
  auto proto = std::make_shared<Recorder<Base>>();
  proto->MAX_LENGTH = maxLength;
  proto->makeConnection(std::make_shared<twisted::testing::StringTransport>());
  for (std::string_view chunk : chunks) {
    std::string copy(chunk);
    proto->dataReceived(copy);
    fuzz::expect(proto->transport->disconnecting() ||
                     proto->bufferedSize() < maxLength + proto->prefixLength() + 1,
                 "more than one message was buffered");
  }
  return proto->events;
}

template <class Base>
void check(std::size_t maxLength, unsigned seed, std::string_view stream) {
  auto whole = run<Base>(maxLength, {stream});
  fuzz::expectSame(whole, run<Base>(maxLength, fuzz::bytewise(stream)), "strings (byte by byte)");
  fuzz::expectSame(whole, run<Base>(maxLength, fuzz::chunks(stream, seed)), "strings (chunks)");
  // What was delivered re-encodes to a prefix of the stream.
  auto encoder = std::make_shared<Recorder<Base>>();
  auto transport = std::make_shared<twisted::testing::StringTransport>();
  encoder->makeConnection(transport);
  for (const auto& e : whole) {
    if (e[0] == 'S') encoder->sendString(std::string_view(e).substr(1));
  }
  fuzz::expect(stream.substr(0, transport->value().size()) == transport->value(),
               "sendString does not reproduce the received bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  unsigned width = in.byte() % 3;
  std::size_t maxLength = 1 + in.byte() % 255;
  unsigned seed = in.byte();
  std::string_view stream = in.rest();
  if (width == 0) check<twisted::basic::Int8StringReceiver>(maxLength, seed, stream);
  if (width == 1) check<twisted::basic::Int16StringReceiver>(maxLength, seed, stream);
  if (width == 2) check<twisted::basic::Int32StringReceiver>(maxLength, seed, stream);
  return 0;
}
