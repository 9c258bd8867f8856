// The TLS benchmark's load client: one thread, epoll, OpenSSL 3 used
// directly (socket BIOs on non-blocking sockets to 127.0.0.1:P, TCP_NODELAY).
// Every server (ours, raw OpenSSL + epoll, asio ssl::stream, Twisted) gets
// this same client in the same run, so the differences are the servers'.
//
//   tls_load_client --port P --mode handshake|resume|echo [--conns N] [--size S]
//                   [--warmup SECONDS] [--seconds SECONDS] [--tls12] [--ca CA_PEM]
//
//   handshake  N connections in flight (default 1); each connects, makes a
//              full handshake, sends one byte ('\n') and reads it back (so the
//              server has finished its side too), sends close_notify and
//              closes, and the next one opens. Counts completed ones.
//   resume     The same, but every connection offers the newest session the
//              server has given (a first connection, before READY, gets
//              one). Counts completed ones and those actually resumed.
//   echo       N connections (default 100) handshaken once, then each keeps
//              one message of S bytes (default 64) in flight: write it, read
//              it back, check the contents, repeat. Counts messages, bytes.
//
// TLS 1.3 only, or TLS 1.2 only with --tls12; SNI "localhost". The server's
// certificate is not verified unless --ca names a CA to verify it against
// (host "localhost"): the benchmark measures servers, and --ca is there to
// check that they are set up right.
//
// Prints "READY" once set up (handshake: at once; resume: when the first
// session is in hand; echo: when every connection is handshaken), runs
// --warmup seconds (default 1) uncounted, prints "START" when the measured
// window of --seconds (default 3) begins, then one JSON line
//   {"mode": .., "count": .., "resumed": .. (resume), "bytes": .. (echo),
//    "seconds": .., "errors": ..}
// and exits 0. count, resumed and bytes (echoed payload, counted once) are
// of the window; errors are of the whole run (a failed connection is
// replaced by a new one; nonzero means the run is suspect). A connection
// that gets nothing from the server for 10 s is an error. Exits 1, with the
// reason on stderr, if the server refuses a connection, if nothing at all
// comes from it for 10 s, or after more than 100 errors: a runner never hangs.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../load_options.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kStall = std::chrono::seconds(10);  // nothing from the server this long: an error
constexpr long kMaxErrors = 100;                   // more than this: give up
constexpr long kReasonsShown = 5;                  // errors described on stderr
// Message k of connection i is the pattern from offset (7k + i) mod 251: each
// message differs from the one before it, so a stale or misplaced echo fails
// the check, and the check is one memcmp against a shared buffer.
constexpr std::size_t kPatternPeriod = 251;

struct Options {
  int port = 0;
  std::string mode;
  int conns = -1;  // -1: the mode's default
  std::size_t size = 64;
  double warmup = 1;
  double seconds = 3;
  bool tls12 = false;
  std::string ca;
};

[[noreturn]] void fatal(const std::string& why) {
  std::fprintf(stderr, "tls_load_client: %s\n", why.c_str());
  std::exit(1);
}

// ---- TLS context ---------------------------------------------------------------

// The newest session the server has issued (resume mode). TLS 1.3 sends
// tickets after the handshake, so they are caught here rather than read
// off the connection when its handshake ends.
SSL_SESSION* g_newest = nullptr;

int keepNewest(SSL*, SSL_SESSION* s) {
  if (g_newest) SSL_SESSION_free(g_newest);
  g_newest = s;
  return 1;  // the reference is ours now
}

SSL_CTX* makeContext(const Options& o) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) fatal("SSL_CTX_new failed");
  // One version exactly: a server that cannot speak it fails the run
  // instead of being measured on another one.
  int version = o.tls12 ? TLS1_2_VERSION : TLS1_3_VERSION;
  SSL_CTX_set_min_proto_version(ctx, version);
  SSL_CTX_set_max_proto_version(ctx, version);
  // A 16 KiB message is written record by record; each return tells how far.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
  if (!o.ca.empty()) {
    if (SSL_CTX_load_verify_file(ctx, o.ca.c_str()) != 1) fatal("cannot load CA file " + o.ca);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (o.mode == "resume") {
    // Sessions go to keepNewest only: no internal cache to look them up in.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, keepNewest);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  return ctx;
}

// ---- connections -----------------------------------------------------------------

enum class Phase {
  Closed,
  Connecting,  // TCP connect in progress
  Handshaking,
  Idle,     // echo: handshaken, waiting for the others before READY
  Pinging,  // handshake, resume: the one-byte echo after the handshake
  Echoing,
};

enum class Step { Wait, Done, Failed };

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  Phase phase = Phase::Closed;
  uint32_t gen = 0;     // per connection of this slot: events of a closed one are dropped
  uint32_t events = 0;  // what epoll watches for
  // What the reading and the writing side wait for (EPOLLIN or EPOLLOUT,
  // either way round: TLS may need to write to read and read to write).
  uint32_t readerWaits = 0, writerWaits = 0;
  std::size_t sent = 0, got = 0;  // of the current message
  uint64_t seq = 0;               // messages (or pings) completed on this slot
  Clock::time_point lastHeard;    // last time the server moved this connection on
  std::vector<unsigned char> in;
};

