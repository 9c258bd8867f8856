#include "reserved_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <mutex>

namespace twisted::detail {

namespace {
std::mutex reserveMutex;
int reserveFd = -1;
int reserveUsers = 0;
}  // namespace

void ReservedFd::addUser() {
  std::lock_guard lock(reserveMutex);
  if (reserveUsers++ == 0 && reserveFd < 0) reserveFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void ReservedFd::removeUser() {
  std::lock_guard lock(reserveMutex);
  if (--reserveUsers == 0 && reserveFd >= 0) {
    ::close(reserveFd);
    reserveFd = -1;
  }
}

bool ReservedFd::release() {
  std::lock_guard lock(reserveMutex);
  if (reserveFd < 0) return false;
  ::close(reserveFd);
  reserveFd = -1;
  return true;
}

void ReservedFd::restore() {
  std::lock_guard lock(reserveMutex);
  if (reserveFd < 0 && reserveUsers > 0) reserveFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int ReservedFd::descriptor() {
  std::lock_guard lock(reserveMutex);
  return reserveFd;
}

}  // namespace twisted::detail
