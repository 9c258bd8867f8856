// Shared by the fuzz targets: reading parameters from the fuzzer's bytes,
// cutting a stream into packets, and failing loudly.
//
// Each target checks the property the issue asks of every parser: the same
// input gives the same result whether it arrives whole, byte by byte, or in
// chunks whose sizes the fuzzer chooses. Sanitizers (ASan, UBSan) catch the
// rest: reads out of bounds, views kept past their call.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace fuzz {

/// Takes parameters from the front of the input; the rest is the stream.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size)
      : bytes_(reinterpret_cast<const char*>(data), size) {}
  /// The next byte (0 once exhausted).
  unsigned byte() {
    if (bytes_.empty()) return 0;
    auto b = static_cast<unsigned char>(bytes_.front());
    bytes_.remove_prefix(1);
    return b;
  }
  std::string_view rest() const { return bytes_; }

 private:
  std::string_view bytes_;
};

/// `stream` cut into chunks of 1..16 bytes, the sizes drawn from `seed`.
inline std::vector<std::string_view> chunks(std::string_view stream, unsigned seed) {
  std::vector<std::string_view> out;
  std::uint32_t state = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < stream.size();) {
    state = state * 1103515245u + 12345u;
    std::size_t n = std::min<std::size_t>(1 + (state >> 16) % 16, stream.size() - i);
    out.push_back(stream.substr(i, n));
    i += n;
  }
  return out;
}

/// `stream` one byte at a time.
inline std::vector<std::string_view> bytewise(std::string_view stream) {
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < stream.size(); ++i) out.push_back(stream.substr(i, 1));
  return out;
}

/// Aborts (the fuzzer reports the input) if two results differ.
template <class T>
void expectSame(const T& a, const T& b, const char* what) {
  if (!(a == b)) {
    std::fprintf(stderr, "fuzz: %s differs between two splits of the same input\n", what);
    std::abort();
  }
}

/// `tag` followed by `text` (an event a target records). Built by append:
/// g++ 12 warns falsely (-Wrestrict) on "L" + std::string(view).
inline std::string tagged(char tag, std::string_view text) {
  std::string event(1, tag);
  event.append(text);
  return event;
}

inline void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace fuzz
