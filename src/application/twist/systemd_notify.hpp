// systemd's readiness protocol (sd_notify(3)), spoken directly: one datagram
// to the socket named by $NOTIFY_SOCKET, so that `twist` runs under a
// `Type=notify` unit without libsystemd.
#pragma once

#include <string>
#include <string_view>

namespace twisted::application::detail {

/// Sends `state` ("READY=1", "STOPPING=1", newline-separated assignments)
/// to $NOTIFY_SOCKET: a filesystem path, or "@name" for Linux's abstract
/// namespace. Returns "" when sent or when there is no $NOTIFY_SOCKET (not
/// run by systemd), else why it could not be sent.
std::string notifySystemd(std::string_view state);

}  // namespace twisted::application::detail
