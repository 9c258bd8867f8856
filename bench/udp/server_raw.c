// The raw UDP echo server: the limit, in plain C. Level-triggered epoll;
// recvmmsg reads up to 64 datagrams, sendmmsg sends them back from the
// buffers they were read into. What the kernel does not take yet stays,
// and reading waits until it is sent (EPOLLOUT), so nothing is dropped.
// Buffers of 8,192 bytes: the datagrams twisted-cpp's default
// maxPacketSize accepts.
//   server_raw PORT      (127.0.0.1; SIGTERM exits 0)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kBatch = 64, kPacket = 8192 };

static volatile sig_atomic_t stop;
static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static _Alignas(64) char bufs[kBatch][kPacket];
static struct mmsghdr in[kBatch], out[kBatch];
static struct iovec iov[kBatch], oiov[kBatch];
static struct sockaddr_storage from[kBatch];

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  struct sigaction sa = {0};
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigset_t term, waiting;  // SIGTERM only inside epoll_pwait: no lost wake-up
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, &waiting);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr*)&a, sizeof a)) return perror("bind"), 1;
  for (int i = 0; i < kBatch; ++i) {
    iov[i] = (struct iovec){bufs[i], kPacket};
    in[i].msg_hdr.msg_iov = &iov[i];
    in[i].msg_hdr.msg_iovlen = 1;
    in[i].msg_hdr.msg_name = &from[i];
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  printf("READY\n");
  fflush(stdout);
  int pending = 0, sent = 0;  // replies of the last batch, and how many went
  int writing = 0;            // waiting for EPOLLOUT (and not reading)
  struct epoll_event events[1];
  while (!stop) {
    if (epoll_pwait(ep, events, 1, -1, &waiting) < 0) continue;
    for (;;) {
      while (sent < pending) {
        int w = sendmmsg(fd, out + sent, (unsigned)(pending - sent), 0);
        if (w > 0) {
          sent += w;
        } else if (errno == EAGAIN || errno == ENOBUFS) {
          break;
        } else if (errno != EINTR) {
          ++sent;  // refused (ICMP from a gone sender): that one is dropped
        }
      }
      if ((sent < pending) != writing) {
        writing = sent < pending;
        ev.events = writing ? EPOLLOUT : EPOLLIN;
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
      }
      if (writing) break;
      int drained = pending > 0 && pending < kBatch;  // the socket had no more
      pending = sent = 0;
      if (drained) break;
      for (int i = 0; i < kBatch; ++i) in[i].msg_hdr.msg_namelen = sizeof from[i];
      int n = recvmmsg(fd, in, kBatch, 0, NULL);
      if (n <= 0) break;  // EAGAIN: drained
      for (int i = 0; i < n; ++i) {
        oiov[i] = (struct iovec){bufs[i], in[i].msg_len};
        out[i].msg_hdr.msg_iov = &oiov[i];
        out[i].msg_hdr.msg_iovlen = 1;
        out[i].msg_hdr.msg_name = &from[i];
        out[i].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
      }
      pending = n;
    }
  }
  return 0;
}
