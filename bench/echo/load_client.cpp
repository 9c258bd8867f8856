// The echo benchmark's load client: N connections, each in ping-pong (send
// SIZE bytes, wait for all of them back, record the round trip, repeat).
// Two engines: epoll (one read and one write per message) and io_uring
// (sends and receives batched into one system call per loop turn), because
// a one-core epoll client saturates before a fast server does.
//
//   load_client --port P[,P2...] --conns N --size S [--mode epoll|uring]
//               [--warmup SECONDS] [--seconds SECONDS] [--messages M]
//               [--rate MSGS_PER_S]   (epoll mode: a fixed offered load)
//   load_client --port P --idle N      (opens N connections, prints READY,
//                                       holds them until stdin closes)
//
// With several ports, connection i goes to port i % ports: the servers
// behind them get the same load, interleaved in time, in one window (the
// side-by-side cases of run_echo.py).
//
// Prints "START" when the measured window begins, then one JSON line:
// {"messages":..,"seconds":..,"p50_us":..,"p99_us":..,"per_port":[..]}
// (per_port: messages of the window by port). The window ends after
// --seconds or --messages, whichever comes first.
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "../load_options.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::vector<int> ports;
  int conns = 1;
  std::size_t size = 64;
  std::string mode = "epoll";
  double warmup = 1;
  double seconds = 3;
  long messages = -1;
  int idle = 0;
  double rate = 0;  // total messages per second, paced (0: as fast as possible)
};

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

int connectTo(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("connect");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Round trips of the measured window and the window's bounds.
class Recorder {
 public:
  explicit Recorder(const Options& o) : o_(o), begin_(Clock::now()), perPort_(o.ports.size(), 0) {
    samples_.reserve(1 << 20);
  }
  // Called with each completed round trip; false when the run is over.
  bool record(Clock::time_point sent, Clock::time_point now, std::size_t port = 0) {
    if (!measuring_) {
      if (now - begin_ >= std::chrono::duration<double>(o_.warmup)) {
        measuring_ = true;
        start_ = now;
        std::printf("START\n");
        std::fflush(stdout);
      }
      return true;
    }
    samples_.push_back(static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent).count()));
    ++perPort_[port];
    end_ = now;
    if (o_.messages > 0 && static_cast<long>(samples_.size()) >= o_.messages) return false;
    return now - start_ < std::chrono::duration<double>(o_.seconds);
  }
  void report() {
    double secs = std::chrono::duration<double>(end_ - start_).count();
    auto pct = [&](double p) {
      if (samples_.empty()) return 0.0;
      std::size_t k = static_cast<std::size_t>(p * static_cast<double>(samples_.size() - 1));
      std::nth_element(samples_.begin(), samples_.begin() + static_cast<long>(k), samples_.end());
      return samples_[k] / 1000.0;
    };
    double p50 = pct(0.50);
    double p99 = pct(0.99);
    std::string ports;
    for (std::size_t n : perPort_) ports += (ports.empty() ? "" : ", ") + std::to_string(n);
    std::printf(
        "{\"messages\": %zu, \"seconds\": %.6f, \"p50_us\": %.2f, \"p99_us\": %.2f, "
        "\"per_port\": [%s]}\n",
        samples_.size(), secs, p50, p99, ports.c_str());
    std::fflush(stdout);
  }

 private:
  const Options& o_;
  Clock::time_point begin_, start_, end_;
  bool measuring_ = false;
  std::vector<uint32_t> samples_;
  std::vector<std::size_t> perPort_;
};

struct Conn {
  int fd = -1;
  std::size_t port = 0;  // index into Options::ports
  std::size_t sent = 0;  // bytes of the current message written
  std::size_t got = 0;   // bytes of its echo read
  Clock::time_point t0;
  std::vector<char> in;
};

// ---- epoll engine ------------------------------------------------------------

void runEpoll(const Options& o, std::vector<Conn>& conns, const std::string& msg) {
  Recorder rec(o);
  // Paced mode: each connection sends its next message one interval after
  // its previous one was sent (or at once if that time has passed), so the
  // offered load is fixed and every server is measured at the same load.
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(o.rate > 0 ? conns.size() / o.rate : 0));
  std::deque<std::pair<Clock::time_point, std::size_t>> due;  // in time order
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (std::size_t i = 0; i < conns.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  auto send = [&](Conn& c) {
    c.t0 = Clock::now();
    ssize_t w = ::write(c.fd, msg.data(), msg.size());
    if (w != static_cast<ssize_t>(msg.size())) die("write (the kernel took part of a message)");
  };
  // Spread the first sends over one interval.
  for (std::size_t i = 0; i < conns.size(); ++i) {
    if (interval.count() == 0) {
      send(conns[i]);
    } else {
      due.emplace_back(Clock::now() + interval * i / conns.size(), i);
    }
  }
  std::vector<epoll_event> events(1024);
  bool running = true;
  while (running) {
    int waitMs = 5000;
    if (!due.empty()) {
      auto now = Clock::now();
      while (!due.empty() && due.front().first <= now) {
        send(conns[due.front().second]);
        due.pop_front();
      }
      if (!due.empty()) {
        waitMs = static_cast<int>(
            std::chrono::ceil<std::chrono::milliseconds>(due.front().first - now).count());
      }
    }
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), waitMs);
    if (n < 0) die("epoll_wait");
    if (n == 0 && due.empty()) die("epoll_wait (no echo for 5 s)");
    for (int i = 0; i < n; ++i) {
      Conn& c = conns[events[i].data.u64];
      ssize_t r = ::read(c.fd, c.in.data() + c.got, o.size - c.got);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        die("read (the server closed)");
      }
      c.got += static_cast<std::size_t>(r);
      if (c.got < o.size) continue;
      c.got = 0;
      auto now = Clock::now();
      if (!rec.record(c.t0, now, c.port)) running = false;
      if (!running) break;
      if (interval.count() == 0 || c.t0 + interval <= now) {
        send(c);
      } else {
        due.emplace_back(c.t0 + interval, static_cast<std::size_t>(events[i].data.u64));
      }
    }
  }
  rec.report();
}

