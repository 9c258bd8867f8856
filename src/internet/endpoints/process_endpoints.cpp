// ProcessEndpoint and StandardIOEndpoint: endpoints over pipes.
#include "twisted/internet/process_endpoints.hpp"

#include <signal.h>

#include <utility>

#include "twisted/internet/defer_helpers.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/internet/stdio.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted {

namespace {

const logger::Logger& log() {
  static const logger::Logger instance("twisted.internet.endpoints");
  return instance;
}

// ITransport over the child (Twisted's _ProcessEndpointTransport).
class ProcessTransportAdapter final : public ProcessEndpointTransport {
 public:
  explicit ProcessTransportAdapter(std::shared_ptr<IProcessTransport> process)
      : process_(std::move(process)) {}
  std::shared_ptr<IProcessTransport> process() const override { return process_; }

  void write(std::string_view data) override {
    if (!lost_) process_->write(data);
  }
  void writeSequence(std::span<const std::string_view> data) override {
    if (!lost_) process_->writeSequence(data);
  }
  using ITransport::writeSequence;
  void loseConnection() override {
    if (disconnecting_ || lost_) return;
    disconnecting_ = true;
    process_->loseConnection();
  }
  void abortConnection() override {
    loseConnection();
    try {
      process_->signalProcess(SIGKILL);
    } catch (const error::ProcessExitedAlready&) {
    }
  }
  bool disconnecting() const override { return disconnecting_; }
  Address getPeer() const override { return PipeAddress{}; }
  Address getHost() const override { return PipeAddress{}; }
  void setWriteBufferLimits(std::size_t, std::size_t, bool) override {}
  std::size_t writeBufferSize() const override { return 0; }

  // The child's stdin is the consumer (Twisted's proxy does the same).
  void registerProducer(std::shared_ptr<IProducer> producer, bool streaming) override {
    process_->registerProducer(std::move(producer), streaming);
  }
  void unregisterProducer() override { process_->unregisterProducer(); }
  void pauseProducing() override { process_->pauseProducing(); }
  void resumeProducing() override { process_->resumeProducing(); }
  void stopProducing() override { loseConnection(); }

  void ended() { lost_ = true; }

 private:
  std::shared_ptr<IProcessTransport> process_;
  bool disconnecting_ = false;
  bool lost_ = false;
};

// The ProcessProtocol that carries a Protocol (Twisted's _WrapIProtocol).
class WrapProtocol final : public ProcessProtocol {
 public:
  WrapProtocol(std::shared_ptr<Factory> factory, std::shared_ptr<Protocol> protocol,
               std::string executable, StandardErrorBehavior errFlag)
      : factory_(std::move(factory)),
        protocol_(std::move(protocol)),
        executable_(std::move(executable)),
        errFlag_(errFlag) {}

  void makeConnection(std::shared_ptr<IProcessTransport> process) override {
    ProcessProtocol::makeConnection(process);
    adapter_ = std::make_shared<ProcessTransportAdapter>(std::move(process));
    protocol_->makeConnection(adapter_);
  }
  void childDataReceived(int childFD, std::string_view data) override {
    if (childFD == 1) {
      protocol_->dataReceived(data);
    } else if (childFD == 2 && errFlag_ == StandardErrorBehavior::Log) {
      log().info("Process {executable} wrote stderr unhandled by {protocol}: {data}",
                 {{"executable", executable_},
                  {"protocol", protocol_->logPrefix()},
                  {"data", std::string(data)}});
    }
  }
  void processEnded(const Failure& reason) override {
    if (adapter_) adapter_->ended();
    // The factory outlives its protocol's connectionLost, as a connector's does.
    auto factory = std::move(factory_);
    auto protocol = std::move(protocol_);
    if (reason.check<error::ProcessDone>()) {
      protocol->connectionLost(Failure::of(error::ConnectionDone()));
    } else {
      protocol->connectionLost(reason);
    }
  }

 private:
  std::shared_ptr<Factory> factory_;  // until processEnded: its protocol may refer to it
  std::shared_ptr<Protocol> protocol_;
  std::shared_ptr<ProcessTransportAdapter> adapter_;
  std::string executable_;
  StandardErrorBehavior errFlag_;
};

class StdioPort final : public StandardIOPort {
 public:
  explicit StdioPort(std::shared_ptr<StandardIO> transport) : transport_(std::move(transport)) {}
  void startListening() override {}
  Deferred<void> stopListening() override {
    transport_->loseConnection();
    return transport_->whenLost();
  }
  Address getHost() const override { return PipeAddress{}; }
  Deferred<void> whenDone() override { return transport_->whenLost(); }
  std::shared_ptr<StandardIO> transport() const override { return transport_; }

 private:
  std::shared_ptr<StandardIO> transport_;
};

}  // namespace

ProcessEndpoint::ProcessEndpoint(Reactor& reactor, std::string executable,
                                 std::vector<std::string> args, std::optional<Environment> env,
                                 std::optional<std::string> path, std::optional<uid_t> uid,
                                 std::optional<gid_t> gid, bool usePTY,
                                 std::optional<ChildFDs> childFDs, StandardErrorBehavior errFlag)
    : reactor_(reactor),
      executable_(std::move(executable)),
      args_(std::move(args)),
      env_(std::move(env)),
      path_(std::move(path)),
      uid_(uid),
      gid_(gid),
      usePTY_(usePTY),
      childFDs_(std::move(childFDs)),
      errFlag_(errFlag) {}

Deferred<std::shared_ptr<Protocol>> ProcessEndpoint::connect(std::shared_ptr<Factory> factory) {
  std::shared_ptr<Protocol> protocol;
  try {
    protocol = factory->buildProtocol(PipeAddress{});
    if (!protocol) throw error::ConnectError("the factory built no protocol");
    reactor_.spawnProcess(std::make_shared<WrapProtocol>(factory, protocol, executable_, errFlag_),
                          executable_, args_, env_, path_, uid_, gid_, usePTY_, childFDs_);
  } catch (...) {
    return fail<std::shared_ptr<Protocol>>(Failure::current());
  }
  return succeed(std::move(protocol));
}

std::string ProcessEndpoint::describe() const {
  return "process:" + executable_;
}

StandardIOEndpoint::StandardIOEndpoint(Reactor& reactor, int stdinFd, int stdoutFd)
    : reactor_(reactor), stdinFd_(stdinFd), stdoutFd_(stdoutFd) {}

Deferred<std::shared_ptr<IListeningPort>> StandardIOEndpoint::listen(
    std::shared_ptr<Factory> factory) {
  try {
    std::shared_ptr<Protocol> protocol = factory->buildProtocol(PipeAddress{});
    if (!protocol) throw error::CannotListenError("stdio: the factory built no protocol");
    auto transport = StandardIO::create(reactor_, std::move(protocol), stdinFd_, stdoutFd_);
    // The factory lives as long as the connection it built (a port's does).
    transport->whenLost().addCallback([factory] {});
    return succeed<std::shared_ptr<IListeningPort>>(std::make_shared<StdioPort>(transport));
  } catch (...) {
    return fail<std::shared_ptr<IListeningPort>>(Failure::current());
  }
}

}  // namespace twisted
