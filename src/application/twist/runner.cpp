// runTwist: the command line (CLI11), logging, the reactor, the plugin's
// service, and the exit status.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <optional>

#include "systemd_notify.hpp"
#include "twisted/application/internet.hpp"
#include "twisted/application/service.hpp"
#include "twisted/application/twist.hpp"
#include "twisted/internet/defer_helpers.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/process_endpoints.hpp"
#include "twisted/internet/reactor_group.hpp"
#include "twisted/logger/logger.hpp"
#include "twisted/logger/observers.hpp"
#include "twisted/logger/publisher.hpp"
#include "twisted/python/systemd.hpp"

namespace twisted::application {

namespace {

constexpr int kExitRuntimeFailure = 1;
constexpr int kExitUsage = 2;

const std::vector<std::string> kReactors{"select", "poll", "epoll", "iouring"};

struct CommonOptions {
  std::string reactor = "epoll";
  std::string logFormat = "text";
  std::string logLevel = "info";
  std::string logFile = "-";
  std::string workers = "1";  // a number >= 1, or "auto"
};

// --workers: a number of reactors (at least 1), or "auto" for one per core
// this process may run on.
std::string checkWorkers(const std::string& value) {
  if (value == "auto") return "";
  std::size_t used = 0;
  int n = 0;
  try {
    n = std::stoi(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || n < 1 || n > 1024) {
    return "--workers: '" + value + "' is not a number of workers (1-1024) or 'auto'";
  }
  return "";
}

int workerCount(const std::string& value) {
  return value == "auto" ? ReactorGroup::availableCores() : std::stoi(value);
}

// The name the program was run as: a program shipping its own plugins is
// not `twist`, and its messages should not say so.
std::string programName(int argc, const char* const* argv) {
  if (argc < 1 || !argv[0] || !*argv[0]) return "twist";
  std::string_view path = argv[0];
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// The options every plugin shares. They are accepted before the plugin's
// name (as Twisted's twist has them) and after it, where users also type
// them; the last one given wins.
// Returns the --reactor option, to tell whether it was given.
CLI::Option* addCommonOptions(CLI::App& app, CommonOptions& common) {
  CLI::Option* reactor =
      app.add_option("--reactor", common.reactor,
                     "the reactor backend (default: $TWISTED_REACTOR, else epoll; iouring "
                     "falls back to epoll where the kernel refuses it, and logs why)")
          ->check(CLI::IsMember(kReactors))
          ->group("Common options");
  app.add_option("--log-format", common.logFormat, "how log events are written")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str()
      ->group("Common options");
  app.add_option("--log-level", common.logLevel, "the least severe level written")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "critical"}))
      ->capture_default_str()
      ->group("Common options");
  app.add_option("--log-file", common.logFile, "where log events go ('-': standard output)")
      ->capture_default_str()
      ->group("Common options");
  app.add_option("--workers", common.workers,
                 "how many reactors serve the plugin, each on a thread of its own with the "
                 "plugin's service made for it ('auto': one per core this process may use); "
                 "their tcp: ports share each address (SO_REUSEPORT)")
      ->check(checkWorkers)
      ->capture_default_str()
      ->group("Common options");
  return reactor;
}

// One plugin's options as CLI11 sees them: each bound to a vector that
// collects every occurrence.
struct PluginCommand {
  std::shared_ptr<ServiceMaker> maker;
  CLI::App* app = nullptr;
  std::vector<PluginOption> specs;
  std::vector<std::vector<std::string>> values;
  std::vector<CLI::Option*> cliOptions;
};

// Sends log events to the chosen file while runTwist runs.
class LogDestination {
 public:
  explicit LogDestination(const CommonOptions& options) : options_(options) {
    if (options.logFile != "-") {
      file_ = std::fopen(options.logFile.c_str(), "a");
      if (!file_) {
        throw UsageError("cannot open the log file " + options.logFile + ": " +
                         std::strerror(errno));
      }
      std::setvbuf(file_, nullptr, _IOLBF, 0);
    }
    logger::beginLoggingTo({});  // drops the default stderr observer
    observe(file_ ? file_ : stdout);
  }
  ~LogDestination() {
    logger::globalLogPublisher().removeObserver(id_);
    if (file_) std::fclose(file_);
  }
  LogDestination(const LogDestination&) = delete;
  LogDestination& operator=(const LogDestination&) = delete;

