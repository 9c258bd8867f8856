// twisted::utils: a child's output or exit code as a Deferred.
#include "twisted/internet/utils.hpp"

#include "twisted/internet/defer_helpers.hpp"

namespace twisted::utils {

namespace {

// Spawns with a protocol that fires `deferred`; a spawn failure fails it.
template <class P, class T>
Deferred<T> run(IReactorProcess& reactor, std::shared_ptr<P> protocol, Deferred<T> deferred,
                std::string executable, std::vector<std::string> args,
                std::optional<Environment> env, std::optional<std::string> path) {
  args.insert(args.begin(), executable);
  try {
    reactor.spawnProcess(protocol, std::move(executable), std::move(args), std::move(env),
                         std::move(path));
  } catch (...) {
    return fail<T>(Failure::current());
  }
  return deferred;
}

// The exit code a reason holds (nullopt: a signal).
std::optional<int> exitCodeOf(const Failure& reason, std::optional<int>* signal = nullptr) {
  try {
    reason.raiseException();
  } catch (const error::ProcessDone&) {
    return 0;
  } catch (const error::ProcessTerminated& e) {
    if (signal) *signal = e.signal();
    return e.exitCode();
  } catch (...) {
  }
  return std::nullopt;
}

// Twisted's _BackRelay.
class BackRelay final : public ProcessProtocol {
 public:
  BackRelay(Deferred<std::string> d, bool errortoo)
      : deferred_(std::move(d)), errortoo_(errortoo) {}
  void outReceived(std::string_view data) override { out_.append(data); }
  void errReceived(std::string_view data) override {
    if (errortoo_) {
      out_.append(data);
      return;
    }
    if (done_) return;
    done_ = true;
    onEnded_.emplace();
    deferred_.errback(Failure::of(error::UnexpectedErrorOutput(std::string(data), *onEnded_)));
    transport->loseConnection();
  }
  void processEnded(const Failure& reason) override {
    if (!done_) {
      done_ = true;
      deferred_.callback(std::move(out_));
    } else if (onEnded_) {
      onEnded_->errback(reason);
    }
  }

 private:
  Deferred<std::string> deferred_;
  bool errortoo_;
  bool done_ = false;
  std::string out_;
  std::optional<Deferred<void>> onEnded_;
};

// Twisted's _ValueGetter.
class ValueGetter final : public ProcessProtocol {
 public:
  explicit ValueGetter(Deferred<int> d) : deferred_(std::move(d)) {}
  void processEnded(const Failure& reason) override {
    if (std::optional<int> code = exitCodeOf(reason)) {
      deferred_.callback(*code);
    } else {
      deferred_.errback(reason);
    }
  }

 private:
  Deferred<int> deferred_;
};

// Twisted's _EverythingGetter.
class EverythingGetter final : public ProcessProtocol {
 public:
  EverythingGetter(Deferred<ProcessOutputAndValue> d, std::optional<std::string> stdinBytes)
      : deferred_(std::move(d)), stdinBytes_(std::move(stdinBytes)) {}
  void connectionMade() override {
    if (stdinBytes_) {
      transport->writeToChild(0, *stdinBytes_);
      transport->closeStdin();
    }
  }
  void outReceived(std::string_view data) override { result_.out.append(data); }
  void errReceived(std::string_view data) override { result_.err.append(data); }
  void processEnded(const Failure& reason) override {
    std::optional<int> signal;
    std::optional<int> code = exitCodeOf(reason, &signal);
    if (signal) {
      deferred_.errback(Failure::of(
          error::ProcessSignalledError(std::move(result_.out), std::move(result_.err), *signal)));
    } else if (code) {
      result_.code = *code;
      deferred_.callback(std::move(result_));
    } else {
      deferred_.errback(reason);
    }
  }

 private:
  Deferred<ProcessOutputAndValue> deferred_;
  std::optional<std::string> stdinBytes_;
  ProcessOutputAndValue result_;
};

}  // namespace

Deferred<std::string> getProcessOutput(IReactorProcess& reactor, std::string executable,
                                       std::vector<std::string> args,
                                       std::optional<Environment> env,
                                       std::optional<std::string> path, bool errortoo) {
  Deferred<std::string> d;
  return run(reactor, std::make_shared<BackRelay>(d, errortoo), d, std::move(executable),
             std::move(args), std::move(env), std::move(path));
}

Deferred<int> getProcessValue(IReactorProcess& reactor, std::string executable,
                              std::vector<std::string> args, std::optional<Environment> env,
                              std::optional<std::string> path) {
  Deferred<int> d;
  return run(reactor, std::make_shared<ValueGetter>(d), d, std::move(executable), std::move(args),
             std::move(env), std::move(path));
}

Deferred<ProcessOutputAndValue> getProcessOutputAndValue(IReactorProcess& reactor,
                                                         std::string executable,
                                                         std::vector<std::string> args,
                                                         std::optional<Environment> env,
                                                         std::optional<std::string> path,
                                                         std::optional<std::string> stdinBytes) {
  Deferred<ProcessOutputAndValue> d;
  return run(reactor, std::make_shared<EverythingGetter>(d, std::move(stdinBytes)), d,
             std::move(executable), std::move(args), std::move(env), std::move(path));
}

}  // namespace twisted::utils
