// Which readiness mechanism a Reactor uses.
#pragma once

#include <string_view>

namespace twisted {

/// Reactor backends. Default means: the TWISTED_REACTOR environment variable
/// ("select", "poll" or "epoll") if set, else epoll.
enum class Backend { Default, Select, Poll, Epoll };

/// "select", "poll", "epoll" ("default" for Default).
std::string_view backendName(Backend backend);

/// The backend named `name`; throws error::UnknownBackend naming the choices.
Backend backendFromName(std::string_view name);

/// Resolves Default (environment variable, else epoll) to a concrete backend.
Backend resolveBackend(Backend backend);

}  // namespace twisted
