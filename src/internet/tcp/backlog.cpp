// systemMaxBacklog: net.core.somaxconn, as Go's net package reads it.
#include "twisted/internet/backlog.hpp"

#include <sys/socket.h>

#include <climits>
#include <fstream>

namespace twisted {

namespace {
int readSomaxconn() {
  std::ifstream in("/proc/sys/net/core/somaxconn");
  long value = 0;
  // The kernel caps a larger backlog to somaxconn (and stores it in 32 bits).
  if (in >> value && value > 0) return value > INT_MAX ? INT_MAX : static_cast<int>(value);
  return SOMAXCONN;
}
}  // namespace

int systemMaxBacklog() {
  static const int value = readSomaxconn();
  return value;
}

}  // namespace twisted
