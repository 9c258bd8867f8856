// errnoText: an errno's message, thread-safe (strerror is not), for the
// messages every module of the library words itself.
#pragma once

#include <string>

namespace twisted::detail {

/// strerror(err), thread-safe.
std::string errnoText(int err);

}  // namespace twisted::detail
