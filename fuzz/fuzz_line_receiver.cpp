// LineReceiver and LineOnlyReceiver: same lines in every split; no line
// longer than MAX_LENGTH or containing the delimiter is delivered; the
// buffer stays bounded.
//
// Input: [MAX_LENGTH-1][delimiter choice][split seed][stream...]. A line
// starting with '!' switches to raw mode for (its second byte % 16) bytes,
// then back to line mode with the rest, exercising mode switches inside
// callbacks.
#include <memory>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "twisted/protocols/line_receiver.hpp"
#include "twisted/testing/string_transport.hpp"

namespace {

const char* const kDelimiters[] = {"\r\n", "\n", "ab!"};

class Recorder : public twisted::basic::LineReceiver {
 public:
  std::vector<std::string> events;  // "L<line>", "R<raw>", "X" (too long)
  void lineReceived(std::string_view line) override {
    fuzz::expect(line.size() <= MAX_LENGTH, "a line longer than MAX_LENGTH was delivered");
    fuzz::expect(line.find(delimiter) == std::string_view::npos, "a line contains the delimiter");
    events.push_back(fuzz::tagged('L', line));
    if (!line.empty() && line[0] == '!') {
      raw_ = line.size() > 1 ? static_cast<unsigned char>(line[1]) % 16 : 0;
      if (raw_ > 0) setRawMode();
    }
  }
  void rawDataReceived(std::string_view data) override {
    std::string_view mine = data.substr(0, raw_);
    raw_ -= mine.size();
    // Raw bytes are recorded one per event, so that how they were grouped
    // (which depends on the split) does not matter.
    for (char c : mine) events.push_back(fuzz::tagged('R', std::string_view(&c, 1)));
    if (raw_ == 0) setLineMode(data.substr(mine.size()));
  }
  void lineLengthExceeded(std::string_view line) override {
    (void)line;
    events.push_back("X");
    transport->loseConnection();
  }

 private:
  std::size_t raw_ = 0;
};

class OnlyRecorder : public twisted::basic::LineOnlyReceiver {
 public:
  std::vector<std::string> events;
  void lineReceived(std::string_view line) override {
    fuzz::expect(line.size() <= MAX_LENGTH, "LineOnlyReceiver: a line over MAX_LENGTH");
    events.push_back(fuzz::tagged('L', line));
  }
  void lineLengthExceeded(std::string_view line) override {
    (void)line;
    events.push_back("X");
    transport->loseConnection();
  }
};

template <class P>
std::vector<std::string> run(std::size_t maxLength, const char* delimiter,
                             const std::vector<std::string_view>& chunks) {
  auto proto = std::make_shared<P>();
  proto->MAX_LENGTH = maxLength;
  proto->delimiter = delimiter;
  proto->makeConnection(std::make_shared<twisted::testing::StringTransport>());
  for (std::string_view chunk : chunks) {
    std::string copy(chunk);  // the view dies after the call, as a socket buffer's would
    proto->dataReceived(copy);
    // Until the connection is closing (after which a real transport reads
    // no more), at most a line and a partial delimiter wait in the buffer.
    fuzz::expect(proto->transport->disconnecting() ||
                     proto->bufferedSize() < maxLength + std::string_view(delimiter).size(),
                 "the line buffer grew past MAX_LENGTH");
  }
  return proto->events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  std::size_t maxLength = 1 + in.byte() % 64;
  const char* delimiter = kDelimiters[in.byte() % 3];
  unsigned seed = in.byte();
  std::string_view stream = in.rest();

  auto whole = run<Recorder>(maxLength, delimiter, {stream});
  fuzz::expectSame(whole, run<Recorder>(maxLength, delimiter, fuzz::bytewise(stream)),
                   "LineReceiver events (byte by byte)");
  fuzz::expectSame(whole, run<Recorder>(maxLength, delimiter, fuzz::chunks(stream, seed)),
                   "LineReceiver events (chunks)");

  auto only = run<OnlyRecorder>(maxLength, delimiter, {stream});
  fuzz::expectSame(only, run<OnlyRecorder>(maxLength, delimiter, fuzz::bytewise(stream)),
                   "LineOnlyReceiver events (byte by byte)");
  fuzz::expectSame(only, run<OnlyRecorder>(maxLength, delimiter, fuzz::chunks(stream, seed)),
                   "LineOnlyReceiver events (chunks)");
  return 0;
}
