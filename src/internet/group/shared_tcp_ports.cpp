// SharedTCPPorts (shared_tcp_ports.hpp): port 0 resolved once per rank.
#include "shared_tcp_ports.hpp"

namespace twisted::detail {

int SharedTCPPorts::portFor(int worker, int asked, int& rank) {
  std::lock_guard<std::mutex> lock(mutex_);
  rank = next_.at(static_cast<std::size_t>(worker))++;
  if (worker == 0 || asked != 0) return asked;
  auto r = static_cast<std::size_t>(rank);
  return r < first_.size() && first_[r] > 0 ? first_[r] : -1;
}

void SharedTCPPorts::bound(int worker, int rank, int port) {
  if (worker != 0 || rank < 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto r = static_cast<std::size_t>(rank);
  if (first_.size() <= r) first_.resize(r + 1, 0);
  first_[r] = port;
}

}  // namespace twisted::detail
