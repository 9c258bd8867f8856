// HostnameEndpoint: happy eyeballs (RFC 8305) over connectTCP.
#include <utility>

#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/error.hpp"
#include "wrapping_factory.hpp"

namespace twisted {

namespace {

std::string hostOf(const Address& address) {
  if (const auto* v4 = std::get_if<IPv4Address>(&address)) return v4->host;
  if (const auto* v6 = std::get_if<IPv6Address>(&address)) return v6->host;
  throw std::invalid_argument("HostnameEndpoint: the resolver returned a non-IP address");
}

std::string formatSeconds(double s) {
  std::string text = std::to_string(s);
  while (text.size() > 1 && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

// One connect() call: the lookup, the attempts, the timers. It is owned by
// what will call it back (the lookup's and the attempts' callbacks, its
// timers), never by its own result, so an abandoned reactor frees it.
class HappyEyeballs final : public std::enable_shared_from_this<HappyEyeballs> {
 public:
  struct Options {
    IReactorTCP& tcp;
    IReactorTime& clock;
    IHostnameResolver& resolver;
    std::string host;
    int port;
    double timeout;
    std::optional<BindAddress> bindAddress;
    double attemptDelay;
  };

  HappyEyeballs(Options options, std::shared_ptr<Factory> factory)
      : o_(std::move(options)), factory_(std::move(factory)) {}

  Deferred<std::shared_ptr<Protocol>> start() {
    auto self = shared_from_this();
    // Weak: the result must not own what fires it (that would be a cycle).
    std::weak_ptr<HappyEyeballs> weak = self;
    result_ = Deferred<std::shared_ptr<Protocol>>([weak](Deferred<std::shared_ptr<Protocol>>& d) {
      if (auto me = weak.lock()) {
        me->finish(Failure::of(error::ConnectingCancelledError(me->destination())));
      } else {
        d.errback(Failure::of(error::ConnectingCancelledError()));
      }
    });
    Deferred<std::shared_ptr<Protocol>> result = result_;
    if (o_.timeout > 0) {
      timer_ = o_.clock.callLater(o_.timeout, [self] {
        self->timer_.reset();
        self->finish(Failure::of(
            error::TimeoutError("connecting to " + self->destination() + " took more than " +
                                formatSeconds(self->o_.timeout) + " s (name lookup included)")));
      });
    }
    Deferred<std::vector<Address>> lookup =
        o_.resolver.resolveHostName(o_.host, o_.port, AddressFamily::Any);
    lookup_ = lookup;
    lookup.addBoth([self](Outcome<std::vector<Address>> outcome) {
      if (self->done_) return;
      if (!outcome.succeeded()) {
        self->finish(outcome.failure());
      } else if (outcome.value().empty()) {
        self->finish(Failure::of(error::DNSLookupError(self->o_.host + ": no address")));
      } else {
        self->queue_ = HostnameEndpoint::interleave(outcome.value());
        self->startNext();
      }
    });
    return result;
  }

 private:
  std::string destination() const { return o_.host + ":" + std::to_string(o_.port); }

  void startNext() {
    if (done_) return;
    if (nextAttempt_) {
      if (nextAttempt_->active()) nextAttempt_->cancel();
      nextAttempt_.reset();
    }
    if (next_ >= queue_.size()) {
      if (pending_ == 0) {
        finish(lastFailure_ ? *lastFailure_
                            : Failure::of(error::ConnectError("no address to connect to")));
      }
      return;
    }
    const Address& address = queue_[next_++];
    auto wrapping = detail::WrappingFactory::make(factory_);
    Deferred<std::shared_ptr<Protocol>> attempt = wrapping->onConnection();
    ++pending_;
    attempts_.push_back(wrapping);
    auto self = shared_from_this();
    // The overall timer bounds every attempt; none of its own.
    try {
      o_.tcp.connectTCP(hostOf(address), o_.port, wrapping, 0, o_.bindAddress);
    } catch (...) {
      attempt.errback(Failure::current());
    }
    attempt.addBoth([self](Outcome<std::shared_ptr<Protocol>> outcome) {
      --self->pending_;
      if (outcome.succeeded()) {
        self->won(std::move(outcome).value());
      } else if (!self->done_) {
        self->lastFailure_ = outcome.failure();
        self->startNext();  // at once: the previous attempt failed
      }
    });
    if (!done_ && !nextAttempt_ && next_ < queue_.size()) {
      nextAttempt_ = o_.clock.callLater(o_.attemptDelay, [self] {
        self->nextAttempt_.reset();
        self->startNext();
      });
    }
  }

  void won(std::shared_ptr<Protocol> protocol) {
    if (done_) {
      // Connected after another attempt won, or after the timeout.
      if (protocol->transport) protocol->transport->loseConnection();
      return;
    }
    done_ = true;
    cancelRest();
    Deferred<std::shared_ptr<Protocol>> result = std::move(result_);
    result.callback(std::move(protocol));
  }

  void finish(const Failure& failure) {
    if (done_) return;
    done_ = true;
    cancelRest();
    Deferred<std::shared_ptr<Protocol>> result = std::move(result_);
    result.errback(failure);
  }

  void cancelRest() {
    if (timer_ && timer_->active()) timer_->cancel();
    timer_.reset();
    if (nextAttempt_ && nextAttempt_->active()) nextAttempt_->cancel();
    nextAttempt_.reset();
    std::optional<Deferred<std::vector<Address>>> lookup = std::move(lookup_);
    lookup_.reset();
    if (lookup && !lookup->called()) lookup->cancel();
    std::vector<std::weak_ptr<detail::WrappingFactory>> attempts = std::move(attempts_);
    for (auto& weak : attempts) {
      if (auto attempt = weak.lock()) attempt->abandon();  // no-op for the fired ones
    }
  }

  Options o_;
  std::shared_ptr<Factory> factory_;
  Deferred<std::shared_ptr<Protocol>> result_;
  std::optional<Deferred<std::vector<Address>>> lookup_;
  std::vector<Address> queue_;
  std::size_t next_ = 0;
  int pending_ = 0;
  // Weakly: each attempt's Deferred owns this object through its callback,
  // and the connector owns the attempt; holding them would close a cycle.
  std::vector<std::weak_ptr<detail::WrappingFactory>> attempts_;
  std::optional<DelayedCall> timer_;
  std::optional<DelayedCall> nextAttempt_;
  std::optional<Failure> lastFailure_;
  bool done_ = false;
};

}  // namespace

HostnameEndpoint::HostnameEndpoint(EndpointReactor reactor, std::string host, int port,
                                   double timeout, std::optional<BindAddress> bindAddress,
                                   double attemptDelay)
    : HostnameEndpoint(reactor.tcp, reactor.clock, reactor.names.nameResolver(), std::move(host),
                       port, timeout, std::move(bindAddress), attemptDelay) {}

HostnameEndpoint::HostnameEndpoint(IReactorTCP& tcp, IReactorTime& clock,
                                   IHostnameResolver& resolver, std::string host, int port,
                                   double timeout, std::optional<BindAddress> bindAddress,
                                   double attemptDelay)
    : tcp_(tcp),
      clock_(clock),
      resolver_(resolver),
      host_(std::move(host)),
      port_(port),
      timeout_(timeout),
      bindAddress_(std::move(bindAddress)),
      attemptDelay_(attemptDelay) {}

Deferred<std::shared_ptr<Protocol>> HostnameEndpoint::connect(std::shared_ptr<Factory> factory) {
  auto attempt =
      std::make_shared<HappyEyeballs>(HappyEyeballs::Options{tcp_, clock_, resolver_, host_, port_,
                                                             timeout_, bindAddress_, attemptDelay_},
                                      std::move(factory));
  return attempt->start();
}

std::string HostnameEndpoint::describe() const {
  std::string text =
      "hostname:host=" + quoteEndpointValue(host_) + ":port=" + std::to_string(port_);
  if (timeout_ != 30) text += ":timeout=" + formatSeconds(timeout_);
  if (bindAddress_) text += ":bindAddress=" + quoteEndpointValue(bindAddress_->host);
  return text;
}

std::vector<Address> HostnameEndpoint::interleave(const std::vector<Address>& addresses) {
  std::vector<Address> first, second;
  if (addresses.empty()) return {};
  std::size_t firstFamily = addresses.front().index();
  for (const Address& a : addresses) (a.index() == firstFamily ? first : second).push_back(a);
  std::vector<Address> out;
  out.reserve(addresses.size());
  for (std::size_t i = 0; i < first.size() || i < second.size(); ++i) {
    if (i < first.size()) out.push_back(first[i]);
    if (i < second.size()) out.push_back(second[i]);
  }
  return out;
}

}  // namespace twisted
