// Which readiness mechanism a Reactor uses.
#pragma once

#include <string_view>

namespace twisted {

/// Reactor backends. Default means: the TWISTED_REACTOR environment variable
/// ("select", "poll", "epoll" or "iouring") if set, else epoll. IoUring
/// (Linux's io_uring) falls back to epoll, saying why in the log once, where
/// the kernel has no io_uring, refuses it (a seccomp profile,
/// kernel.io_uring_disabled) or lacks an operation it needs; the reactor's
/// backend() then says Epoll.
enum class Backend { Default, Select, Poll, Epoll, IoUring };

/// "select", "poll", "epoll", "iouring" ("default" for Default).
std::string_view backendName(Backend backend);

/// The backend named `name`; throws error::UnknownBackend naming the choices.
Backend backendFromName(std::string_view name);

/// Resolves Default (environment variable, else epoll) to a concrete backend.
Backend resolveBackend(Backend backend);

}  // namespace twisted
