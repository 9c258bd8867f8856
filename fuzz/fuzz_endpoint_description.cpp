// parseEndpointDescription (the grammar of serverFromString and
// clientFromString): never crashes, fails only with
// InvalidEndpointDescription, and what it parses, quoted again, parses the
// same.
#include <string>

#include "fuzz_support.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  twisted::EndpointDescription parsed;
  try {
    parsed = twisted::parseEndpointDescription(text);
  } catch (const twisted::error::InvalidEndpointDescription&) {
    return 0;
  }
  fuzz::expect(!parsed.args.empty(), "parsed a description without its type");
  std::string again;
  for (const auto& arg : parsed.args) {
    if (!again.empty()) again += ':';
    again += twisted::quoteEndpointValue(arg);
  }
  for (const auto& [key, value] : parsed.kwargs) {
    again += ':' + twisted::quoteEndpointValue(key) + '=' + twisted::quoteEndpointValue(value);
  }
  auto reparsed = twisted::parseEndpointDescription(again);
  fuzz::expectSame(parsed.args, reparsed.args, "positional values after quoting");
  fuzz::expectSame(parsed.kwargs, reparsed.kwargs, "keyword values after quoting");
  return 0;
}
