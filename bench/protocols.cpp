// Parsing speed of the framing protocols: 1 MiB of 64-byte messages fed in
// 16 KiB chunks (as a socket would hand them over), per iteration. Beside
// each: a hand-written minimal splitter (the floor: no modes, no limits, no
// re-entry), and in bench/protocols_twisted.py the same work in Twisted.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "twisted/protocols/basic.hpp"

namespace {

constexpr std::size_t kTotal = 1 << 20;
constexpr std::size_t kChunk = 16 << 10;
constexpr std::size_t kMessage = 64;  // on the wire, framing included

std::string lines() {
  std::string out;
  while (out.size() < kTotal) out += std::string(kMessage - 2, 'l') + "\r\n";
  return out;
}

std::string int32Strings() {
  std::string out;
  std::string prefix("\0\0\0\x3c", 4);  // 60
  while (out.size() < kTotal) out += prefix + std::string(kMessage - 4, 's');
  return out;
}

std::string netstrings() {
  std::string out;
  while (out.size() < kTotal) out += "60:" + std::string(kMessage - 4, 'n') + ",";
  return out;
}

template <class P>
void feed(benchmark::State& state, const std::string& wire) {
  std::size_t messages = 0;
  for (auto _ : state) {
    P proto;
    for (std::size_t i = 0; i < wire.size(); i += kChunk) {
      proto.dataReceived(std::string_view(wire).substr(i, kChunk));
    }
    messages += proto.count;
  }
  state.counters["messages"] =
      benchmark::Counter(static_cast<double>(messages), benchmark::Counter::kIsRate);
}

struct Lines : twisted::basic::LineReceiver {
  std::size_t count = 0;
  void lineReceived(std::string_view line) override { count += !line.empty(); }
};
struct Int32 : twisted::basic::Int32StringReceiver {
  std::size_t count = 0;
  void stringReceived(std::string_view s) override { count += !s.empty(); }
};
struct Netstring : twisted::basic::NetstringReceiver {
  std::size_t count = 0;
  void stringReceived(std::string_view s) override { count += !s.empty(); }
};

// The floor: find CRLF, hand over a view, keep the tail.
struct Handwritten {
  std::size_t count = 0;
  std::string tail;
  void dataReceived(std::string_view data) {
    std::string_view rest = data;
    if (!tail.empty()) {
      tail.append(data);
      rest = tail;
    }
    std::size_t at;
    while ((at = rest.find("\r\n")) != std::string_view::npos) {
      count += at > 0;
      rest.remove_prefix(at + 2);
    }
    tail.assign(rest);
  }
};

void LineReceiver64B_twisted(benchmark::State& s) {
  feed<Lines>(s, lines());
}
void LineReceiver64B_handwritten(benchmark::State& s) {
  feed<Handwritten>(s, lines());
}
void Int32String64B_twisted(benchmark::State& s) {
  feed<Int32>(s, int32Strings());
}
void Netstring64B_twisted(benchmark::State& s) {
  feed<Netstring>(s, netstrings());
}

}  // namespace

BENCHMARK(LineReceiver64B_twisted)->Name("LineReceiver64B/twisted")->Unit(benchmark::kMicrosecond);
BENCHMARK(LineReceiver64B_handwritten)
    ->Name("LineReceiver64B/handwritten")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(Int32String64B_twisted)->Name("Int32String64B/twisted")->Unit(benchmark::kMicrosecond);
BENCHMARK(Netstring64B_twisted)->Name("Netstring64B/twisted")->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
