// Every way the tests cut an input into packets: the whole input at once,
// byte by byte, fixed sizes 2..9, and seeded random chunk sizes. A parser
// must give the same result for each (TCP keeps no message boundaries).
#pragma once

#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace twisted::test {

struct Split {
  std::string name;  // for failure messages: "whole", "1-byte", "random seed 3"
  std::vector<std::string_view> chunks;
};

inline std::vector<std::string_view> cutEvery(std::string_view input, std::size_t size) {
  std::vector<std::string_view> chunks;
  for (std::size_t i = 0; i < input.size(); i += size) chunks.push_back(input.substr(i, size));
  return chunks;
}

inline std::vector<Split> allSplits(std::string_view input, unsigned randomRuns = 20) {
  std::vector<Split> splits;
  splits.push_back({"whole", {input}});
  for (std::size_t size = 1; size <= 9; ++size) {
    splits.push_back({std::to_string(size) + "-byte", cutEvery(input, size)});
  }
  for (unsigned seed = 0; seed < randomRuns; ++seed) {
    std::mt19937 random(seed);
    std::uniform_int_distribution<std::size_t> size(1, 64);
    Split split{"random seed " + std::to_string(seed), {}};
    for (std::size_t i = 0; i < input.size();) {
      std::size_t n = std::min(size(random), input.size() - i);
      split.chunks.push_back(input.substr(i, n));
      i += n;
    }
    splits.push_back(std::move(split));
  }
  return splits;
}

}  // namespace twisted::test