  /// Standard output is a connection (a stdio: endpoint): log lines written
  /// to it would be bytes to the peer, so they go to standard error.
  void moveOffStdout() {
    if (file_ || onStderr_) return;
    onStderr_ = true;
    logger::globalLogPublisher().removeObserver(id_);
    observe(stderr);
  }

 private:
  void observe(std::FILE* out) {
    auto level = logger::levelForName(options_.logLevel);
    logger::LogObserver observer = options_.logFormat == "json" ? logger::jsonFileLogObserver(out)
                                                                : logger::textFileLogObserver(out);
    id_ = logger::globalLogPublisher().addObserver(
        logger::filteringObserver(std::move(observer), *level));
  }

  const CommonOptions& options_;
  std::FILE* file_ = nullptr;
  bool onStderr_ = false;
  logger::LogPublisher::ObserverId id_ = 0;
};

// The stdio: "ports" among `service`'s (each serves one connection).
void stdioPorts(const std::shared_ptr<Service>& service,
                std::vector<std::shared_ptr<StandardIOPort>>& out) {
  if (auto* multi = dynamic_cast<MultiService*>(service.get())) {
    for (const auto& child : multi->services()) stdioPorts(child, out);
  } else if (auto* endpoint = dynamic_cast<StreamServerEndpointService*>(service.get())) {
    if (auto port = std::dynamic_pointer_cast<StandardIOPort>(endpoint->port())) {
      out.push_back(std::move(port));
    }
  }
}

// Set once by runTwist, for the messages below.
std::string g_program = "twist";

int usageError(const std::string& message) {
  std::cerr << g_program << ": error: " << message << "\n";
  return kExitUsage;
}

PluginOptions collect(const PluginCommand& command) {
  PluginOptions options;
  for (std::size_t i = 0; i < command.specs.size(); ++i) {
    const auto& spec = command.specs[i];
    options.set(spec.name, command.cliOptions[i]->count() > 0 ? command.values[i] : spec.defaults);
  }
  return options;
}

const logger::Logger& twistLog() {
  static const logger::Logger instance("twisted.application.twist");
  return instance;
}

// systemd's notifications; a socket that cannot be reached is logged once
// per message and does not stop the service.
void notify(const std::string& state) {
  std::string problem = detail::notifySystemd(state);
  if (!problem.empty()) {
    twistLog().warn("cannot notify systemd: {problem}", {{"problem", problem}});
  }
}

// A failure to start a service: the message on stderr (`who` names a
// worker, if there are several), and the exit status it means.
int startFailure(const std::string& who) {
  try {
    throw;
  } catch (const error::CannotListenError& e) {
    // An address in use is a runtime condition (1); an address that can
    // never work (not local, out of range, forbidden) is a usage error (2).
    std::cerr << g_program << ": " << who << e.what() << "\n";
    return e.socketError() == EADDRINUSE ? kExitRuntimeFailure : kExitUsage;
  } catch (const UsageError& e) {
    std::cerr << g_program << ": error: " << who << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << g_program << ": " << who << e.what() << "\n";
    return kExitRuntimeFailure;
  }
}

int run(const CommonOptions& common, PluginCommand& command) {
  Reactor reactor(backendFromName(common.reactor));
  std::shared_ptr<Service> service = command.maker->makeService(reactor, collect(command));
  LogDestination logs(common);
  const logger::Logger& log = twistLog();
  // The service starts once the reactor runs (as Twisted's application
  // does), so SIGINT/SIGTERM are handled from the moment a port is open.
  int status = 0;
  bool started = false;
  reactor.callWhenRunning([&] {
    try {
      service->startService();
      started = true;
      // Served on stdio (as inetd runs a service): logs leave stdout, and
      // when that connection (every such one) is over, twist exits (0).
      std::vector<std::shared_ptr<StandardIOPort>> stdio;
      stdioPorts(service, stdio);
      if (!stdio.empty()) {
        logs.moveOffStdout();
        auto left = std::make_shared<std::size_t>(stdio.size());
        for (auto& port : stdio) {
          port->whenDone().addCallback([&reactor, left] {
            if (--*left == 0 && reactor.running()) {
              try {
                reactor.stop();
              } catch (const error::ReactorNotRunning&) {
              }
            }
          });
        }
      }
      log.info("{program} {plugin} running on the {reactor} reactor (pid {pid})",
               {{"program", g_program},
                {"plugin", command.maker->tapname()},
                {"reactor", std::string(backendName(reactor.backend()))},
                {"pid", static_cast<long>(::getpid())}});
      // Every port listens now (endpoints listen within startService), so
      // systemd may start what depends on this service (Type=notify).
      notify("READY=1\nSTATUS=" + command.maker->tapname() + " running");
    } catch (const std::exception&) {
      status = startFailure("");
      reactor.stop();
    }
  });
  reactor.addSystemEventTrigger(Phase::Before, "shutdown", [&service, &started] {
    if (!started) return succeed();
    notify("STOPPING=1");
    return service->stopService();
  });
  reactor.run();
  if (started) log.info("Main loop terminated");
  return status;
}

// `--workers N` (N > 1): a ReactorGroup, the plugin's service made once per
// worker on that worker's reactor, their TCP ports sharing each address.
// Worker 0 (the main thread, which handles SIGINT and SIGTERM) starts its
// service first, so its port numbers are the ones a tcp:0 becomes on the
// others; then it asks each other worker to start its own, on its thread.
int runWorkers(const CommonOptions& common, PluginCommand& command, int workers) {
  ReactorGroup group(workers, backendFromName(common.reactor));
  group.shareTCPPorts();
  PluginOptions options = collect(command);
  std::vector<std::shared_ptr<Service>> services;
  for (int i = 0; i < workers; ++i) {
    services.push_back(command.maker->makeService(group.worker(i), options));
  }
  LogDestination logs(common);
  const logger::Logger& log = twistLog();
  std::atomic<int> status{0};
  std::atomic<int> running{0};
  // Each written and read on its own worker's thread (and read after run).
  std::vector<char> started(static_cast<std::size_t>(workers), 0);
  std::function<void(int)> start = [&](int i) {
    try {
      services[i]->startService();
      started[i] = 1;
      if (i == 0) {
        std::vector<std::shared_ptr<StandardIOPort>> stdio;
        stdioPorts(services[0], stdio);
        if (!stdio.empty()) {
          throw UsageError(
              "a stdio: port serves one connection, on one reactor: it cannot "
              "run with --workers " +
              std::to_string(workers));
        }
        for (int j = 1; j < workers; ++j) {
          group.worker(j).callFromThread([&start, j] { start(j); });
        }
      }
    } catch (const std::exception&) {
      int failed = startFailure(i == 0 ? std::string() : ReactorGroup::workerName(i) + ": ");
      int none = 0;
      status.compare_exchange_strong(none, failed);
      group.stop();
      return;
    }
    if (running.fetch_add(1) + 1 == workers) {
      // Every worker listens now: systemd may start what depends on us.
      log.info(
          "{program} {plugin} running on {workers} workers, each on the {reactor} reactor "
          "(pid {pid})",
          {{"program", g_program},
           {"plugin", command.maker->tapname()},
           {"workers", workers},
           {"reactor", std::string(backendName(group.worker(0).backend()))},
           {"pid", static_cast<long>(::getpid())}});
      notify("READY=1\nSTATUS=" + command.maker->tapname() + " running on " +
             std::to_string(workers) + " workers");
    }
  };
  group.worker(0).callWhenRunning([&start] { start(0); });
  for (int i = 0; i < workers; ++i) {
    group.worker(i).addSystemEventTrigger(Phase::Before, "shutdown", [&services, &started, i] {
      if (!started[i]) return succeed();
      if (i == 0) notify("STOPPING=1");
      return services[i]->stopService();
    });
  }
  group.run();
  if (running.load() > 0) log.info("Main loop terminated");
  return status.load();
}

// The plugin named on the command line, if no plugin has that name (CLI11
// would only say that no plugin was given).
std::optional<std::string> unknownPlugin(
    int argc, const char* const* argv, const std::vector<std::shared_ptr<ServiceMaker>>& plugins) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("-")) {
      bool takesValue = arg == "--reactor" || arg == "--log-format" || arg == "--log-level" ||
                        arg == "--log-file" || arg == "--workers";
      if (takesValue) ++i;
      continue;
    }
    for (const auto& p : plugins) {
      if (p->tapname() == arg) return std::nullopt;
    }
    return std::string(arg);
  }
  return std::nullopt;
}

}  // namespace

