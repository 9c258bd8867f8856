// The listen backlog: how many connections the kernel completes and queues
// for a listening socket before the program accepts them.
#pragma once

namespace twisted {

/// The backlog that asks for the system's maximum (systemMaxBacklog()):
/// the default of server endpoints and of `twist`. listenTCP takes it too;
/// its own default stays Twisted's 50.
inline constexpr int kSystemMaxBacklog = -1;

/// The largest backlog the kernel grants (`net.core.somaxconn`, read once;
/// SOMAXCONN where /proc cannot be read). A burst of clients beyond the
/// backlog waits in SYN retransmission for a second or more, so servers that
/// may see bursts (every endpoint by default) listen with this, as Go's
/// net package and most servers do.
int systemMaxBacklog();

}  // namespace twisted
