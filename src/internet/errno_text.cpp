// errnoText (errno_text.hpp).
#include "errno_text.hpp"

#include <cstring>

namespace twisted::detail {

std::string errnoText(int err) {
  char buf[256];
  return ::strerror_r(err, buf, sizeof buf);  // GNU: the message, maybe not in buf
}

}  // namespace twisted::detail
