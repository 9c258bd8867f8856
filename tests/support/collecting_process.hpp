// A ProcessProtocol that keeps what a child writes to stdout and stderr,
// and how it ended: for tests that only look at the result.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "twisted/internet/process.hpp"

namespace twisted::test {

struct CollectingProcess : ProcessProtocol {
  std::string out, err;
  std::optional<Failure> ended;
  void outReceived(std::string_view data) override { out.append(data); }
  void errReceived(std::string_view data) override { err.append(data); }
  void processEnded(const Failure& reason) override { ended = reason; }
};

}  // namespace twisted::test
