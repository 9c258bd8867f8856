// The UDP echo benchmark's load client: N flows, each its own connected
// socket (so a server sees N senders), each keeping a bounded window of
// datagrams outstanding and counting the echoes that come back. A flow
// refills its window in bursts (sendmmsg) once half of it has come back;
// replies are read with recvmmsg. A flow that hears nothing for --loss-ms
// counts what it has outstanding as lost and starts again, so a dropped
// datagram cannot stall it.
//
//   load_client --port P[,P2...] --flows N --size S [--window W]
//               [--warmup SECONDS] [--seconds SECONDS] [--packets M]
//               [--loss-ms MS]
//
// With several ports, flow i goes to port i % ports: the servers behind
// them get the same load, interleaved in time, in one window (side by
// side, as bench/echo's load client).
//
// Prints "START" when the measured window begins, then one JSON line:
// {"packets":..,"seconds":..,"per_port":[..],"lost":..,"sent":..}
// (packets: echoes received in the window; per_port: the same by port;
// lost: datagrams given up on, over the whole run). The window ends after
// --seconds or --packets, whichever comes first; the run also ends if no
// echo at all arrives for 5 s.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../load_options.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr unsigned kBatch = 64;

struct Options {
  std::vector<int> ports;
  int flows = 1;
  std::size_t size = 64;
  unsigned window = 32;
  double warmup = 1;
  double seconds = 3;
  long packets = -1;
  int lossMs = 50;
};

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

struct Flow {
  int fd = -1;
  std::size_t port = 0;      // index into Options::ports
  unsigned outstanding = 0;  // sent, not yet echoed
  Clock::time_point heard;   // the last send or echo
};

int openFlow(int port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  // Room for every echo of the window, whatever the size.
  int buf = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("connect");
  return fd;
}