enum class Stage { Setup, Warmup, Measure, Over };

class Client {
 public:
  Client(const Options& o, SSL_CTX* ctx)
      : o_(o), ctx_(ctx), echo_(o.mode == "echo"), resume_(o.mode == "resume") {
    msgSize_ = echo_ ? o.size : 1;
    conns_.resize(static_cast<std::size_t>(o.conns));
    for (Conn& c : conns_) c.in.resize(msgSize_);
    pattern_.resize(msgSize_ + kPatternPeriod);
    for (std::size_t j = 0; j < pattern_.size(); ++j) {
      pattern_[j] = static_cast<unsigned char>(j % kPatternPeriod);
    }
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) fatal(std::string("epoll_create1: ") + std::strerror(errno));
  }

  void run() {
    lastHeard_ = lastStallCheck_ = Clock::now();
    if (echo_) {
      for (std::size_t i = 0; i < conns_.size(); ++i) open(i);
    } else if (resume_) {
      open(0);  // the connection whose session the others offer
    } else {
      beginWarmup();
    }
    std::vector<epoll_event> events(1024);
    while (stage_ != Stage::Over) {
      int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), waitMs());
      if (n < 0 && errno != EINTR) fatal(std::string("epoll_wait: ") + std::strerror(errno));
      for (int k = 0; k < n; ++k) {
        std::size_t i = static_cast<std::size_t>(events[k].data.u64 & 0xffffffffu);
        if (conns_[i].gen == events[k].data.u64 >> 32 && conns_[i].phase != Phase::Closed) drive(i);
      }
      if (stage_ == Stage::Setup && setupDone()) beginWarmup();
      Clock::time_point now = Clock::now();
      advance(now);
      checkStalls(now);
    }
    report();
    for (Conn& c : conns_) closeConn(c, true);
  }

 private:
  // ---- stages ----

  bool setupDone() const { return echo_ ? idle_ == conns_.size() : firstSessionDone_; }

  void beginWarmup() {
    if (resume_ && !g_newest) {
      std::fprintf(stderr,
                   "tls_load_client: the server issued no session; "
                   "every connection will make a full handshake\n");
    }
    std::printf("READY\n");
    std::fflush(stdout);
    stage_ = Stage::Warmup;
    stageEnd_ = Clock::now() + toDuration(o_.warmup);
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      if (echo_) {
        if (conns_[i].phase != Phase::Idle) continue;
        conns_[i].phase = Phase::Echoing;
        --idle_;
        conns_[i].lastHeard = Clock::now();  // its silence while idle was not a stall
        drive(i);
      } else {
        open(i);
      }
    }
  }

  void advance(Clock::time_point now) {
    if (stage_ == Stage::Warmup && now >= stageEnd_) {
      stage_ = Stage::Measure;
      windowStart_ = now;
      stageEnd_ = now + toDuration(o_.seconds);
      std::printf("START\n");
      std::fflush(stdout);
    } else if (stage_ == Stage::Measure && now >= stageEnd_) {
      stage_ = Stage::Over;
      windowEnd_ = now;
    }
  }

  // Until the stage ends, but at least once a second for the stall checks.
  int waitMs() const {
    auto wait = std::chrono::milliseconds(1000);
    if (stage_ == Stage::Warmup || stage_ == Stage::Measure) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(stageEnd_ - Clock::now());
      wait = std::clamp(left, std::chrono::milliseconds(0), wait);
    }
    return static_cast<int>(wait.count());
  }

  void checkStalls(Clock::time_point now) {
    if (now - lastStallCheck_ < std::chrono::seconds(1)) return;
    lastStallCheck_ = now;
    if (now - lastHeard_ > kStall) fatal("nothing from the server for 10 s; giving up");
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      if (c.phase == Phase::Closed || c.phase == Phase::Idle) continue;
      if (now - c.lastHeard > kStall) fail(i, "no progress for 10 s");
    }
  }

  void report() const {
    double secs = std::chrono::duration<double>(windowEnd_ - windowStart_).count();
    std::printf("{\"mode\": \"%s\", \"count\": %ld", o_.mode.c_str(), count_);
    if (resume_) std::printf(", \"resumed\": %ld", resumed_);
    if (echo_) std::printf(", \"bytes\": %ld", bytes_);
    std::printf(", \"seconds\": %.6f, \"errors\": %ld}\n", secs, errors_);
    std::fflush(stdout);
  }

  static Clock::duration toDuration(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }

  // ---- one connection's life ----

  void open(std::size_t i) {
    Conn& c = conns_[i];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) fatal(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(o_.port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
      connectFailed(errno);
    }
    c.ssl = SSL_new(ctx_);
    if (!c.ssl) fatal("SSL_new failed");
    SSL_set_fd(c.ssl, c.fd);
    SSL_set_connect_state(c.ssl);
    SSL_set_tlsext_host_name(c.ssl, "localhost");
    if (!o_.ca.empty()) SSL_set1_host(c.ssl, "localhost");
    if (resume_ && g_newest) SSL_set_session(c.ssl, g_newest);
    c.phase = Phase::Connecting;
    ++c.gen;
    c.sent = c.got = 0;
    c.readerWaits = 0;
    c.writerWaits = EPOLLOUT;  // connected when writable
    c.lastHeard = Clock::now();
    c.events = EPOLLOUT;
    epoll_event ev{};
    ev.events = c.events;
    ev.data.u64 = (static_cast<uint64_t>(c.gen) << 32) | i;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
      fatal(std::string("epoll_ctl: ") + std::strerror(errno));
    }
  }

  // Refused means no server listens (it died or never started): no point
  // going on. The others (say, out of local ports) would not get better.
  [[noreturn]] void connectFailed(int err) const {
    if (err == ECONNREFUSED) fatal("connection refused on port " + std::to_string(o_.port));
    fatal(std::string("connect: ") + std::strerror(err));
  }

  // Moves connection i on as far as it goes without waiting.
  void drive(std::size_t i) {
    Conn& c = conns_[i];
    if (c.phase == Phase::Connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) connectFailed(err);
      c.phase = Phase::Handshaking;
      c.writerWaits = 0;
    }
    if (c.phase == Phase::Handshaking) {
      Step s = handshake(c);
      if (s == Step::Failed) return fail(i, "handshake: " + why_);
      if (s == Step::Wait) return watch(i);
      startExchanges(c);
    }
    switch (c.phase) {
      case Phase::Idle:
        if (!idleRead(c)) return fail(i, why_);
        break;
      case Phase::Pinging:
        switch (exchange(i)) {
          case Step::Failed:
            return fail(i, why_);
          case Step::Done:
            return pinged(i);
          case Step::Wait:
            break;
        }
        break;
      case Phase::Echoing:
        for (;;) {
          Step s = exchange(i);
          if (s == Step::Failed) return fail(i, why_);
          if (s == Step::Wait) break;
          echoed(c);
        }
        break;
      default:
        break;
    }
    watch(i);
  }

  Step handshake(Conn& c) {
    int r = SSL_do_handshake(c.ssl);
    if (r == 1) {
      heard(c);
      c.readerWaits = 0;
      return Step::Done;
    }
    c.readerWaits = waitingFor(c, r);
    return c.readerWaits ? Step::Wait : Step::Failed;
  }

  // What a handshaken connection does next.
  void startExchanges(Conn& c) {
    c.sent = c.got = 0;
    if (!echo_) {
      c.phase = Phase::Pinging;
    } else if (stage_ == Stage::Setup) {
      c.phase = Phase::Idle;
      ++idle_;
    } else {
      c.phase = Phase::Echoing;  // a replacement for a failed connection
    }
  }

  // Idle connections still read: a TLS 1.3 server's tickets arrive now,
  // and a close must be noticed (and must not leave epoll firing).
  bool idleRead(Conn& c) {
    unsigned char b;
    int r = SSL_read(c.ssl, &b, 1);
    if (r > 0) {
      why_ = "the server sent data before the first message";
      return false;
    }
    c.readerWaits = waitingFor(c, r);
    return c.readerWaits != 0;
  }

  // One message in flight on connection i, both ways at once: the echo can
  // start coming back before all of a 16 KiB message is written, and a
  // server that echoes as it reads could otherwise block us both.
  Step exchange(std::size_t i) {
    Conn& c = conns_[i];
    const unsigned char* msg = expected(i);
    const std::size_t size = msgSize_;
    bool writeBlocked = false, readBlocked = false;
    for (;;) {
      if (c.sent < size && !writeBlocked) {
        int r = SSL_write(c.ssl, msg + c.sent, static_cast<int>(size - c.sent));
        if (r > 0) {
          c.sent += static_cast<std::size_t>(r);
          c.writerWaits = 0;
        } else {
          c.writerWaits = waitingFor(c, r);
          if (!c.writerWaits) return Step::Failed;
          writeBlocked = true;
        }
      }
      if (c.got < size && !readBlocked) {
        int r = SSL_read(c.ssl, c.in.data() + c.got, static_cast<int>(size - c.got));
        if (r > 0) {
          c.got += static_cast<std::size_t>(r);
          c.readerWaits = 0;
          heard(c);
          writeBlocked = false;  // in case the write was waiting for what came in
        } else {
          c.readerWaits = waitingFor(c, r);
          if (!c.readerWaits) return Step::Failed;
          readBlocked = true;
        }
      }
      if (c.sent == size && c.got == size) return verify(c, msg) ? Step::Done : Step::Failed;
      if ((c.sent == size || writeBlocked) && (c.got == size || readBlocked)) return Step::Wait;
    }
  }

  const unsigned char* expected(std::size_t i) const {
    // The ping is a newline: it comes back unchanged from line-reversing
    // servers too (openssl s_server -rev), handy to check this client.
    static constexpr unsigned char kPing = '\n';
    if (!echo_) return &kPing;
    return pattern_.data() + (conns_[i].seq * 7 + i) % kPatternPeriod;
  }

  bool verify(Conn& c, const unsigned char* msg) {
    if (std::memcmp(c.in.data(), msg, msgSize_) == 0) return true;
    std::size_t k = 0;
    while (c.in[k] == msg[k]) ++k;
    char buf[128];
    std::snprintf(buf, sizeof buf,
                  "echo differs at byte %zu of message %llu (got 0x%02x, sent 0x%02x)", k,
                  static_cast<unsigned long long>(c.seq), c.in[k], msg[k]);
    why_ = buf;
    return false;
  }

  void echoed(Conn& c) {
    if (stage_ == Stage::Measure) {
      ++count_;
      bytes_ += static_cast<long>(msgSize_);
    }
    ++c.seq;
    c.sent = c.got = 0;
  }

  // Handshake and resume: the byte came back, so the connection is done.
  void pinged(std::size_t i) {
    Conn& c = conns_[i];
    if (stage_ == Stage::Measure) {
      ++count_;
      if (SSL_session_reused(c.ssl)) ++resumed_;
    }
    ++c.seq;
    closeConn(c, true);
    if (stage_ == Stage::Setup) {
      firstSessionDone_ = true;  // resume: the others start from READY
      return;
    }
    open(i);
  }

  // After an SSL call returned r <= 0: the epoll event it waits for, or 0
  // if the connection failed (with the reason in why_).
  uint32_t waitingFor(Conn& c, int r) {
    int sysErr = errno;
    int err = SSL_get_error(c.ssl, r);
    if (err == SSL_ERROR_WANT_READ) return EPOLLIN;
    if (err == SSL_ERROR_WANT_WRITE) return EPOLLOUT;
    why_ = describe(c, err, sysErr);
    return 0;
  }

  std::string describe(Conn& c, int err, int sysErr) const {
    std::string why;
    if (unsigned long e = ERR_peek_last_error()) {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      why = buf;
    } else if (err == SSL_ERROR_ZERO_RETURN) {
      why = "the server closed the TLS session";
    } else if (err == SSL_ERROR_SYSCALL) {
      why = sysErr ? std::strerror(sysErr) : "the server closed the connection";
    } else {
      why = "SSL error " + std::to_string(err);
    }
    if (!o_.ca.empty()) {
      long v = SSL_get_verify_result(c.ssl);
      if (v != X509_V_OK) why += std::string(" (verify: ") + X509_verify_cert_error_string(v) + ")";
    }
    ERR_clear_error();  // OpenSSL wants the queue empty before the next call
    return why;
  }

  void heard(Conn& c) { c.lastHeard = lastHeard_ = Clock::now(); }

  // Makes epoll watch for what connection i waits for.
  void watch(std::size_t i) {
    Conn& c = conns_[i];
    uint32_t want = c.readerWaits | c.writerWaits;
    if (want == 0) want = EPOLLIN;  // not expected; never leave a connection unwatched
    if (want == c.events) return;
    c.events = want;
    epoll_event ev{};
    ev.events = want;
    ev.data.u64 = (static_cast<uint64_t>(c.gen) << 32) | i;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  // Counts and reports the error, then replaces the connection.
  void fail(std::size_t i, const std::string& why) {
    Conn& c = conns_[i];
    ++errors_;
    if (errors_ <= kReasonsShown) {
      std::fprintf(stderr, "tls_load_client: connection %zu: %s\n", i, why.c_str());
    }
    if (errors_ > kMaxErrors)
      fatal("more than " + std::to_string(kMaxErrors) + " errors; giving up");
    if (c.phase == Phase::Idle) --idle_;
    closeConn(c, false);
    open(i);
  }

  // Clean: one close_notify, without waiting for the server's (none before
  // the handshake is done: there is no session to close yet). Either way
  // the socket is closed at once.
  void closeConn(Conn& c, bool clean) {
    if (c.phase == Phase::Closed) return;
    if (clean) {
      if (SSL_is_init_finished(c.ssl)) SSL_shutdown(c.ssl);
    } else {
      // Otherwise SSL_free marks the session as not resumable, and in
      // resume mode that is the one every connection shares.
      SSL_set_shutdown(c.ssl, SSL_SENT_SHUTDOWN);
    }
    ERR_clear_error();
    SSL_free(c.ssl);
    ::close(c.fd);  // also leaves epoll
    c.ssl = nullptr;
    c.fd = -1;
    c.phase = Phase::Closed;
    c.events = 0;
  }

  const Options& o_;
  SSL_CTX* ctx_;
  const bool echo_, resume_;
  std::size_t msgSize_;
  std::vector<Conn> conns_;
  std::vector<unsigned char> pattern_;
  int ep_ = -1;
  Stage stage_ = Stage::Setup;
  std::size_t idle_ = 0;  // echo: connections handshaken and waiting for READY
  bool firstSessionDone_ = false;
  Clock::time_point stageEnd_, windowStart_, windowEnd_, lastHeard_, lastStallCheck_;
  long count_ = 0, resumed_ = 0, bytes_ = 0, errors_ = 0;
  std::string why_;  // why the last SSL call failed
};

