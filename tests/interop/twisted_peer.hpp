// What the interop tests share with their Python peers (twisted_peer.py,
// twisted_datagram_peer.py): the byte pattern both sides generate and
// check, and the peer run as a child process of /usr/bin/python3.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "process_helpers.hpp"

namespace twisted::test {

/// The pattern's period (twisted_peer.py's BLOCK): a prime length.
inline const std::string& block() {
  static const std::string b = [] {
    std::string s(65521, '\0');
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>((i * 7919 + 13) % 256);
    return s;
  }();
  return b;
}

/// Bytes [offset, offset + length) of the endless pattern.
inline std::string pattern(std::size_t offset, std::size_t length) {
  std::string out;
  out.reserve(length);
  while (length > 0) {
    std::size_t start = offset % block().size();
    std::size_t n = std::min(length, block().size() - start);
    out.append(block(), start, n);
    offset += n;
    length -= n;
  }
  return out;
}

/// A Python peer script in a child process; its stdout is a pipe.
class TwistedPeer : public BackgroundProgram {
 public:
  explicit TwistedPeer(std::vector<std::string> args, const char* script = TWISTED_PEER_PATH)
      : BackgroundProgram(withPython(std::move(args), script), true) {}
  /// The next line it prints ("" after 30 s or at EOF).
  std::string line() { return waitForLine("", 30000); }
  /// The port a server peer listens on (its "PORT n" line), or -1.
  int port() {
    std::string l = line();
    return l.starts_with("PORT ") ? std::stoi(l.substr(5)) : -1;
  }
  /// Whether it has exited (reaped: wait() then returns its status at once).
  bool exited() { return exitStatus().has_value(); }
  /// Waits (up to 30 s) for it to exit; its exit status.
  int wait() {
    for (int i = 0; i < 3000; ++i) {
      if (auto status = exitStatus()) return *status;
      ::usleep(10000);
    }
    return -1;
  }

 private:
  static std::vector<std::string> withPython(std::vector<std::string> args, const char* script) {
    args.insert(args.begin(), {"/usr/bin/python3", script});
    return args;
  }
};

}  // namespace twisted::test