int runTwist(int argc, const char* const* argv,
             const std::vector<std::shared_ptr<ServiceMaker>>& plugins) {
  g_program = programName(argc, argv);
  // Socket activation's variables are read (and removed) now, while this
  // is the only thread: see processListenFDs.
  (void)processListenFDs();
  CLI::App app{"Runs a twisted-cpp service (a plugin) until SIGINT or SIGTERM.", g_program};
  app.footer("Run '" + g_program + " PLUGIN --help' for a plugin's options.");
  app.require_subcommand(1);
  app.get_formatter()->label("SUBCOMMAND", "PLUGIN");
  app.set_version_flag("--version", g_program + " (twisted-cpp) " TWISTED_VERSION_STRING);
  CommonOptions common;
  // TWISTED_REACTOR picks the backend, as it does for every Reactor; the
  // option wins over it (so a bad value matters only without --reactor).
  const char* fromEnvironment = std::getenv("TWISTED_REACTOR");
  if (fromEnvironment && *fromEnvironment) common.reactor = fromEnvironment;
  std::vector<CLI::Option*> reactorOptions{addCommonOptions(app, common)};

  std::vector<PluginCommand> commands;
  commands.reserve(plugins.size());
  for (const auto& maker : plugins) {
    PluginCommand& command = commands.emplace_back();
    command.maker = maker;
    command.specs = maker->options();
    command.values.resize(command.specs.size());
    command.app = app.add_subcommand(maker->tapname(), maker->description());
    command.app->group("Plugins");
    command.app->footer("The common options may come before the plugin name or after it.");
    reactorOptions.push_back(addCommonOptions(*command.app, common));
    for (std::size_t i = 0; i < command.specs.size(); ++i) {
      const PluginOption& spec = command.specs[i];
      std::string help = spec.help;
      if (!spec.required()) {
        help += " (default: ";
        for (std::size_t j = 0; j < spec.defaults.size(); ++j) {
          help += (j ? ", " : "") + spec.defaults[j];
        }
        help += ")";
      }
      CLI::Option* option = command.app->add_option("--" + spec.name, command.values[i], help);
      option->type_name(spec.metavar)->expected(1);
      option->multi_option_policy(spec.repeatable ? CLI::MultiOptionPolicy::TakeAll
                                                  : CLI::MultiOptionPolicy::Throw);
      if (spec.required()) option->required();
      command.cliOptions.push_back(option);
    }
  }

  if (auto unknown = unknownPlugin(argc, argv, plugins)) {
    return usageError("unknown plugin '" + *unknown + "'; '" + g_program + " --help' lists them");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::CallForVersion& e) {
    std::cout << e.what() << "\n";
    return 0;
  } catch (const CLI::RequiredError& e) {
    if (app.get_subcommands().empty()) {
      return usageError("no plugin given; '" + g_program + " --help' lists them");
    }
    return usageError(e.what());
  } catch (const CLI::ParseError& e) {
    return usageError(e.what());
  }

  bool reactorGiven = std::any_of(reactorOptions.begin(), reactorOptions.end(),
                                  [](CLI::Option* o) { return o->count() > 0; });
  if (!reactorGiven &&
      std::find(kReactors.begin(), kReactors.end(), common.reactor) == kReactors.end()) {
    return usageError("TWISTED_REACTOR='" + common.reactor +
                      "' is not a reactor (select, poll, epoll, iouring)");
  }

  PluginCommand* chosen = nullptr;
  for (auto& command : commands) {
    if (command.app->parsed()) chosen = &command;
  }
  try {
    int workers = workerCount(common.workers);
    return workers == 1 ? run(common, *chosen) : runWorkers(common, *chosen, workers);
  } catch (const UsageError& e) {
    return usageError(e.what());
  } catch (const error::InvalidEndpointDescription& e) {
    return usageError(e.what());
  } catch (const error::UnknownBackend& e) {
    return usageError(e.what());
  } catch (const std::exception& e) {
    std::cerr << g_program << ": " << e.what() << "\n";
    return kExitRuntimeFailure;
  }
}

}  // namespace twisted::application