void run(const Options& o, std::vector<Flow>& flows) {
  std::vector<char> msg(o.size);
  for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<char>('a' + i % 26);
  // Every datagram of a burst is the same bytes; replies land in one
  // buffer per slot of a receive batch (their content is not looked at,
  // their length is).
  mmsghdr out[kBatch]{};
  iovec outIov[kBatch];
  for (unsigned i = 0; i < kBatch; ++i) {
    outIov[i] = {msg.data(), msg.size()};
    out[i].msg_hdr.msg_iov = &outIov[i];
    out[i].msg_hdr.msg_iovlen = 1;
  }
  std::size_t stride = (o.size + 64) & ~std::size_t{63};
  std::vector<char> inBuf(stride * kBatch);
  mmsghdr in[kBatch]{};
  iovec inIov[kBatch];
  for (unsigned i = 0; i < kBatch; ++i) {
    inIov[i] = {inBuf.data() + i * stride, stride};
    in[i].msg_hdr.msg_iov = &inIov[i];
    in[i].msg_hdr.msg_iovlen = 1;
  }

  long sent = 0, lost = 0, counted = 0;
  std::vector<long> perPort(o.ports.size(), 0);
  auto refill = [&](Flow& f, Clock::time_point now) {
    while (f.outstanding < o.window) {
      unsigned n = std::min(o.window - f.outstanding, kBatch);
      int w = ::sendmmsg(f.fd, out, n, 0);
      if (w < 0) {
        if (errno == EAGAIN || errno == ENOBUFS) break;  // the loss timer retries
        if (errno == EINTR) continue;
        die("sendmmsg (is the server up?)");
      }
      f.outstanding += static_cast<unsigned>(w);
      sent += w;
    }
    f.heard = now;
  };

  int ep = epoll_create1(EPOLL_CLOEXEC);
  Clock::time_point begin = Clock::now();
  for (std::size_t i = 0; i < flows.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, flows[i].fd, &ev);
    refill(flows[i], begin);
  }
  const auto warmup = std::chrono::duration<double>(o.warmup);
  const auto window = std::chrono::duration<double>(o.seconds);
  const auto loss = std::chrono::milliseconds(o.lossMs);
  bool measuring = false;
  Clock::time_point start, end, lastEcho = begin, lastLossCheck = begin;
  std::vector<epoll_event> events(1024);
  for (;;) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 10);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    Clock::time_point now = Clock::now();
    for (int e = 0; e < n; ++e) {
      Flow& f = flows[events[e].data.u64];
      long got = 0;
      for (;;) {
        for (unsigned i = 0; i < kBatch; ++i) in[i].msg_hdr.msg_namelen = 0;
        int r = ::recvmmsg(f.fd, in, kBatch, MSG_DONTWAIT, nullptr);
        if (r < 0) {
          if (errno == EAGAIN || errno == EINTR) break;
          die("recvmmsg (the server is gone?)");
        }
        for (int i = 0; i < r; ++i) {
          if (in[i].msg_len != o.size) {
            std::fprintf(stderr, "load_client: an echo of %u bytes, not %zu\n", in[i].msg_len,
                         o.size);
            std::exit(1);
          }
        }
        got += r;
        if (static_cast<unsigned>(r) < kBatch) break;
      }
      if (got == 0) continue;
      lastEcho = now;
      // A late echo of what was counted lost: the window is not below 0.
      f.outstanding -= std::min<unsigned>(f.outstanding, static_cast<unsigned>(got));
      if (measuring) {
        counted += got;
        perPort[f.port] += got;
        end = now;
      }
      f.heard = now;
      // Refill in bursts: once half the window has come back.
      if (f.outstanding <= o.window - std::max(1u, o.window / 2)) refill(f, now);
    }
    if (!measuring && now - begin >= warmup) {
      measuring = true;
      start = end = now;
      std::printf("START\n");
      std::fflush(stdout);
    }
    if (measuring && ((o.packets > 0 && counted >= o.packets) || now - start >= window)) break;
    if (now - lastEcho > std::chrono::seconds(5)) {
      std::fprintf(stderr, "load_client: no echo for 5 s\n");
      std::exit(1);
    }
    if (now - lastLossCheck >= loss / 4) {
      lastLossCheck = now;
      for (Flow& f : flows) {
        if (f.outstanding > 0 && now - f.heard > loss) {
          lost += f.outstanding;
          f.outstanding = 0;
          refill(f, now);
        } else if (f.outstanding == 0) {
          refill(f, now);  // a burst the kernel did not take
        }
      }
    }
  }
  double secs = std::chrono::duration<double>(end - start).count();
  std::string ports;
  for (long p : perPort) ports += (ports.empty() ? "" : ", ") + std::to_string(p);
  std::printf(
      "{\"packets\": %ld, \"seconds\": %.6f, \"per_port\": [%s], \"lost\": %ld, \"sent\": %ld}\n",
      counted, secs, ports.c_str(), lost, sent);
  std::fflush(stdout);
}

Options parse(int argc, char** argv) {
  Options o;
  bench::parseFlags(argc, argv,
                    {{"--port", o.ports},
                     {"--flows", o.flows},
                     {"--size", o.size},
                     {"--window", o.window},
                     {"--warmup", o.warmup},
                     {"--seconds", o.seconds},
                     {"--packets", o.packets},
                     {"--loss-ms", o.lossMs}});
  if (!bench::validPorts(o.ports) || o.flows < 1 || o.window < 1 || o.size < 1 || o.size > 65507) {
    std::fprintf(stderr, "usage: load_client --port P --flows N --size S [--window W] ...\n");
    std::exit(2);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::vector<Flow> flows(static_cast<std::size_t>(o.flows));
  for (std::size_t i = 0; i < flows.size(); ++i) {
    flows[i].port = i % o.ports.size();
    flows[i].fd = openFlow(o.ports[flows[i].port]);
  }
  run(o, flows);
  for (Flow& f : flows) ::close(f.fd);
  return 0;
}
