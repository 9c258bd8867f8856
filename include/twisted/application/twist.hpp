// The `twist` command, as Twisted's twisted.application.twist: runs one
// plugin's service on a reactor until SIGINT or SIGTERM.
//
//   twist [--reactor R] [--log-format text|json] [--log-level L]
//         [--log-file PATH] PLUGIN [plugin options]
//   twist echo --listen tcp:8000 --listen tcp6:8000
//
// A program can ship its own plugins next to the built-in ones:
//
//   int main(int argc, char** argv) {
//     auto plugins = twisted::application::builtinPlugins();
//     plugins.push_back(std::make_shared<MyServiceMaker>());
//     return twisted::application::runTwist(argc, argv, plugins);
//   }
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "twisted/application/service.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"

namespace twisted::application {

/// A bad command line or option value; `twist` prints it on one line and
/// exits with status 2.
TWISTED_DEFINE_ERROR(UsageError, error::Error, "Bad usage");

/// One option of a plugin: `--name METAVAR`.
struct PluginOption {
  /// The option's name without the dashes: "listen" for `--listen`.
  std::string name;
  /// What the value is, in the help: "ENDPOINT".
  std::string metavar;
  /// One line for the plugin's `--help`.
  std::string help;
  /// Used when the option is not given (none: the option is required).
  std::vector<std::string> defaults;
  /// May be given more than once (each value is kept, in order).
  bool repeatable = false;
  /// True when the option has no default and must be given.
  bool required() const { return defaults.empty(); }
};

/// The option values a plugin receives: what was given, or the defaults.
class PluginOptions {
 public:
  /// Every value of `name`, in order.
  /// @throws std::out_of_range for a name the plugin did not declare.
  const std::vector<std::string>& all(std::string_view name) const;
  /// The (last) value of `name`.
  const std::string& get(std::string_view name) const;
  /// Records the values of `name` (runTwist does, from the command line).
  void set(std::string name, std::vector<std::string> values);

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

/// Twisted's IServiceMaker: one `twist` plugin.
class ServiceMaker {
 public:
  virtual ~ServiceMaker() = default;
  /// The plugin's name on the command line ("echo").
  virtual std::string tapname() const = 0;
  /// One line for `twist --help`.
  virtual std::string description() const = 0;
  /// The plugin's options, as `twist PLUGIN --help` lists them.
  virtual std::vector<PluginOption> options() const = 0;
  /// Builds the service (not started yet), on `reactor`: what endpoints need
  /// of a reactor (TCP, its clock, its name resolver), not the concrete
  /// Reactor, so that any reactor implementation can run a plugin.
  /// @throws UsageError or error::InvalidEndpointDescription for bad values.
  virtual std::shared_ptr<Service> makeService(EndpointReactor reactor,
                                               const PluginOptions& options) = 0;
};

/// echo, discard, chargen, daytime, qotd and portforward.
std::vector<std::shared_ptr<ServiceMaker>> builtinPlugins();

/// `twist`'s main. Returns the exit status: 0 after a clean shutdown
/// (SIGINT/SIGTERM: ports stop listening, connections get connectionLost),
/// 1 if the service cannot start because an address is already in use
/// (or another runtime failure), 2 for a bad command line or an endpoint
/// that cannot be used. Help goes to stdout, errors to stderr on one line.
int runTwist(int argc, const char* const* argv,
             const std::vector<std::shared_ptr<ServiceMaker>>& plugins = builtinPlugins());

}  // namespace twisted::application