// ---- io_uring engine ----------------------------------------------------------

void runUring(const Options& o, std::vector<Conn>& conns, const std::string& msg) {
  Recorder rec(o);
  io_uring ring;
  unsigned entries = 1;
  while (entries < conns.size() * 2) entries <<= 1;
  if (int err = io_uring_queue_init(std::max(entries, 64u), &ring, 0); err < 0) {
    errno = -err;
    die("io_uring_queue_init");
  }
  auto sqe = [&] {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    if (!s) {
      io_uring_submit(&ring);
      s = io_uring_get_sqe(&ring);
    }
    return s;
  };
  auto send = [&](std::size_t i) {
    Conn& c = conns[i];
    io_uring_sqe* s = sqe();
    io_uring_prep_send(s, c.fd, msg.data() + c.sent, msg.size() - c.sent, 0);
    io_uring_sqe_set_data64(s, i << 1);
  };
  auto recv = [&](std::size_t i) {
    Conn& c = conns[i];
    io_uring_sqe* s = sqe();
    io_uring_prep_recv(s, c.fd, c.in.data() + c.got, o.size - c.got, 0);
    io_uring_sqe_set_data64(s, (i << 1) | 1);
  };
  for (std::size_t i = 0; i < conns.size(); ++i) {
    conns[i].t0 = Clock::now();
    send(i);
  }
  bool running = true;
  std::size_t inFlight = conns.size();
  while (inFlight > 0) {
    io_uring_submit_and_wait(&ring, 1);
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      std::size_t i = io_uring_cqe_get_data64(cqe) >> 1;
      bool isRecv = io_uring_cqe_get_data64(cqe) & 1;
      Conn& c = conns[i];
      if (cqe->res <= 0) {
        errno = -cqe->res;
        die(isRecv ? "recv (the server closed)" : "send");
      }
      if (!isRecv) {
        c.sent += static_cast<std::size_t>(cqe->res);
        if (c.sent < msg.size()) {
          send(i);
        } else {
          c.sent = 0;
          recv(i);
        }
        continue;
      }
      c.got += static_cast<std::size_t>(cqe->res);
      if (c.got < o.size) {
        recv(i);
        continue;
      }
      c.got = 0;
      if (running && !rec.record(c.t0, Clock::now(), c.port)) running = false;
      if (running) {
        c.t0 = Clock::now();
        send(i);
      } else {
        --inFlight;
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
  io_uring_queue_exit(&ring);
  rec.report();
}

Options parse(int argc, char** argv) {
  Options o;
  bench::parseFlags(argc, argv,
                    {{"--port", o.ports},
                     {"--conns", o.conns},
                     {"--size", o.size},
                     {"--mode", o.mode},
                     {"--warmup", o.warmup},
                     {"--seconds", o.seconds},
                     {"--messages", o.messages},
                     {"--idle", o.idle},
                     {"--rate", o.rate}});
  if (!bench::validPorts(o.ports) || (o.mode != "epoll" && o.mode != "uring")) {
    std::fprintf(stderr,
                 "usage: load_client --port P --conns N --size S [--mode epoll|uring] ...\n");
    std::exit(2);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  if (o.idle > 0) {
    std::vector<int> fds;
    for (int i = 0; i < o.idle; ++i) fds.push_back(connectTo(o.ports[0]));
    // Make sure the server has accepted all of them: one echo on the last.
    char b = 'x';
    if (::write(fds.back(), &b, 1) != 1 || ::read(fds.back(), &b, 1) != 1) die("idle probe");
    std::printf("READY\n");
    std::fflush(stdout);
    char buf[64];
    while (::read(0, buf, sizeof buf) > 0) {
    }
    return 0;
  }
  std::vector<Conn> conns(static_cast<std::size_t>(o.conns));
  for (std::size_t i = 0; i < conns.size(); ++i) {
    Conn& c = conns[i];
    c.port = i % o.ports.size();
    c.fd = connectTo(o.ports[c.port]);
    c.in.resize(o.size);
    ::fcntl(c.fd, F_SETFL, O_NONBLOCK);
  }
  std::string msg(o.size, '\0');
  for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<char>('a' + i % 26);
  if (o.mode == "epoll") {
    runEpoll(o, conns, msg);
  } else {
    for (auto& c : conns) ::fcntl(c.fd, F_SETFL, 0);  // io_uring waits in the kernel
    runUring(o, conns, msg);
  }
  for (auto& c : conns) ::close(c.fd);
  return 0;
}
