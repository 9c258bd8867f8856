// runTwist: the command line (CLI11), logging, the reactor, the plugin's
// service, and the exit status.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>

#include "twisted/application/twist.hpp"
#include "twisted/internet/defer_helpers.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/logger/logger.hpp"
#include "twisted/logger/observers.hpp"
#include "twisted/logger/publisher.hpp"

namespace twisted::application {

namespace {

constexpr int kExitRuntimeFailure = 1;
constexpr int kExitUsage = 2;

struct CommonOptions {
  std::string reactor = "epoll";
  std::string logFormat = "text";
  std::string logLevel = "info";
  std::string logFile = "-";
};

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
  explicit LogDestination(const CommonOptions& options) {
    if (options.logFile != "-") {
      file_ = std::fopen(options.logFile.c_str(), "a");
      if (!file_) {
        throw UsageError("cannot open the log file " + options.logFile + ": " +
                         std::strerror(errno));
      }
      std::setvbuf(file_, nullptr, _IOLBF, 0);
    }
    std::FILE* out = file_ ? file_ : stdout;
    auto level = logger::levelForName(options.logLevel);
    logger::LogObserver observer = options.logFormat == "json" ? logger::jsonFileLogObserver(out)
                                                               : logger::textFileLogObserver(out);
    logger::beginLoggingTo({});  // drops the default stderr observer
    id_ = logger::globalLogPublisher().addObserver(
        logger::filteringObserver(std::move(observer), *level));
  }
  ~LogDestination() {
    logger::globalLogPublisher().removeObserver(id_);
    if (file_) std::fclose(file_);
  }
  LogDestination(const LogDestination&) = delete;
  LogDestination& operator=(const LogDestination&) = delete;

 private:
  std::FILE* file_ = nullptr;
  logger::LogPublisher::ObserverId id_ = 0;
};

int usageError(const std::string& message) {
  std::cerr << "twist: error: " << message << "\n";
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

int run(const CommonOptions& common, PluginCommand& command) {
  Reactor reactor(backendFromName(common.reactor));
  std::shared_ptr<Service> service = command.maker->makeService(reactor, collect(command));
  LogDestination logs(common);
  const logger::Logger log("twisted.application.twist");
  // The service starts once the reactor runs (as Twisted's application
  // does), so SIGINT/SIGTERM are handled from the moment a port is open.
  int status = 0;
  bool started = false;
  reactor.callWhenRunning([&] {
    try {
      service->startService();
      started = true;
      log.info("twist {plugin} running on the {reactor} reactor (pid {pid})",
               {{"plugin", command.maker->tapname()},
                {"reactor", std::string(backendName(reactor.backend()))},
                {"pid", static_cast<long>(::getpid())}});
    } catch (const error::CannotListenError& e) {
      // An address in use is a runtime condition (1); an address that can
      // never work (not local, out of range, forbidden) is a usage error (2).
      std::cerr << "twist: " << e.what() << "\n";
      status = e.socketError() == EADDRINUSE ? kExitRuntimeFailure : kExitUsage;
      reactor.stop();
    } catch (const std::exception& e) {
      std::cerr << "twist: " << e.what() << "\n";
      status = kExitRuntimeFailure;
      reactor.stop();
    }
  });
  reactor.addSystemEventTrigger(Phase::Before, "shutdown", [&service, &started] {
    return started ? service->stopService() : succeed();
  });
  reactor.run();
  if (started) log.info("Main loop terminated");
  return status;
}

// The plugin named on the command line, if no plugin has that name (CLI11
// would only say that no plugin was given).
std::optional<std::string> unknownPlugin(
    int argc, const char* const* argv, const std::vector<std::shared_ptr<ServiceMaker>>& plugins) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("-")) {
      bool takesValue = arg == "--reactor" || arg == "--log-format" || arg == "--log-level" ||
                        arg == "--log-file";
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
  CLI::App app{"Runs a twisted-cpp service (a plugin) until SIGINT or SIGTERM.", "twist"};
  app.footer("Run 'twist PLUGIN --help' for a plugin's options.");
  app.require_subcommand(1);
  app.get_formatter()->label("Subcommands", "Plugins");
  app.get_formatter()->label("SUBCOMMAND", "PLUGIN");
  CommonOptions common;
  app.add_option("--reactor", common.reactor, "the reactor backend")
      ->check(CLI::IsMember({"select", "poll", "epoll"}))
      ->capture_default_str();
  app.add_option("--log-format", common.logFormat, "how log events are written")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", common.logLevel, "the least severe level written")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "critical"}))
      ->capture_default_str();
  app.add_option("--log-file", common.logFile, "where log events go ('-': standard output)")
      ->capture_default_str();

  std::vector<PluginCommand> commands;
  commands.reserve(plugins.size());
  for (const auto& maker : plugins) {
    PluginCommand& command = commands.emplace_back();
    command.maker = maker;
    command.specs = maker->options();
    command.values.resize(command.specs.size());
    command.app = app.add_subcommand(maker->tapname(), maker->description());
    command.app->footer("Common options (--reactor, --log-format, ...) go before the plugin name.");
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
    return usageError("unknown plugin '" + *unknown + "'; 'twist --help' lists them");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::RequiredError& e) {
    if (app.get_subcommands().empty()) {
      return usageError("no plugin given; 'twist --help' lists them");
    }
    return usageError(e.what());
  } catch (const CLI::ParseError& e) {
    return usageError(e.what());
  }

  PluginCommand* chosen = nullptr;
  for (auto& command : commands) {
    if (command.app->parsed()) chosen = &command;
  }
  try {
    return run(common, *chosen);
  } catch (const UsageError& e) {
    return usageError(e.what());
  } catch (const error::InvalidEndpointDescription& e) {
    return usageError(e.what());
  } catch (const error::UnknownBackend& e) {
    return usageError(e.what());
  } catch (const std::exception& e) {
    std::cerr << "twist: " << e.what() << "\n";
    return kExitRuntimeFailure;
  }
}

}  // namespace twisted::application
