// The `twist` program as the end-to-end tests run it: in the background,
// its first port discovered from its log, once per reactor backend.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "process_helpers.hpp"

namespace twisted::test {

inline const std::string kTwist = TWIST_PATH;

/// A twist running in the background, its first port discovered from its log.
struct Twist {
  explicit Twist(std::vector<std::string> args) : program(withPath(std::move(args)), true) {
    line = program.waitForLine("starting on");
    port = portFromLine(line);
  }
  static std::vector<std::string> withPath(std::vector<std::string> args) {
    args.insert(args.begin(), kTwist);
    return args;
  }
  BackgroundProgram program;
  std::string line;
  int port = -1;
};

/// Each test that opens a socket runs once per backend.
class TwistOnBackend : public ::testing::TestWithParam<std::string> {
 protected:
  /// `args` after `twist --reactor <backend>`.
  std::vector<std::string> on(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--reactor", GetParam()});
    return args;
  }
};

}  // namespace twisted::test
