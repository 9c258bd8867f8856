// Host name resolution without blocking the loop (Twisted's
// IHostnameResolver, reduced to one call).
//
// The reactor's resolver (Reactor::nameResolver) is a ThreadedResolver
// unless the user installs another with Reactor::installNameResolver, for
// instance a fixed table in tests or a DNS client later.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "twisted/internet/address.hpp"
#include "twisted/internet/deferred.hpp"
#include "twisted/internet/interfaces.hpp"

namespace twisted {

/// Which address families a lookup may return.
enum class AddressFamily { Any, IPv4, IPv6 };

/// Turns host names into addresses without blocking (Twisted's IHostnameResolver).
class IHostnameResolver {
 public:
  virtual ~IHostnameResolver() = default;
  /// The addresses of `host` (a name or a literal) with `port`, in the order
  /// the system prefers them. Fails with error::DNSLookupError (naming the
  /// host and the reason) when there are none. Cancelling the Deferred
  /// abandons the lookup (its result is dropped).
  virtual Deferred<std::vector<Address>> resolveHostName(
      const std::string& host, int port, AddressFamily family = AddressFamily::Any) = 0;
};

/// Twisted's IReactorPluggableNameResolver: the resolver a reactor's name
/// lookups use (connectTCP, HostnameEndpoint), and a way to replace it.
class IReactorPluggableNameResolver {
 public:
  virtual ~IReactorPluggableNameResolver() = default;
  /// Returns the resolver in use (a reactor starts with a ThreadedResolver).
  virtual IHostnameResolver& nameResolver() = 0;
  /// Makes `resolver` the one nameResolver() returns for later lookups.
  virtual void installNameResolver(std::shared_ptr<IHostnameResolver> resolver) = 0;
};

/// getaddrinfo(3) in the reactor's thread pool.
class ThreadedResolver final : public IHostnameResolver {
 public:
  /// Runs its lookups with `reactor`'s callInThread; results arrive on its thread.
  explicit ThreadedResolver(IReactorThreads& reactor) : reactor_(reactor) {}
  Deferred<std::vector<Address>> resolveHostName(
      const std::string& host, int port, AddressFamily family = AddressFamily::Any) override;

 private:
  IReactorThreads& reactor_;
};

}  // namespace twisted
