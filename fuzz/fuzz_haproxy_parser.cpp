// V1Parser and V2Parser: the same outcome in every split (the header and
// the bytes after it, the same error, or still waiting), errors only of
// the InvalidProxyHeader family, and the bounds: a v1 header within 107
// bytes, nothing buffered past the longest header, a header that is
// exactly the bytes it took.
//
// Input: [split seed][stream...]; both parsers read the same stream.
#include <memory>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "twisted/protocols/haproxy.hpp"

namespace {

using twisted::haproxy::InvalidProxyHeader;
using twisted::haproxy::IProxyParser;
using twisted::haproxy::V1Parser;
using twisted::haproxy::V2Parser;

// What happened to a stream: "H" + header, source and the rest; "E" +
// the error; or "W" (waiting) + how many bytes are buffered.
template <class P>
std::string run(const std::vector<std::string_view>& chunks) {
  P parser;
  std::optional<twisted::haproxy::ParsedHeader> parsed;
  std::size_t fed = 0;
  for (std::string_view chunk : chunks) {
    if (parsed) {
      parsed->remaining.append(chunk);
      continue;
    }
    std::string copy(chunk);  // the view dies after the call, as a socket buffer's would
    try {
      parsed = parser.feed(copy);
    } catch (const InvalidProxyHeader& e) {
      fuzz::expect(parser.bufferedSize() == 0, "an error left bytes buffered");
      return fuzz::tagged('E', e.what());
    }
    fed += chunk.size();
    if (!parsed) {
      fuzz::expect(parser.bufferedSize() == fed, "waiting, but not holding every byte fed");
      fuzz::expect(parser.bufferedSize() < P::kMaxHeaderSize, "buffered past the longest header");
    }
  }
  if (!parsed) return fuzz::tagged('W', std::to_string(parser.bufferedSize()));
  const auto& info = parsed->info;
  fuzz::expect(info.source.has_value() == info.destination.has_value(),
               "a source without a destination, or the other way");
  fuzz::expect(parser.bufferedSize() == 0, "bytes kept after the header");
  // Built by append (g++ 12 warns falsely, -Wrestrict, on char + string).
  std::string event = fuzz::tagged('H', info.header);
  event.append("|").append(info.source ? toString(*info.source) : "-");
  event.append("|").append(info.destination ? toString(*info.destination) : "-");
  return event.append("|").append(parsed->remaining);
}

// The header and the rest put back together are the stream.
void checkConsumed(const std::string& outcome, std::string_view stream, bool v1) {
  if (outcome.empty() || outcome[0] != 'H') return;
  std::size_t headerEnd = v1 ? stream.find("\r\n") + 2 : 0;
  if (v1) {
    fuzz::expect(headerEnd <= V1Parser::kMaxHeaderSize, "a v1 header longer than 107 bytes");
    fuzz::expect(outcome.starts_with(fuzz::tagged('H', stream.substr(0, headerEnd - 2)) + '|'),
                 "the v1 header is not the line before the first CRLF");
  } else {
    fuzz::expect(stream.size() >= V2Parser::kFixedSize, "a v2 header shorter than 16 bytes");
    headerEnd = V2Parser::kFixedSize + (static_cast<unsigned char>(stream[14]) << 8 |
                                        static_cast<unsigned char>(stream[15]));
    fuzz::expect(outcome.starts_with(fuzz::tagged('H', stream.substr(0, headerEnd)) + '|'),
                 "the v2 header is not the bytes its length gives");
  }
  fuzz::expect(outcome.ends_with(std::string("|").append(stream.substr(headerEnd))),
               "the bytes after the header are not the rest of the stream");
}

template <class P>
void check(std::string_view stream, unsigned seed, bool v1) {
  std::string whole = run<P>({stream});
  fuzz::expectSame(whole, run<P>(fuzz::bytewise(stream)), "outcome (byte by byte)");
  fuzz::expectSame(whole, run<P>(fuzz::chunks(stream, seed)), "outcome (chunks)");
  checkConsumed(whole, stream, v1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  unsigned seed = in.byte();
  std::string_view stream = in.rest();
  check<V1Parser>(stream, seed, true);
  check<V2Parser>(stream, seed, false);
  return 0;
}