// ---- command line ----------------------------------------------------------------

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: tls_load_client --port P --mode handshake|resume|echo [--conns N] "
               "[--size S]\n"
               "                       [--warmup SECONDS] [--seconds SECONDS] [--tls12] "
               "[--ca CA_PEM]\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  // --tls12 takes no value; the others come in "--name value" pairs.
  std::vector<char*> pairs{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--tls12") == 0) {
      o.tls12 = true;
    } else {
      pairs.push_back(argv[i]);
    }
  }
  if (pairs.size() % 2 == 0) usage();  // a name without its value
  try {
    bench::parseFlags(static_cast<int>(pairs.size()), pairs.data(),
                      {{"--port", o.port},
                       {"--mode", o.mode},
                       {"--conns", o.conns},
                       {"--size", o.size},
                       {"--warmup", o.warmup},
                       {"--seconds", o.seconds},
                       {"--ca", o.ca}});
  } catch (const std::exception&) {
    usage();  // a value that is not a number
  }
  if (o.conns == -1) o.conns = o.mode == "echo" ? 100 : 1;
  bool modeOk = o.mode == "handshake" || o.mode == "resume" || o.mode == "echo";
  if (!modeOk || o.port <= 0 || o.port >= 65536 || o.conns < 1 || o.size == 0 ||
      o.size > (1u << 30) || o.warmup < 0 || o.seconds <= 0) {
    usage();
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);  // a reset connection is an error to count, not a death
  SSL_CTX* ctx = makeContext(o);
  Client(o, ctx).run();
  SSL_CTX_free(ctx);
  return 0;
}
